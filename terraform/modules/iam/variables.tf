variable "name_prefix" {
  description = "Prefix of every role name (`<prefix>-training`, `<prefix>-model`, `<prefix>-<function>`)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,24}$", var.name_prefix))
    error_message = "name_prefix must be 1-24 characters allowed in IAM role names (letters, digits and +=,.@_-)."
  }
}

variable "bucket_arn" {
  description = "ARN of the stack's bucket; every S3 grant is inside it."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the stack's KMS key (bucket objects and function settings are encrypted with it)."
  type        = string
}

variable "input_prefix" {
  description = "Key prefix of the training channels, without a trailing slash (the training role reads it)."
  type        = string
}

variable "output_prefix" {
  description = "Key prefix of the training artifacts, without a trailing slash (the training role writes it, the model role reads it)."
  type        = string
}

variable "endpoint_names" {
  description = "Names of the stack's SageMaker endpoints (the model role writes their log groups)."
  type        = list(string)
}

variable "functions" {
  description = "Per Lambda function (keyed by function name): the endpoints it invokes, the object keys it reads (an exact key, or a prefix ending in '/'), and the ARN of its dead-letter queue."
  type = map(object({
    invokes_endpoints     = list(string)
    reads_keys            = list(string)
    dead_letter_queue_arn = string
  }))
}
