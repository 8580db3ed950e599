output "key_arn" {
  description = "ARN of the key, handed out once its policy is in place (CloudWatch Logs checks the policy when a log group is associated with the key)."
  value       = aws_kms_key.this.arn

  depends_on = [aws_kms_key_policy.this]
}

output "alias_name" {
  description = "Full alias of the key (`alias/...`)."
  value       = aws_kms_alias.this.name
}
