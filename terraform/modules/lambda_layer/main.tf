# A layer version from a zip built outside Terraform (jobs/backends/aws/lambda_layer.py: pip with
# manylinux wheels, fixed timestamps). Terraform only uploads it: `source_code_hash` makes an
# unchanged rebuild a no-op, and a changed one a new version (the old one is deleted after the
# functions moved to the new one).

resource "aws_lambda_layer_version" "this" {
  layer_name               = var.layer_name
  description              = var.description
  filename                 = var.package.path
  source_code_hash         = var.package.sha256_base64
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]

  lifecycle {
    create_before_destroy = true
  }
}
