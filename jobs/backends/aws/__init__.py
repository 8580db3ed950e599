"""The AWS backend: Terraform declares the stack (terraform/), and these modules build what it consumes
(the handlers zip, the numpy layer), run the `terraform` binary, and drive SageMaker training on AWS."""
