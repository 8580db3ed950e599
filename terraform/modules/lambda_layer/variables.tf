variable "layer_name" {
  description = "Name of the layer (each publish adds a version under this name)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.layer_name))
    error_message = "layer_name must be 1-64 letters, digits, '_' or '-'."
  }
}

variable "description" {
  description = "What the layer holds."
  type        = string
  default     = ""
}

variable "package" {
  description = "The layer zip, built beforehand (`python/` at its root): its path, and the base64 SHA-256 of its bytes, so an identical rebuild publishes nothing."
  type = object({
    path          = string
    sha256_base64 = string
  })
}

variable "runtime" {
  description = "Lambda runtime the layer's wheels were built for."
  type        = string

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be one of python3.11, python3.12, python3.13."
  }
}

variable "architecture" {
  description = "Instruction set the layer's wheels were built for."
  type        = string

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}
