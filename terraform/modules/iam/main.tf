# One role per principal, each with only what its code calls (see terraform/README.md, "IAM").
# No AWS-managed policy is attached anywhere; every statement names its resources, except
# cloudwatch:PutMetricData, which has no resource-level permissions (a namespace condition instead).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.region
  account   = data.aws_caller_identity.current.account_id
  logs_arn  = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group"

  # SageMaker writes the logs of every training job to this one group (streams `<job>/algo-1-...`),
  # and of an endpoint to `/aws/sagemaker/Endpoints/<endpoint>`; it creates the groups on first use.
  training_log_group  = "/aws/sagemaker/TrainingJobs"
  endpoint_log_groups = [for name in var.endpoint_names : "/aws/sagemaker/Endpoints/${name}"]

  # An exact key grants that object; a prefix ending in "/" grants every object under it.
  function_reads = {
    for name, spec in var.functions : name => [
      for key in spec.reads_keys : endswith(key, "/") ? "${key}*" : key
    ]
  }
}

data "aws_iam_policy_document" "sagemaker_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# --- training: CreateTrainingJob's RoleArn -------------------------------------------------------

data "aws_iam_policy_document" "training" {
  statement {
    sid       = "ListChannelsAndArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.input_prefix}/*", "${var.output_prefix}/*"]
    }
  }

  statement {
    sid       = "ReadChannels"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/${var.input_prefix}/*"]
  }

  statement {
    sid       = "WriteArtifacts"
    actions   = ["s3:PutObject"]
    resources = ["${var.bucket_arn}/${var.output_prefix}/*"]
  }

  statement {
    sid       = "UseTheStackKeyForChannelsAndArtifacts"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "WriteTrainingLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${local.logs_arn}:${local.training_log_group}:*"]
  }

  statement {
    # PutMetricData supports no resource-level permissions (Resource must be "*"); the namespace
    # condition keeps the role to SageMaker's training metrics.
    sid       = "WriteTrainingMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.training_log_group]
    }
  }
}

resource "aws_iam_role" "training" {
  name               = "${var.name_prefix}-training"
  description        = "SageMaker training jobs of ${var.name_prefix}: read the channels, write the artifacts"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume.json
}

resource "aws_iam_role_policy" "training" {
  name   = "training"
  role   = aws_iam_role.training.id
  policy = data.aws_iam_policy_document.training.json
}

# --- model: CreateModel's ExecutionRoleArn (the endpoints' containers) ---------------------------

data "aws_iam_policy_document" "model" {
  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/${var.output_prefix}/*"]
  }

  statement {
    sid       = "DecryptArtifacts"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "WriteEndpointLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [for group in local.endpoint_log_groups : "${local.logs_arn}:${group}:*"]
  }

  statement {
    # No resource-level permissions for PutMetricData: Resource "*", limited by namespace.
    sid       = "WriteEndpointMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/Endpoints"]
    }
  }
}

resource "aws_iam_role" "model" {
  name               = "${var.name_prefix}-model"
  description        = "SageMaker models of ${var.name_prefix}: read the artifacts, write the endpoint logs"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume.json
}

resource "aws_iam_role_policy" "model" {
  name   = "model"
  role   = aws_iam_role.model.id
  policy = data.aws_iam_policy_document.model.json
}

# --- one role per Lambda function ----------------------------------------------------------------

data "aws_iam_policy_document" "function" {
  for_each = var.functions

  statement {
    # Lambda creates the streams; Terraform creates the group (module lambda_function), so no
    # logs:CreateLogGroup here.
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.logs_arn}:/aws/lambda/${each.key}:*"]
  }

  dynamic "statement" {
    for_each = length(each.value.reads_keys) > 0 ? [1] : []

    content {
      sid       = "ReadOwnKeys"
      actions   = ["s3:GetObject"]
      resources = [for key in local.function_reads[each.key] : "${var.bucket_arn}/${key}"]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.reads_keys) > 0 ? [1] : []

    content {
      # Without ListBucket, S3 answers 403 AccessDenied for a key that does not exist; with it, 404
      # NoSuchKey, which the handlers turn into "run make train" rather than a permissions error.
      sid       = "ListOwnKeys"
      actions   = ["s3:ListBucket"]
      resources = [var.bucket_arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = local.function_reads[each.key]
      }
    }
  }

  statement {
    # Lambda sends a failed asynchronous event to the function's queue with the function's role.
    sid       = "SendFailedEventsToOwnQueue"
    actions   = ["sqs:SendMessage"]
    resources = [each.value.dead_letter_queue_arn]
  }

  statement {
    sid       = "DecryptObjectsAndSettings"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = length(each.value.invokes_endpoints) > 0 ? [1] : []

    content {
      # SageMaker spells endpoint ARNs with the name lower-cased (endpoint/ratingmodel), whatever
      # the endpoint's own name; a mixed-case ARN here would never match.
      sid     = "InvokeOwnEndpoints"
      actions = ["sagemaker:InvokeEndpoint"]
      resources = [
        for name in each.value.invokes_endpoints :
        "arn:${local.partition}:sagemaker:${local.region}:${local.account}:endpoint/${lower(name)}"
      ]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = var.functions

  name               = "${var.name_prefix}-${each.key}"
  description        = "Lambda function ${each.key}: its own endpoints, keys and log group"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json

  lifecycle {
    precondition {
      condition     = length("${var.name_prefix}-${each.key}") <= 64
      error_message = "Role name ${var.name_prefix}-${each.key} is longer than IAM's 64 characters: shorten name_prefix."
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = var.functions

  name   = "function"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}
