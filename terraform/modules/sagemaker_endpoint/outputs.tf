output "endpoint_name" {
  description = "Name of the endpoint."
  value       = aws_sagemaker_endpoint.this.name
}

output "endpoint_arn" {
  description = "ARN of the endpoint (SageMaker lower-cases the name in it)."
  value       = aws_sagemaker_endpoint.this.arn
}

output "model_version" {
  description = "Model version the endpoint serves (the name of its Model and EndpointConfig)."
  value       = aws_sagemaker_endpoint_configuration.this.name
}
