variable "function_name" {
  description = "Name of the function (also names its log group `/aws/lambda/<name>` and its dead-letter queue `<name>-dlq`)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, '_' or '-'."
  }
}

variable "description" {
  description = "What the function does."
  type        = string
  default     = ""
}

variable "handler" {
  description = "Entry point, `module.function` inside the package."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must look like package.module.function."
  }
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be one of python3.11, python3.12, python3.13."
  }
}

variable "architecture" {
  description = "Instruction set of the function (must match the layer's wheels)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "timeout" {
  description = "Seconds an invocation may run (1..900)."
  type        = number

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "memory_size" {
  description = "Memory in MB (128..10240); CPU share grows with it."
  type        = number

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "environment" {
  description = "Environment variables of the function (names and values come from the stack's generated variables file)."
  type        = map(string)
  default     = {}
}

variable "role_arn" {
  description = "ARN of the function's execution role (module iam)."
  type        = string
}

variable "package" {
  description = "The deployment zip, built beforehand: its path, and the base64 SHA-256 of its bytes (Lambda's CodeSha256), so an identical rebuild deploys nothing."
  type = object({
    path          = string
    sha256_base64 = string
  })
}

variable "layer_arns" {
  description = "Layer version ARNs to attach, in order (at most 5)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.layer_arns) <= 5
    error_message = "A function takes at most 5 layers."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the environment variables and the log group."
  type        = string
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs (one of the values CloudWatch accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}
