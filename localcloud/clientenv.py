"""What a client needs to reach the local cloud: `env_vars` for boto3, the aws CLI and Lambda workers."""

from __future__ import annotations

from localcloud.config import CloudConfig
from localcloud.credentials import ensure_credentials


def env_vars(config: CloudConfig | None = None) -> dict[str, str]:
    """The variables that point boto3 and the aws CLI at the local cloud, with the stack's own keys."""
    config = config or CloudConfig.from_env()
    return {
        "AWS_ENDPOINT_URL_S3": config.url("s3"),
        "AWS_ENDPOINT_URL_SAGEMAKER": config.url("sagemaker"),
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": config.url("sagemaker"),
        "AWS_ENDPOINT_URL_LAMBDA": config.url("lambda"),
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        **ensure_credentials(config).env(),
    }
