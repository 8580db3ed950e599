variable "endpoint_name" {
  description = "Name of the endpoint the functions call (stable across model versions)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.endpoint_name))
    error_message = "endpoint_name must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "model_version" {
  description = "Registered model version (`<endpoint>-v<NNNN>-<artifact digest>`): names the SageMaker Model and the EndpointConfig, so a new version creates both anew."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.model_version))
    error_message = "model_version must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "model_data_url" {
  description = "S3 URI of the version's model.tar.gz."
  type        = string

  validation {
    condition     = startswith(var.model_data_url, "s3://") && endswith(var.model_data_url, ".tar.gz")
    error_message = "model_data_url must be an s3:// URI of a .tar.gz artifact."
  }
}

variable "artifact_uri_prefix" {
  description = "Where the stack's artifacts live (`s3://<bucket>/<output prefix>/`): model_data_url must be under it, the only place the model role may read."
  type        = string
}

variable "image_uri" {
  description = "Inference image (the built-in Object2Vec image of the region)."
  type        = string
}

variable "execution_role_arn" {
  description = "ARN of the role the model's container runs as (module iam, model role)."
  type        = string
}

variable "instance_type" {
  description = "ML instance type of the endpoint's variant (ignored when `serverless` is set)."
  type        = string
  default     = "ml.m5.large"

  validation {
    condition     = startswith(var.instance_type, "ml.")
    error_message = "instance_type must be a SageMaker ML instance type (ml.*)."
  }
}

variable "instance_count" {
  description = "Number of instances behind the endpoint (ignored when `serverless` is set)."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 1
    error_message = "instance_count must be at least 1."
  }
}

variable "serverless" {
  description = "Serverless inference instead of instances: memory (1024..6144 MB, in steps of 1024) and the most concurrent invocations (1..200). null: instance-backed."
  type = object({
    memory_size_in_mb = number
    max_concurrency   = number
  })
  default = null

  validation {
    condition = var.serverless == null || (
      contains([1024, 2048, 3072, 4096, 5120, 6144], try(var.serverless.memory_size_in_mb, 0)) &&
      try(var.serverless.max_concurrency, 0) >= 1 && try(var.serverless.max_concurrency, 0) <= 200
    )
    error_message = "serverless.memory_size_in_mb must be 1024, 2048, 3072, 4096, 5120 or 6144, and serverless.max_concurrency 1..200."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the instances' storage volumes (serverless endpoints take none)."
  type        = string
}

variable "variant_name" {
  description = "Name of the production variant (SageMaker reports it as x-Amzn-Invoked-Production-Variant)."
  type        = string
  default     = "AllTraffic"
}
