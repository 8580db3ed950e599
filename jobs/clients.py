"""boto3 clients for a stack: plain AWS clients, pointed at the local cloud on the local backend.

Nothing here emulates anything: the local backend differs from AWS only by the endpoint URLs and
dummy credentials, which is what `AWS_ENDPOINT_URL_<SERVICE>` would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from jobs.stack import Stack
from localcloud import CloudConfig, env_vars

# The local services answer in milliseconds; a long read timeout only matters for big index requests.
_CONFIG = Config(connect_timeout=5, read_timeout=120, retries={"max_attempts": 3, "mode": "standard"})


@dataclass(frozen=True)
class Clients:
    s3: Any
    sagemaker: Any
    runtime: Any
    lambda_: Any


def clients_for(stack: Stack, cloud: CloudConfig | None = None) -> Clients:
    variables = env_vars(cloud or CloudConfig.from_env())
    session = boto3.session.Session(
        aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
        region_name=stack.region,
    )

    def client(service: str, variable: str) -> Any:
        return session.client(service, endpoint_url=variables[variable], config=_CONFIG)

    return Clients(
        s3=client("s3", "AWS_ENDPOINT_URL_S3"),
        sagemaker=client("sagemaker", "AWS_ENDPOINT_URL_SAGEMAKER"),
        runtime=client("sagemaker-runtime", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"),
        lambda_=client("lambda", "AWS_ENDPOINT_URL_LAMBDA"),
    )
