"""The four stack operations behind `make apply`, `make train`, `make test-events`, `make destroy`.

Each is a sequence of plain AWS API calls (boto3), the same on every backend; what differs between
this machine and AWS (bringing the platform up, declaring resources, tearing down) is the backend's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from handlers import contract
from jobs.channels import MANIFEST_NAME, ChannelManifest, PrepareConfig, write_channels
from jobs.movielens import MovieLens, load_movielens, resolve_source
from jobs.movielens.checksums import sha256_file
from jobs.profiles import profile_with_overrides
from jobs.stack.backend import Backend, Log
from jobs.stack.clients import Clients
from jobs.stack.errors import StackError
from jobs.stack.event_runner import EventResult, send_all
from jobs.stack.lambda_package import build_handlers_zip
from jobs.stack.names import Stack
from jobs.stack.registry import ModelRecord, latest, register
from jobs.stack.retrieval_index import IndexInfo, build_index
from jobs.stack.training_jobs import create_job, job_name, wait_for_job


@dataclass(frozen=True)
class TrainReport:
    records: tuple[ModelRecord, ...]
    index: IndexInfo


def apply(backend: Backend, *, source: str | Path | None = None, log: Log = print) -> Clients:
    """Bring the platform and the bucket up, upload the workshop's files, deploy the functions."""
    stack = backend.stack
    clients = backend.provision(log)
    folder = resolve_source(stack.dataset, source).folder  # checksummed; no need to parse it here
    for name in contract.DATA_FILES:
        key = stack.data_key(name)
        clients.s3.put_object(Bucket=stack.bucket, Key=key, Body=(folder / name).read_bytes())
        log(f"uploaded {name} to s3://{stack.bucket}/{key}")
    backend.deploy_functions(clients, build_handlers_zip(), log)
    return clients


def train(
    backend: Backend,
    *,
    source: str | Path | None = None,
    channels_dir: Path | None = None,
    log: Log = print,
) -> TrainReport:
    """Prepare and upload the channels, train and register every model, deploy, build the index."""
    stack = backend.stack
    clients = connect(backend)
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
    target = backend.training_target()
    names = {}
    for slot in stack.models:
        vocab = manifests[slot.task].vocab
        hyperparameters = profile_with_overrides(slot.profile, vocab, stack.training_overrides)
        names[slot.endpoint] = job_name(slot)
        create_job(clients.sagemaker, stack, target, slot, names[slot.endpoint], hyperparameters)
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
        records.append(record)
    backend.deploy_models(clients, records, log)
    index = rebuild_index(stack, clients, data)
    log(f"retrieval index: {index.movies} movies x {index.dim} dims for {index.model_version}")
    return TrainReport(tuple(records), index)


def rebuild_index(stack: Stack, clients: Clients, data: MovieLens) -> IndexInfo:
    """Embed every movie of the training data through the retrieval endpoint's deployed model."""
    record = latest(clients.s3, stack, stack.retrieval_endpoint)
    titles = {movie.movie_id: movie.title for movie in data.movies.movies}
    return build_index(clients.runtime, clients.s3, stack, record, data.split("ua.base").item, titles)


def test_events(backend: Backend) -> list[EventResult]:
    return send_all(connect(backend).lambda_, backend.stack)


def destroy(backend: Backend, *, log: Log = print) -> None:
    """Delete what apply and train created (idempotent)."""
    backend.destroy(log)


def connect(backend: Backend) -> Clients:
    """The clients of a stack that `make apply` brought up; a StackError saying so if it did not."""
    clients = backend.connect()
    bucket = backend.stack.bucket
    try:
        clients.s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        raise StackError(f"bucket {bucket} does not exist: run `make apply` first") from err
    return clients


def _upload_channels(s3: Any, stack: Stack, manifest: ChannelManifest, log: Log) -> None:
    for channel in manifest.channels:
        path = manifest.channel_path(channel)
        key = stack.input_key(manifest.task, channel, path.name)
        s3.upload_file(str(path), stack.bucket, key)
    log(f"uploaded {manifest.task} channels to s3://{stack.bucket}/{stack.input_prefix}/{manifest.task}/")
