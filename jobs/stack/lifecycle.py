"""The four stack operations behind `make apply`, `make train`, `make test-events`, `make destroy`.

Each is a sequence of plain AWS API calls (boto3), the same on every backend; what differs between
this machine and AWS (bringing the platform up, declaring resources, tearing down) is the backend's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from botocore.exceptions import ClientError

from handlers import contract
from jobs.channels import ChannelManifest, PrepareConfig, write_channels
from jobs.movielens import MovieLens, load_movielens
from jobs.paths import work_dir
from jobs.refit import REFIT_FOLDER, refit_files, refits
from jobs.stack import registry
from jobs.stack.backend import Backend, Log
from jobs.stack.clients import Clients
from jobs.stack.errors import StackError, error_code
from jobs.stack.event_runner import EventResult, send_all
from jobs.stack.lambda_package import build_handlers_zip
from jobs.stack.names import Stack
from jobs.stack.promotion import ModelOutcome, promote, seen_movies
from jobs.stack.registry import ModelRecord
from jobs.stack.retrieval_index import IndexInfo, build_index, rebuild_for
from jobs.stack.serving_data import upload_served_files
from jobs.stack.training_jobs import train_models
from jobs.stack.training_plan import DEFAULT_PROFILE_SET, plan_training


@dataclass(frozen=True)
class TrainReport:
    outcomes: tuple[ModelOutcome, ...]  # one per trained model: its package, the gate's decision, its report
    index: IndexInfo | None  # the retrieval index, when the retrieval endpoint got a new model

    @property
    def records(self) -> tuple[ModelRecord, ...]:
        return tuple(outcome.record for outcome in self.outcomes)

    @property
    def deployed(self) -> tuple[ModelRecord, ...]:
        return tuple(outcome.record for outcome in self.outcomes if outcome.decision.approved)


def apply(backend: Backend, *, source: str | Path | None = None, log: Log = print) -> Clients:
    """Bring the platform and the bucket up, upload the release's ratings and titles, deploy the functions
    configured for that release (its data prefix and rating scale)."""
    stack = backend.stack
    data = load_movielens(stack.dataset, source)  # checked before anything is created
    clients = backend.provision(log)
    upload_served_files(clients.s3, stack, data, log)
    backend.deploy_functions(clients, build_handlers_zip(), log)
    return clients


def train(
    backend: Backend,
    *,
    source: str | Path | None = None,
    channels_dir: Path | None = None,
    reports_dir: Path | None = None,
    models: Sequence[str] | None = None,
    profile_set: str = DEFAULT_PROFILE_SET,
    refit: bool = True,
    log: Log = print,
) -> TrainReport:
    """Prepare and upload the channels, train the chosen models (with `refit`, then again on train +
    validation for the epochs validation chose: jobs.refit), evaluate and register each in the Model
    Registry, let the quality gate approve or hold it, deploy what was approved (each endpoint serves
    its group's latest approved package), and rebuild the retrieval index if its model changed."""
    stack = backend.stack
    clients = connect(backend)
    require_served(served_dataset(clients, stack), stack.dataset, f"training on {stack.dataset}")
    plan = plan_training(stack, models=models, profile_set=profile_set)
    for note in plan.notes:
        log(note)
    config = PrepareConfig(
        dataset=stack.dataset,
        source=source,
        tasks=tuple(slot.task for slot in plan.slots),
        protocols=(stack.protocol,),
        progress=True,
    )
    data = load_movielens(config.dataset, config.source)  # parsed once for channels, evaluation, index
    prepared = write_channels(data, replace(config, out_dir=channels_dir) if channels_dir else config)
    manifests = {manifest.task: manifest for manifest in prepared.manifests}
    # Decided once, for the upload and the jobs: refit where asked and where the protocol allows it.
    refit_tasks = frozenset(task for task, manifest in manifests.items() if refit and refits(manifest))
    for manifest in manifests.values():
        _upload_channels(clients.s3, stack, manifest, manifest.task in refit_tasks, log)
    target = backend.training_target()
    outcomes = []
    logs = partial(backend.training_log, clients)
    jobs = train_models(clients.sagemaker, stack, target, logs, plan.slots, manifests, refit_tasks, log)
    for trained in jobs:
        slot = trained.job.slot
        reports = reports_dir or work_dir() / "reports"
        outcome = promote(backend, clients, target, trained, manifests[slot.task], data, reports, log)
        if not outcome.decision.approved:
            serving = registry.latest_approved(clients.sagemaker, slot.endpoint)
            still = f"still serves version {serving.version}" if serving else "has no approved model yet"
            command = f"o2v models approve {slot.endpoint} {outcome.record.version}"
            log(f"{slot.endpoint} {still}; `{command}` deploys this one")
        outcomes.append(outcome)
    report = TrainReport(tuple(outcomes), None)
    if report.deployed:
        backend.deploy_models(clients, report.deployed, log)
    retrieval = next((o for o in outcomes if o.decision.approved and _retrieves(stack, o)), None)
    if retrieval is not None:
        index = rebuild_index(stack, clients, data, seen_movies(retrieval.held))
        log(f"retrieval index: {index.movies} movies x {index.dim} dims for {index.model_version}")
        report = TrainReport(report.outcomes, index)
    return report


def rebuild_index(stack: Stack, clients: Clients, data: MovieLens, movie_ids: np.ndarray) -> IndexInfo:
    """Embed `movie_ids` (the movies the model learnt from) through the retrieval endpoint's model."""
    serving = registry.serving(clients.sagemaker, stack.retrieval_endpoint)
    record = registry.with_evaluation(clients.s3, serving)
    titles = {movie.movie_id: movie.title for movie in data.movies.movies}
    return build_index(clients.runtime, clients.s3, stack, record, movie_ids, titles)


def redeploy(backend: Backend, endpoints: Sequence[str], *, log: Log = print) -> tuple[ModelRecord, ...]:
    """Make each endpoint serve its group's latest approved package (after `o2v models approve`,
    `reject` or `rollback`), swapping with no downtime; re-embed the retrieval index if its model changed."""
    stack = backend.stack
    clients = connect(backend)
    records = tuple(registry.serving(clients.sagemaker, endpoint) for endpoint in endpoints)
    served = served_dataset(clients, stack)
    for record in records:
        trained = f"{record.endpoint} version {record.version} was trained on {record.dataset}"
        require_served(served, record.dataset, trained)
    backend.deploy_models(clients, records, log)
    for record in records:
        if record.endpoint == stack.retrieval_endpoint:
            full = registry.with_evaluation(clients.s3, record)
            index = rebuild_for(clients.runtime, clients.s3, stack, full)
            if index is not None:
                log(f"retrieval index: {index.movies} movies x {index.dim} dims for {index.model_version}")
    return records


def _retrieves(stack: Stack, outcome: ModelOutcome) -> bool:
    return outcome.record.endpoint == stack.retrieval_endpoint


def test_events(backend: Backend) -> list[EventResult]:
    return send_all(connect(backend).lambda_, backend.stack)


def destroy(backend: Backend, *, log: Log = print) -> None:
    """Delete what apply and train created (idempotent)."""
    backend.destroy(log)


def require_served(served: str | None, dataset: str, what: str) -> None:
    """Refuse `what` (a model of `dataset`) when the functions were applied for another release (`served`,
    from `served_dataset`): they would answer its ids with that release's titles and rating scale."""
    if served not in (None, dataset):
        raise StackError(
            f"{what}, but the functions answer with {served}'s titles and rating scale: "
            f"run `make apply DATASET={dataset}` first"
        )


def served_dataset(clients: Clients, stack: Stack) -> str | None:
    """The release the recommendation function was configured for by the last `make apply`; None when
    there is no function to answer (then no release can be the wrong one)."""
    name = stack.recommendation_function.name
    try:
        config = clients.lambda_.get_function_configuration(FunctionName=name)
    except ClientError as err:
        if error_code(err) == "ResourceNotFoundException":
            return None
        raise
    variables = config.get("Environment", {}).get("Variables", {})
    return str(variables.get(contract.DATASET, contract.DEFAULT_DATASET))


def connect(backend: Backend) -> Clients:
    """The clients of a stack that `make apply` brought up; a StackError saying so if it did not."""
    clients = backend.connect()
    bucket = backend.stack.bucket
    try:
        clients.s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        raise StackError(f"bucket {bucket} does not exist: run `make apply` first") from err
    return clients


def _upload_channels(s3: Any, stack: Stack, manifest: ChannelManifest, refit: bool, log: Log) -> None:
    for channel in manifest.channels:
        path = manifest.channel_path(channel)
        key = stack.input_key(manifest.task, channel, path.name)
        s3.upload_file(str(path), stack.bucket, key)
    if refit:  # the refit job's train channel: the same two files in one folder (see jobs.refit)
        for name, path in refit_files(manifest).items():
            s3.upload_file(str(path), stack.bucket, stack.input_key(manifest.task, REFIT_FOLDER, name))
    log(f"uploaded {manifest.task} channels to s3://{stack.bucket}/{stack.input_prefix}/{manifest.task}/")
