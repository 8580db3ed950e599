"""The boto3 clients a stack operation uses: plain AWS clients, on either backend.

Nothing here emulates anything: a backend hands over its region, and for the local cloud its endpoint
URLs and credentials, which is all that separates the local cloud from AWS for a boto3 program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

# The local services answer in milliseconds; a long read timeout only matters for big index requests.
_CONFIG = Config(connect_timeout=5, read_timeout=120, retries={"max_attempts": 3, "mode": "standard"})
# The client each service is made with, and the key of its endpoint URL in `endpoint_urls`.
SERVICES = {"s3": "s3", "sagemaker": "sagemaker", "runtime": "sagemaker-runtime", "lambda_": "lambda"}


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class Clients:
    s3: Any
    sagemaker: Any
    runtime: Any
    lambda_: Any


def make_clients(
    region: str,
    *,
    endpoint_urls: Mapping[str, str] | None = None,
    credentials: Credentials | None = None,
) -> Clients:
    """Clients for `region`; `endpoint_urls` (keyed by boto3 service name) and `credentials` point them at
    the local cloud. Without them, boto3's usual chain (environment, profile, role) finds AWS."""
    session = boto3.session.Session(
        aws_access_key_id=credentials.access_key_id if credentials else None,
        aws_secret_access_key=credentials.secret_access_key if credentials else None,
        region_name=region,
    )
    urls = endpoint_urls or {}
    made = {
        field: session.client(service, endpoint_url=urls.get(service), config=_CONFIG)
        for field, service in SERVICES.items()
    }
    return Clients(**made)
