# One endpoint serving one registered model version. Model and EndpointConfig are named after the
# version, so registering a new version plans: create Model + EndpointConfig (create_before_destroy),
# update the Endpoint in place to the new config (SageMaker swaps with no downtime), then delete the
# old config and model. If the new version fails to come up, SageMaker rolls the endpoint back to
# the old config, which still exists because nothing was deleted yet.

locals {
  serverless = var.serverless != null
}

resource "aws_sagemaker_model" "this" {
  name                     = var.model_version
  execution_role_arn       = var.execution_role_arn
  enable_network_isolation = true # the container needs no network: its artifact is fetched for it

  primary_container {
    image          = var.image_uri
    model_data_url = var.model_data_url
  }

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = startswith(var.model_data_url, var.artifact_uri_prefix)
      error_message = "model_data_url ${var.model_data_url} is not under ${var.artifact_uri_prefix}, the only place the model role may read."
    }
  }
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  name        = var.model_version
  kms_key_arn = local.serverless ? null : var.kms_key_arn

  production_variants {
    variant_name           = var.variant_name
    model_name             = aws_sagemaker_model.this.name
    instance_type          = local.serverless ? null : var.instance_type
    initial_instance_count = local.serverless ? null : var.instance_count

    dynamic "serverless_config" {
      for_each = local.serverless ? [var.serverless] : []

      content {
        memory_size_in_mb = serverless_config.value.memory_size_in_mb
        max_concurrency   = serverless_config.value.max_concurrency
      }
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_sagemaker_endpoint" "this" {
  name                 = var.endpoint_name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this.name
}
