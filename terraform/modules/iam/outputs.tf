output "training_role_arn" {
  description = "ARN of the role SageMaker training jobs run as (CreateTrainingJob's RoleArn)."
  value       = aws_iam_role.training.arn
}

output "training_role_name" {
  description = "Name of the training role (the person running `make train` needs iam:PassRole on it)."
  value       = aws_iam_role.training.name
}

output "model_role_arn" {
  description = "ARN of the role the SageMaker models (the endpoints' containers) run as."
  value       = aws_iam_role.model.arn
}

output "function_role_arns" {
  description = "ARN of each Lambda function's role, keyed by function name."
  value       = { for name, role in aws_iam_role.function : name => role.arn }

  # CreateFunction checks that the role may use the dead-letter queue: hand the ARN out only once
  # the role's policy exists.
  depends_on = [aws_iam_role_policy.function]
}
