"""The four stack operations behind `make apply`, `make train`, `make test-events`, `make destroy`.

Each is a sequence of plain AWS API calls (boto3) against the stack's backend; on the local backend
`apply` first starts the local cloud and `destroy` finally stops it and removes its state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

import localcloud
from jobs.channels import MANIFEST_NAME, ChannelManifest, PrepareConfig, write_channels
from jobs.clients import Clients, clients_for
from jobs.endpoints import delete_endpoints, deploy_endpoint
from jobs.errors import StackError, error_code
from jobs.functions import delete_function, deploy_function
from jobs.lambda_package import build_handlers_zip
from jobs.movielens import MovieLens, load_movielens, resolve_source
from jobs.movielens.checksums import sha256_file
from jobs.registry import ModelRecord, latest, register
from jobs.retrieval_index import IndexInfo, build_index
from jobs.stack import Stack
from jobs.test_events import EventResult, send_all
from jobs.training import profile_with_overrides
from jobs.training_jobs import create_job, job_name, wait_for_job
from localcloud import CloudConfig, default_state_dir

Log = Callable[[str], None]
# What the workshop uploads for the Lambda functions: the training ratings and the titles.
RAW_FILES = ("ua.base", "u.item")


@dataclass(frozen=True)
class TrainReport:
    records: tuple[ModelRecord, ...]
    index: IndexInfo


def apply(stack: Stack, cloud: CloudConfig, *, source: str | None = None, log: Log = print) -> Clients:
    """Start the local cloud (if needed), create the bucket, upload the data, deploy the functions."""
    state = localcloud.start(cloud)
    log(f"local cloud running (pid {state.pid}), state in {cloud.state_dir}")
    clients = clients_for(stack, cloud)
    _ensure_bucket(clients.s3, stack)
    log(f"bucket s3://{stack.bucket}")
    folder = resolve_source(stack.dataset, source).folder  # checksummed; no need to parse it here
    for name in RAW_FILES:
        key = f"{stack.data_prefix}/{name}"
        clients.s3.put_object(Bucket=stack.bucket, Key=key, Body=(folder / name).read_bytes())
        log(f"uploaded {name} to s3://{stack.bucket}/{key}")
    package = build_handlers_zip()
    for spec in stack.functions:
        log(f"function {spec.name}: {deploy_function(clients.lambda_, stack, spec, package)}")
    return clients


def train(
    stack: Stack,
    cloud: CloudConfig,
    *,
    source: str | None = None,
    channels_dir: Path | None = None,
    log: Log = print,
) -> TrainReport:
    """Prepare and upload the channels, train and register every model, deploy, build the index."""
    clients = _running_stack(stack, cloud)
    config = PrepareConfig(
        dataset=stack.dataset,
        source=source,
        tasks=tuple(slot.task for slot in stack.models),
        protocols=(stack.protocol,),
        progress=True,
    )
    data = load_movielens(config.dataset, config.source)  # parsed once: channels and index share it
    prepared = write_channels(data, replace(config, out_dir=channels_dir) if channels_dir else config)
    manifests = {manifest.task: manifest for manifest in prepared.manifests}
    for manifest in manifests.values():
        _upload_channels(clients.s3, stack, manifest, log)
    names = {}
    for slot in stack.models:
        vocab = manifests[slot.task].vocab
        hyperparameters = profile_with_overrides(slot.profile, vocab, stack.training_overrides)
        names[slot.endpoint] = job_name(slot)
        create_job(clients.sagemaker, stack, slot, names[slot.endpoint], hyperparameters)
        log(f"training job {names[slot.endpoint]} submitted ({slot.profile} profile on {slot.task})")
    records = []
    for slot in stack.models:
        job = wait_for_job(clients.sagemaker, names[slot.endpoint], slot)
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted(job.metrics.items()))
        log(f"{job.name} completed in {job.seconds:.0f} s: {metrics}")
        record = register(
            clients.s3,
            stack,
            slot,
            training_job=job.name,
            artifact_uri=job.artifact_uri,
            hyperparameters=job.hyperparameters,
            metrics=job.metrics,
            data_manifest_sha256=sha256_file(manifests[slot.task].folder / MANIFEST_NAME),
        )
        log(f"registered {record.model_version} ({record.artifact_uri})")
        action = deploy_endpoint(clients.sagemaker, stack, record)
        log(f"endpoint {slot.endpoint}: {action}, serving {record.model_version}")
        records.append(record)
    index = rebuild_index(stack, clients, data)
    log(f"retrieval index: {index.movies} movies x {index.dim} dims for {index.model_version}")
    return TrainReport(tuple(records), index)


def rebuild_index(stack: Stack, clients: Clients, data: MovieLens) -> IndexInfo:
    """Embed every movie of the training data through the retrieval endpoint's deployed model."""
    record = latest(clients.s3, stack, stack.retrieval_endpoint)
    titles = {movie.movie_id: movie.title for movie in data.movies.movies}
    return build_index(clients.runtime, clients.s3, stack, record, data.split("ua.base").item, titles)


def test_events(stack: Stack, cloud: CloudConfig) -> list[EventResult]:
    return send_all(_running_stack(stack, cloud).lambda_, stack)


def destroy(stack: Stack, cloud: CloudConfig, *, log: Log = print) -> None:
    """Delete what apply and train created, stop the local cloud and remove its state (idempotent).

    The local cloud is stopped and its state removed even if deleting a resource fails.
    """
    try:
        if localcloud.status(cloud).ready:
            _delete_resources(clients_for(stack, cloud), stack, log)
    finally:
        was_running = localcloud.stop(cloud, purge=True)
        if cloud.state_dir == default_state_dir():
            with contextlib.suppress(OSError):  # .state/ itself, once nothing else lives in it
                cloud.state_dir.parent.rmdir()
        done = "stopped the local cloud" if was_running else "the local cloud was not running"
        log(f"{done}; state removed")


def _delete_resources(clients: Clients, stack: Stack, log: Log) -> None:
    for spec in stack.functions:
        if delete_function(clients.lambda_, spec.name):
            log(f"deleted function {spec.name}")
    for line in delete_endpoints(clients.sagemaker, stack):
        log(f"deleted {line}")
    if _delete_bucket(clients.s3, stack):
        log(f"deleted bucket s3://{stack.bucket}")


def _running_stack(stack: Stack, cloud: CloudConfig) -> Clients:
    if not localcloud.status(cloud).ready:
        raise StackError("the local cloud is not running: run `make apply` first")
    clients = clients_for(stack, cloud)
    try:
        clients.s3.head_bucket(Bucket=stack.bucket)
    except ClientError as err:
        raise StackError(f"bucket {stack.bucket} does not exist: run `make apply` first") from err
    return clients


def _ensure_bucket(s3: Any, stack: Stack) -> None:
    try:
        s3.head_bucket(Bucket=stack.bucket)
        return
    except ClientError:
        pass
    options = (
        {}
        if stack.region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": stack.region}}
    )
    s3.create_bucket(Bucket=stack.bucket, **options)


def _upload_channels(s3: Any, stack: Stack, manifest: ChannelManifest, log: Log) -> None:
    for channel in manifest.channels:
        path = manifest.channel_path(channel)
        key = stack.input_key(manifest.task, channel, path.name)
        s3.upload_file(str(path), stack.bucket, key)
    log(f"uploaded {manifest.task} channels to s3://{stack.bucket}/{stack.input_prefix}/{manifest.task}/")


def _delete_bucket(s3: Any, stack: Stack) -> bool:
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=stack.bucket):
            objects = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if objects:
                s3.delete_objects(Bucket=stack.bucket, Delete={"Objects": objects})
        s3.delete_bucket(Bucket=stack.bucket)
    except ClientError as err:
        if error_code(err) == "NoSuchBucket":
            return False
        raise
    return True
