"""The toolkit's models in SageMaker's Model Registry: one model package group per endpoint, one
versioned model package per trained model.

A package carries what deploying it needs (the image and `model.tar.gz` in its InferenceSpecification),
its approval status (a new package is PendingManualApproval until the quality gate or a person approves
it), the figures a list needs at a glance in CustomerMetadataProperties (task, profile, training job,
data, checksums, the held-out metric), and everything else in its ModelMetrics: an evaluation JSON in
S3 beside the run's report, in SageMaker's model-quality format (`regression_metrics`,
`binary_classification_metrics`) plus the full record (hyperparameters, every metric). An endpoint
serves the latest approved package of its group, which is what the AWS MLOps templates deploy.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from common.s3uri import split_s3_uri
from jobs.evaluation import HELD_OUT
from jobs.stack.errors import StackError, sagemaker_resource_missing
from jobs.stack.names import ModelSlot, Stack

APPROVED = "Approved"
PENDING = "PendingManualApproval"
REJECTED = "Rejected"
CONTENT_TYPES = ["application/json", "application/jsonlines"]
# CustomerMetadataProperties values allow letters, digits, spaces and _.:/=+-@ only (botocore's pattern),
# so hyperparameters such as comparator_list "hadamard,concat" live in the evaluation JSON instead.
METADATA_KEYS = (
    "task",
    "profile",
    "training_job",
    "dataset",
    "protocol",
    "artifact_sha256",
    "data_manifest_sha256",
    "test_set_sha256",
    "held_out_metric",
    "held_out",
)


@dataclass(frozen=True)
class ModelRecord:
    """One model package as the toolkit uses it."""

    endpoint: str  # the group: the endpoint the package serves behind
    version: int
    package_arn: str
    approval: str
    approval_description: str
    image: str
    artifact_uri: str
    created: datetime
    task: str
    profile: str
    training_job: str
    dataset: str
    protocol: str
    artifact_sha256: str
    data_manifest_sha256: str
    test_set_sha256: str
    held_out: float  # the task's held-out metric (RMSE, accuracy, HR@10) on the test set; NaN if unknown
    evaluation_uri: str
    hyperparameters: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def model_version(self) -> str:
        """This exact model's name: its SageMaker Model and EndpointConfig are called so (no underscores)."""
        return f"{self.endpoint}-v{self.version:04d}-{self.artifact_sha256[:8]}"

    @property
    def held_out_metric(self) -> str:
        return HELD_OUT[self.task].name


def ensure_group(sagemaker: Any, endpoint: str, description: str = "") -> str:
    """The group's ARN, creating the group if it does not exist yet (idempotent)."""
    try:
        return sagemaker.describe_model_package_group(ModelPackageGroupName=endpoint)["ModelPackageGroupArn"]
    except ClientError as err:
        if not sagemaker_resource_missing(err):
            raise
    options = {"ModelPackageGroupDescription": description} if description else {}
    return sagemaker.create_model_package_group(ModelPackageGroupName=endpoint, **options)[
        "ModelPackageGroupArn"
    ]


def evaluation_key(stack: Stack, endpoint: str, training_job: str, name: str = "evaluation.json") -> str:
    """Where a run's evaluation JSON (and its report, `report.html`) live in the stack's bucket."""
    return f"{stack.registry_prefix}/{endpoint}/{training_job}/{name}"


def register(
    sagemaker: Any,
    s3: Any,
    stack: Stack,
    slot: ModelSlot,
    *,
    training_job: str,
    image: str,
    artifact_uri: str,
    hyperparameters: Mapping[str, str],
    metrics: Mapping[str, float],
    data_manifest_sha256: str,
    test_set_sha256: str,
    held_out: float,
    hit_rate: Mapping[int, float] | None = None,
    baselines: Mapping[str, float] | None = None,
) -> ModelRecord:
    """Upload the evaluation JSON, then create the next package version of `slot`'s group, pending."""
    ensure_group(sagemaker, slot.endpoint, f"{slot.task} models ({slot.profile} profile by default)")
    artifact_sha256 = sha256_of_object(s3, artifact_uri)
    key = evaluation_key(stack, slot.endpoint, training_job)
    metadata = {
        "task": slot.task,
        "profile": slot.profile,
        "training_job": training_job,
        "dataset": stack.dataset,
        "protocol": stack.protocol,
        "artifact_sha256": artifact_sha256,
        "data_manifest_sha256": data_manifest_sha256,
        "test_set_sha256": test_set_sha256,
        "held_out_metric": HELD_OUT[slot.task].name,
        "held_out": "nan" if math.isnan(held_out) else f"{held_out:.6g}",
    }
    evaluation = {
        **_quality_statistics(slot.task, held_out, metrics),
        "held_out": {
            "metric": HELD_OUT[slot.task].name,
            "value": held_out,
            "test_set_sha256": test_set_sha256,
            "hit_rate": {str(k): v for k, v in (hit_rate or {}).items()},
        },
        "baselines": dict(baselines or {}),
        "hyperparameters": dict(hyperparameters),
        "metrics": dict(metrics),
        "metadata": metadata,
    }
    body = json.dumps(evaluation, indent=2, sort_keys=True, allow_nan=True).encode()
    s3.put_object(Bucket=stack.bucket, Key=key, Body=body, ContentType="application/json")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=slot.endpoint,
        ModelPackageDescription=f"{slot.profile} profile, training job {training_job}",
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": artifact_uri}],
            "SupportedContentTypes": CONTENT_TYPES,
            "SupportedResponseMIMETypes": CONTENT_TYPES,
        },
        ModelApprovalStatus=PENDING,
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "ContentDigest": f"sha256:{hashlib.sha256(body).hexdigest()}",  # botocore: sha256:<hex>
                    "S3Uri": f"s3://{stack.bucket}/{key}",
                }
            }
        },
        CustomerMetadataProperties=metadata,
        # A retried call (a lost answer) must not register the same run twice.
        # (botocore: at most 36 characters, so a digest of the run rather than its name).
        ClientToken=hashlib.sha256(f"{training_job}:{artifact_sha256}".encode()).hexdigest()[:32],
    )["ModelPackageArn"]
    record = describe(sagemaker, arn)
    return replace(record, hyperparameters=dict(hyperparameters), metrics=dict(metrics))


def set_approval(sagemaker: Any, record: ModelRecord, status: str, description: str) -> ModelRecord:
    """Approve, reject or set back to pending, with the reason (its ApprovalDescription, <= 1024 chars)."""
    sagemaker.update_model_package(
        ModelPackageArn=record.package_arn, ModelApprovalStatus=status, ApprovalDescription=description[:1024]
    )
    return replace(record, approval=status, approval_description=description[:1024])


def describe(sagemaker: Any, arn: str) -> ModelRecord:
    return _record(sagemaker.describe_model_package(ModelPackageName=arn))


def find(sagemaker: Any, endpoint: str, version: int) -> ModelRecord:
    """Version `version` of `endpoint`'s group, or a StackError naming what exists."""
    try:
        return describe(sagemaker, f"{endpoint}/{version}")
    except ClientError as err:
        if not sagemaker_resource_missing(err):
            raise
    known = ", ".join(str(r.version) for r in packages(sagemaker, endpoint)) or "none"
    raise StackError(f"{endpoint} has no model package version {version} (versions: {known})")


def packages(sagemaker: Any, endpoint: str, status: str | None = None) -> list[ModelRecord]:
    """The group's packages, newest first (an empty list if the group does not exist)."""
    return [describe(sagemaker, arn) for arn in _arns(sagemaker, endpoint, status)]


def latest_approved(sagemaker: Any, endpoint: str) -> ModelRecord | None:
    """What the endpoint should serve: the newest approved package, if any."""
    return next((describe(sagemaker, arn) for arn in _arns(sagemaker, endpoint, APPROVED, page=1)), None)


def serving(sagemaker: Any, endpoint: str) -> ModelRecord:
    """The latest approved package, or a StackError saying how to get one."""
    record = latest_approved(sagemaker, endpoint)
    if record is None:
        raise StackError(
            f"no approved model package in group {endpoint}: run `make train`, or approve one with "
            f"`o2v models approve {endpoint} VERSION`"
        )
    return record


def delete_packages(sagemaker: Any, endpoint: str) -> list[str]:
    """Delete every version in `endpoint`'s group (a group must be empty before it can be deleted);
    the ARNs deleted, none if the group does not exist."""
    arns = list(_arns(sagemaker, endpoint, None))
    for arn in arns:
        sagemaker.delete_model_package(ModelPackageName=arn)
    return arns


def evaluation(s3: Any, record: ModelRecord) -> dict[str, Any]:
    """The package's evaluation JSON (held-out figure and HR@k curve, baselines, hyperparameters, metrics)."""
    bucket, key = _bucket_key(record.evaluation_uri)
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def with_evaluation(s3: Any, record: ModelRecord) -> ModelRecord:
    """`record` with its hyperparameters and metrics, read from its evaluation JSON."""
    found = evaluation(s3, record)
    return replace(record, hyperparameters=found["hyperparameters"], metrics=found["metrics"])


def sha256_of_object(s3: Any, uri: str) -> str:
    bucket, key = _bucket_key(uri)
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def rollback(sagemaker: Any, endpoint: str) -> tuple[ModelRecord, ModelRecord]:
    """Reject the package the endpoint serves, so that the approved one before it serves again:
    (the rejected package, the one now serving)."""
    approved = packages(sagemaker, endpoint, APPROVED)
    if len(approved) < 2:
        raise StackError(f"{endpoint} has {len(approved)} approved model package(s): nothing to roll back to")
    current, previous = approved[0], approved[1]
    rejected = set_approval(sagemaker, current, REJECTED, f"rolled back to version {previous.version}")
    return rejected, previous


# -- internals ----------------------------------------------------------------------------------------------


def _arns(sagemaker: Any, endpoint: str, status: str | None, page: int | None = None) -> Iterator[str]:
    filters: dict[str, Any] = {
        "ModelPackageGroupName": endpoint,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
    }
    if status:
        filters["ModelApprovalStatus"] = status
    if page:
        filters["PaginationConfig"] = {"MaxItems": page}
    try:
        for response in sagemaker.get_paginator("list_model_packages").paginate(**filters):
            for summary in response["ModelPackageSummaryList"]:
                yield summary["ModelPackageArn"]
    except ClientError as err:
        if not sagemaker_resource_missing(err):
            raise


def _bucket_key(uri: str) -> tuple[str, str]:
    try:
        return split_s3_uri(uri)
    except ValueError as err:
        raise StackError(str(err)) from None


def _record(described: dict[str, Any]) -> ModelRecord:
    metadata = described.get("CustomerMetadataProperties", {})
    container = described["InferenceSpecification"]["Containers"][0]
    return ModelRecord(
        endpoint=described["ModelPackageGroupName"],
        version=int(described["ModelPackageVersion"]),
        package_arn=described["ModelPackageArn"],
        approval=described.get("ModelApprovalStatus", PENDING),
        approval_description=described.get("ApprovalDescription", ""),
        image=container["Image"],
        artifact_uri=container["ModelDataUrl"],
        created=described["CreationTime"],
        task=metadata.get("task", ""),
        profile=metadata.get("profile", ""),
        training_job=metadata.get("training_job", ""),
        dataset=metadata.get("dataset", ""),
        protocol=metadata.get("protocol", ""),
        artifact_sha256=metadata.get("artifact_sha256", ""),
        data_manifest_sha256=metadata.get("data_manifest_sha256", ""),
        test_set_sha256=metadata.get("test_set_sha256", ""),
        held_out=float(metadata.get("held_out", "nan")),
        evaluation_uri=described.get("ModelMetrics", {})
        .get("ModelQuality", {})
        .get("Statistics", {})
        .get("S3Uri", ""),
    )


def _quality_statistics(task: str, held_out: float, metrics: Mapping[str, float]) -> dict[str, Any]:
    """The evaluation in SageMaker's model-quality statistics format, which Studio's model registry shows."""

    def figure(value: float) -> dict[str, Any]:
        return {"value": value, "standard_deviation": "NaN"}

    if task == "rating":
        mse = metrics.get("test:mean_squared_error", held_out**2)
        return {"regression_metrics": {"rmse": figure(held_out), "mse": figure(mse)}}
    if task == "recommendation":
        return {"binary_classification_metrics": {"accuracy": figure(held_out)}}
    return {"ranking_metrics": {f"hit_rate_at_{HELD_OUT[task].name.split('@')[1]}": figure(held_out)}}
