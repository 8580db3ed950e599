# One customer-managed key for the stack's data at rest: the bucket (SSE-KMS with a bucket key, so
# one KMS call per object rather than per request), the functions' environment variables, their log
# groups and the endpoints' storage volumes. Roles get kms:Decrypt / kms:GenerateDataKey on it
# through their own identity policies (module iam); the key policy only delegates to IAM and lets
# CloudWatch Logs use it for the stack's own log groups.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  log_group_arns = [
    for name in var.log_group_names :
    "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:log-group:${name}"
  ]
}

data "aws_iam_policy_document" "key" {
  # The key policy every KMS key starts with: the account (through IAM policies) administers and uses
  # the key; without it no principal could ever manage the key again. `kms:*` is AWS's default key
  # policy statement; the resource is this key's own ARN (a key policy governs only its own key).
  statement {
    sid       = "AccountAdministersThroughIam"
    actions   = ["kms:*"]
    resources = [aws_kms_key.this.arn]

    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }

  dynamic "statement" {
    for_each = length(local.log_group_arns) > 0 ? [1] : []

    content {
      sid       = "CloudWatchLogsEncryptsTheStacksLogGroups"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = [aws_kms_key.this.arn]

      principals {
        type        = "Service"
        identifiers = ["logs.${data.aws_region.current.region}.amazonaws.com"]
      }

      condition {
        test     = "ArnEquals"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = local.log_group_arns
      }
    }
  }
}

# The policy is attached as its own resource so that its statements can name the key's ARN (known
# only once the key exists) instead of "*".
resource "aws_kms_key" "this" {
  description             = "Data at rest of the ${var.alias_name} stack (bucket, function settings, logs, endpoint volumes)"
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
}

resource "aws_kms_key_policy" "this" {
  key_id = aws_kms_key.this.id
  policy = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias_name}"
  target_key_id = aws_kms_key.this.key_id
}
