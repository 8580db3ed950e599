output "account_id" {
  description = "AWS account the stack lives in."
  value       = data.aws_caller_identity.current.account_id
}

output "region" {
  description = "AWS region the stack lives in."
  value       = data.aws_region.current.region
}

output "bucket_name" {
  description = "Name of the stack's bucket."
  value       = module.data_bucket.bucket_name
}

output "kms_key_arn" {
  description = "ARN of the stack's KMS key (uploads to the bucket are encrypted with it by default)."
  value       = module.kms_key.key_arn
}

output "training_role_arn" {
  description = "Role for CreateTrainingJob's RoleArn."
  value       = module.iam.training_role_arn
}

output "training_role_name" {
  description = "Name of the training role (whoever runs `make train` needs iam:PassRole on it)."
  value       = module.iam.training_role_name
}

output "model_role_arn" {
  description = "Role the SageMaker models run as."
  value       = module.iam.model_role_arn
}

output "object2vec_image_uri" {
  description = "The region's built-in Object2Vec image (training image of CreateTrainingJob)."
  value       = data.aws_sagemaker_prebuilt_ecr_image.object2vec.registry_path
}

output "layer_version_arn" {
  description = "ARN of the numpy layer version the functions use."
  value       = module.lambda_layer.layer_version_arn
}

output "functions" {
  description = "Per function name: its ARN, log group and dead-letter queue."
  value = {
    for name, function in module.lambda_function : name => {
      arn                   = function.function_arn
      log_group_name        = function.log_group_name
      dead_letter_queue_arn = function.dead_letter_queue_arn
    }
  }
}

output "endpoints" {
  description = "Per endpoint that exists (has a registered model): its ARN and the model version it serves. These are what cost money while the stack is up."
  value = {
    for name, endpoint in module.sagemaker_endpoint : name => {
      arn           = endpoint.endpoint_arn
      model_version = endpoint.model_version
    }
  }
}
