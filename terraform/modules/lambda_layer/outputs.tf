output "layer_version_arn" {
  description = "ARN of the published layer version (what a function's `layers` takes)."
  value       = aws_lambda_layer_version.this.arn
}

output "version" {
  description = "Version number of the published layer."
  value       = aws_lambda_layer_version.this.version
}
