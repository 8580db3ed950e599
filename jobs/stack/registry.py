"""The model registry: a versioned record in S3 for every trained model.

A record says everything needed to deploy or audit a model without retraining: where its artifact
is and its SHA-256, the hyperparameters and metrics, which data it saw (the manifest checksum) and
when. Records live at `<registry_prefix>/<endpoint>/v0001.json`, `v0002.json`, ... and
`latest.json` repeats the newest, so deploying "the latest" is one GET.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from common.s3uri import split_s3_uri
from jobs.stack.errors import StackError, error_code
from jobs.stack.names import ModelSlot, Stack

# 2: the endpoint a model serves behind is `endpoint` (format 1 called it `model_name`, which reads
# like SageMaker's ModelName: that is `model_version`).
RECORD_FORMAT_VERSION = 2
_VERSION_KEY = re.compile(r"/v(\d{4,})\.json$")


@dataclass(frozen=True)
class ModelRecord:
    format_version: int
    endpoint: str  # the endpoint the model serves behind
    version: int
    task: str
    profile: str
    training_job: str
    artifact_uri: str
    artifact_sha256: str
    hyperparameters: dict[str, str]
    metrics: dict[str, float]
    dataset: str
    protocol: str
    data_manifest_sha256: str
    created_at: str

    @property
    def model_version(self) -> str:
        """This exact model's name: its SageMaker Model and EndpointConfig are called so (no underscores)."""
        return f"{self.endpoint}-v{self.version:04d}-{self.artifact_sha256[:8]}"

    @classmethod
    def from_json(cls, raw: bytes) -> ModelRecord:
        fields = json.loads(raw)
        if fields.get("format_version") == 1:
            fields = {**fields, "format_version": RECORD_FORMAT_VERSION, "endpoint": fields.pop("model_name")}
        return cls(**fields)


def record_key(stack: Stack, endpoint: str, version: int | None = None) -> str:
    name = "latest" if version is None else f"v{version:04d}"
    return f"{stack.registry_prefix}/{endpoint}/{name}.json"


def sha256_of_object(s3: Any, uri: str) -> str:
    try:
        bucket, key = split_s3_uri(uri)
    except ValueError as err:
        raise StackError(str(err)) from None
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def next_version(s3: Any, stack: Stack, endpoint: str) -> int:
    prefix = f"{stack.registry_prefix}/{endpoint}/"
    versions = [0]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix):
        versions += [
            int(m.group(1)) for obj in page.get("Contents", []) if (m := _VERSION_KEY.search(obj["Key"]))
        ]
    return max(versions) + 1


def register(
    s3: Any,
    stack: Stack,
    slot: ModelSlot,
    *,
    training_job: str,
    artifact_uri: str,
    hyperparameters: dict[str, str],
    metrics: dict[str, float],
    data_manifest_sha256: str,
) -> ModelRecord:
    """Write the next versioned record for `slot` and point `latest.json` at it."""
    record = ModelRecord(
        format_version=RECORD_FORMAT_VERSION,
        endpoint=slot.endpoint,
        version=next_version(s3, stack, slot.endpoint),
        task=slot.task,
        profile=slot.profile,
        training_job=training_job,
        artifact_uri=artifact_uri,
        artifact_sha256=sha256_of_object(s3, artifact_uri),
        hyperparameters=dict(hyperparameters),
        metrics=dict(metrics),
        dataset=stack.dataset,
        protocol=stack.protocol,
        data_manifest_sha256=data_manifest_sha256,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    body = json.dumps(asdict(record), indent=2, sort_keys=True).encode()
    s3.put_object(Bucket=stack.bucket, Key=record_key(stack, slot.endpoint, record.version), Body=body)
    s3.put_object(Bucket=stack.bucket, Key=record_key(stack, slot.endpoint), Body=body)
    return record


def latest(s3: Any, stack: Stack, endpoint: str) -> ModelRecord:
    key = record_key(stack, endpoint)
    try:
        raw = s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read()
    except ClientError as err:
        if error_code(err) in ("NoSuchKey", "404"):
            raise StackError(
                f"no registered model for {endpoint} (s3://{stack.bucket}/{key}): run `make train`"
            ) from err
        raise
    return ModelRecord.from_json(raw)
