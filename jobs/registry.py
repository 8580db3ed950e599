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

from jobs.errors import StackError, error_code
from jobs.stack import ModelSlot, Stack

RECORD_FORMAT_VERSION = 1
_VERSION_KEY = re.compile(r"/v(\d{4,})\.json$")


@dataclass(frozen=True)
class ModelRecord:
    format_version: int
    model_name: str  # the endpoint the model serves behind
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
        """A name for this exact model, usable as a SageMaker resource name (no underscores)."""
        return f"{self.model_name}-v{self.version:04d}-{self.artifact_sha256[:8]}"

    @classmethod
    def from_json(cls, raw: bytes) -> ModelRecord:
        return cls(**json.loads(raw))


def record_key(stack: Stack, model_name: str, version: int | None = None) -> str:
    name = "latest" if version is None else f"v{version:04d}"
    return f"{stack.registry_prefix}/{model_name}/{name}.json"


def sha256_of_object(s3: Any, uri: str) -> str:
    bucket, key = split_s3_uri(uri)
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise StackError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def next_version(s3: Any, stack: Stack, model_name: str) -> int:
    prefix = f"{stack.registry_prefix}/{model_name}/"
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
        model_name=slot.endpoint,
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


def latest(s3: Any, stack: Stack, model_name: str) -> ModelRecord:
    key = record_key(stack, model_name)
    try:
        raw = s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read()
    except ClientError as err:
        if error_code(err) in ("NoSuchKey", "404"):
            raise StackError(
                f"no registered model for {model_name} (s3://{stack.bucket}/{key}): run `make train`"
            ) from err
        raise
    return ModelRecord.from_json(raw)
