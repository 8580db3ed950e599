# The AWS stack: this root only wires the modules. Names come from the variables files that Python
# writes (variables.tf says which); identifiers only AWS knows (account, ARNs, the image URI) leave
# through outputs.tf, which the AWS backend reads with `terraform output -json`.

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = var.name_prefix, ManagedBy = "terraform" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

# The region's registry path of SageMaker's built-in Object2Vec image (training and inference).
data "aws_sagemaker_prebuilt_ecr_image" "object2vec" {
  repository_name = "object2vec"
  image_tag       = "1"
}

locals {
  artifact_uri_prefix = "s3://${var.bucket_name}/${var.prefixes.output}/"
  function_log_groups = [for name in keys(var.functions) : "/aws/lambda/${name}"]
}

module "kms_key" {
  source = "./modules/kms_key"

  alias_name      = var.name_prefix
  log_group_names = local.function_log_groups
}

module "data_bucket" {
  source = "./modules/data_bucket"

  bucket_name   = var.bucket_name
  force_destroy = var.force_destroy
  kms_key_arn   = module.kms_key.key_arn
}

module "iam" {
  source = "./modules/iam"

  name_prefix    = var.name_prefix
  bucket_arn     = module.data_bucket.bucket_arn
  kms_key_arn    = module.kms_key.key_arn
  input_prefix   = var.prefixes.input
  output_prefix  = var.prefixes.output
  endpoint_names = var.endpoint_names
  functions = {
    for name, spec in var.functions : name => {
      invokes_endpoints     = spec.invokes_endpoints
      reads_keys            = spec.reads_keys
      dead_letter_queue_arn = module.lambda_function[name].dead_letter_queue_arn
    }
  }
}

module "lambda_layer" {
  source = "./modules/lambda_layer"

  layer_name   = "${var.name_prefix}-numpy"
  description  = "numpy for the ${var.name_prefix} handlers (${var.lambda_runtime}, ${var.lambda_architecture})"
  package      = var.layer_package
  runtime      = var.lambda_runtime
  architecture = var.lambda_architecture
}

module "lambda_function" {
  source   = "./modules/lambda_function"
  for_each = var.functions

  function_name      = each.key
  handler            = each.value.handler
  runtime            = var.lambda_runtime
  architecture       = var.lambda_architecture
  timeout            = each.value.timeout
  memory_size        = each.value.memory_size
  environment        = each.value.environment
  role_arn           = module.iam.function_role_arns[each.key]
  package            = var.lambda_package
  layer_arns         = [module.lambda_layer.layer_version_arn]
  kms_key_arn        = module.kms_key.key_arn
  log_retention_days = var.log_retention_days
}

module "sagemaker_endpoint" {
  source   = "./modules/sagemaker_endpoint"
  for_each = var.models

  endpoint_name       = each.key
  model_version       = each.value.model_version
  model_data_url      = each.value.model_data_url
  artifact_uri_prefix = local.artifact_uri_prefix
  image_uri           = data.aws_sagemaker_prebuilt_ecr_image.object2vec.registry_path
  execution_role_arn  = module.iam.model_role_arn
  instance_type       = each.value.instance_type
  instance_count      = each.value.instance_count
  serverless          = each.value.serverless
  kms_key_arn         = module.kms_key.key_arn
}

# A newly trained model is measured on an endpoint of its own before it is registered; `make train`
# adds it here for the minutes that takes and removes it after, so nothing outlives `make destroy`.
module "evaluation_endpoint" {
  source   = "./modules/sagemaker_endpoint"
  for_each = var.evaluations

  endpoint_name       = each.key
  model_version       = each.value.model_version
  model_data_url      = each.value.model_data_url
  artifact_uri_prefix = local.artifact_uri_prefix
  image_uri           = data.aws_sagemaker_prebuilt_ecr_image.object2vec.registry_path
  execution_role_arn  = module.iam.model_role_arn
  instance_type       = each.value.instance_type
  instance_count      = each.value.instance_count
  serverless          = null
  kms_key_arn         = module.kms_key.key_arn
}

# The Model Registry: one model package group per endpoint. `make train` registers each trained model
# as a version of its endpoint's group (PendingManualApproval until the quality gate or a person
# approves it); an endpoint serves its group's latest approved version.
resource "aws_sagemaker_model_package_group" "registry" {
  for_each = toset(var.endpoint_names)

  model_package_group_name        = each.value
  model_package_group_description = "Object2Vec model versions served by the ${each.value} endpoint"
}
