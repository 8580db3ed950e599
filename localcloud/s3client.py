"""How our SageMaker and Lambda services reach S3: through the S3 port with plain boto3, exactly as
the real services read a customer's bucket (and without reaching into moto's internals)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from common.s3uri import split_s3_uri
from localcloud.config import CloudConfig
from localcloud.credentials import ensure_credentials
from localcloud.storage import below


@functools.cache
def _client(endpoint_url: str, region: str, access_key_id: str, secret_access_key: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, s3={"addressing_style": "path"}),
    )


def s3_client(config: CloudConfig) -> Any:
    """A client signed with the stack's own keys, as the real services' service-linked roles would be."""
    keys = ensure_credentials(config)
    return _client(config.url("s3"), config.region, keys.access_key_id, keys.secret_access_key)


def download_prefix(client: Any, uri: str, dest: Path) -> int:
    """Copy every object under an S3 prefix into dest, keeping the path below the prefix. Returns count.
    A key that would land outside `dest` ("..", absolute, empty segments) raises UnsafeName: S3 keys are
    strings, not paths, and a channel must never write beside its job."""
    bucket, prefix = split_s3_uri(uri)
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/"):  # a console-made "folder" marker, not data
                continue
            relative = obj["Key"][len(prefix) :].lstrip("/") or Path(obj["Key"]).name
            target = below(dest, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, obj["Key"], str(target))
            count += 1
    return count
