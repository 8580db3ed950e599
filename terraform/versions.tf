terraform {
  # 1.9: a variable's validation may refer to other variables (models and functions name endpoints).
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: `region` per resource and optional `model_name` in production variants; the offline
      # schema check (tf-validate) covers 6.25, the newest release its schema was built from.
      version = "~> 6.0"
    }
  }
}
