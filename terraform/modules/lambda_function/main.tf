# A function from a zip built outside Terraform (jobs: the deterministic handlers zip), with its own
# log group (created here, so it has a retention and a key, and the role needs no
# logs:CreateLogGroup) and its own dead-letter queue for asynchronous invocations that fail.

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.function_name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps
  sqs_managed_sse_enabled   = true
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions call only S3 and SageMaker's public APIs; a VPC would add NAT or interface endpoints (billed hourly) for no isolation gain.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer job per build; the zip is built reproducibly from the repository and its SHA-256 pinned in Terraform.
  #checkov:skip=CKV_AWS_115:Reserved concurrency fails outright on accounts whose concurrency quota is 10 (new accounts); the endpoints throttle first anyway.
  function_name    = var.function_name
  description      = var.description
  role             = var.role_arn
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  timeout          = var.timeout
  memory_size      = var.memory_size
  filename         = var.package.path
  source_code_hash = var.package.sha256_base64
  layers           = var.layer_arns
  kms_key_arn      = var.kms_key_arn

  environment {
    variables = var.environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter.arn
  }

  # Lambda's own default, written out: trace only requests an upstream caller sampled.
  tracing_config {
    mode = "PassThrough"
  }
}
