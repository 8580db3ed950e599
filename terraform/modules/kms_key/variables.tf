variable "alias_name" {
  description = "Alias of the key, without the `alias/` prefix (e.g. `o2v-demo`)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.alias_name)) && !startswith(var.alias_name, "aws/")
    error_message = "alias_name may hold letters, digits, '/', '_' and '-' (at most 250), and must not start with 'aws/'."
  }
}

variable "log_group_names" {
  description = "CloudWatch log groups whose events this key encrypts (the service principal of CloudWatch Logs may use the key for these groups only)."
  type        = list(string)
  default     = []
}

variable "deletion_window_in_days" {
  description = "Days a deleted key waits before it is gone for good (7..30). The demo stack uses the minimum."
  type        = number
  default     = 7

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}
