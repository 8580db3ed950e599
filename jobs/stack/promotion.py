"""From a finished training job to a model package the endpoint may serve, as a SageMaker pipeline's
evaluate -> register -> condition steps do it:

1. measure the candidate on its held-out test set through a temporary endpoint (and embed the movies);
2. register it in its endpoint's model package group, PendingManualApproval, with its evaluation;
3. the quality gate approves it only if it beats the approved package and the baselines, else it stays
   pending with the reason (the serving endpoint is not touched);
4. write its evaluation report, locally and beside the package in S3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jobs.channels import MANIFEST_NAME, ChannelManifest
from jobs.evaluation import HELD_OUT
from jobs.movielens import MovieLens
from jobs.movielens.checksums import sha256_file
from jobs.reports import MovieEmbeddings, PackageFigures, ReportData, write_report
from jobs.stack import registry
from jobs.stack.backend import Backend, Log
from jobs.stack.candidate_evaluation import HeldOutData, baselines, evaluate_candidate, held_out_data
from jobs.stack.clients import Clients
from jobs.stack.quality_gate import Evaluation, GateDecision, decide
from jobs.stack.registry import ModelRecord
from jobs.stack.training_jobs import TrainedModel, TrainingTarget

MAP_MIN_RATINGS = 20  # movies with fewer training ratings have embeddings too noisy to map
DEFAULT_ENC_DIM = 4096  # SageMaker's default, for a job whose hyperparameters do not say


@dataclass(frozen=True)
class ModelOutcome:
    record: ModelRecord  # the registered package, Approved or PendingManualApproval
    decision: GateDecision
    report: Path  # the evaluation page on this machine (also in S3 beside the package)
    held: HeldOutData


def promote(
    backend: Backend,
    clients: Clients,
    target: TrainingTarget,
    trained: TrainedModel,
    manifest: ChannelManifest,
    data: MovieLens,
    reports_dir: Path,
    log: Log,
) -> ModelOutcome:
    """Evaluate, register, gate and report one trained model (see the module docstring). The baselines
    learn from what the model learnt from: train, and validation too after a refit."""
    stack, job = backend.stack, trained.job
    slot = job.slot
    held = held_out_data(manifest, data, refit=trained.selected_by is not None)
    baseline_figures, baseline_curves = baselines(held)
    movies = _mapped_movies(held)
    figure, vectors = evaluate_candidate(
        backend.evaluation_endpoint(clients, job.name, job.artifact_uri, log),
        clients.runtime,
        held=held,
        embed_movies=movies,
        enc_dim=int(job.hyperparameters.get("enc_dim", DEFAULT_ENC_DIM)),
        log=log,
    )
    approved = registry.latest_approved(clients.sagemaker, slot.endpoint)
    record = registry.register(
        clients.sagemaker,
        clients.s3,
        stack,
        slot,
        training_job=job.name,
        image=target.image,
        artifact_uri=job.artifact_uri,
        hyperparameters=job.hyperparameters,
        metrics=job.metrics,
        data_manifest_sha256=sha256_file(manifest.folder / MANIFEST_NAME),
        test_set_sha256=held.test_set_sha256,
        held_out=figure.value,
        hit_rate=figure.hit_rate,
        baselines=baseline_figures,
    )
    decision = decide(
        slot.task,
        Evaluation(figure.value, held.test_set_sha256, f"version {record.version}"),
        approved=_evaluation(approved),
        baselines=[Evaluation(value, held.test_set_sha256, name) for name, value in baseline_figures.items()],
    )
    record = registry.set_approval(clients.sagemaker, record, decision.status, decision.reason)
    log(f"registered {slot.endpoint} version {record.version}: {decision.status} ({decision.reason})")
    page = ReportData(
        endpoint=slot.endpoint,
        task=slot.task,
        dataset=stack.dataset,
        protocol=stack.protocol,
        training_job=job.name,
        test_set=held.test_set_sha256,
        candidate=PackageFigures(f"version {record.version}", figure.value, job.metrics, figure.hit_rate),
        curves=trained.curves,
        baselines=baseline_figures,
        approved=_figures(clients, approved),
        decision=(decision.status, decision.reason),
        baseline_hit_rates=baseline_curves,
        embeddings=_embeddings(data, movies, vectors),
        hyperparameters=job.hyperparameters,
        selected_by=trained.selected_by,
    )
    path = write_report(reports_dir / slot.endpoint / f"v{record.version:04d}-{job.name}.html", page)
    key = registry.evaluation_key(stack, slot.endpoint, job.name, "report.html")
    clients.s3.put_object(Bucket=stack.bucket, Key=key, Body=path.read_bytes(), ContentType="text/html")
    log(f"report: {path} (and s3://{stack.bucket}/{key})")
    return ModelOutcome(record, decision, path, held)


def seen_movies(held: HeldOutData) -> np.ndarray:
    """Every movie the model learnt from, once each (the retrieval index's movies)."""
    return np.unique(np.concatenate([movies for _, movies in held.seen]))


def _mapped_movies(held: HeldOutData) -> np.ndarray:
    counts = np.bincount(np.concatenate([movies for _, movies in held.seen]))
    frequent = np.flatnonzero(counts >= MAP_MIN_RATINGS)
    return frequent if len(frequent) >= 3 else np.flatnonzero(counts)


def _evaluation(record: ModelRecord | None) -> Evaluation | None:
    if record is None:
        return None
    return Evaluation(record.held_out, record.test_set_sha256, f"version {record.version}")


def _figures(clients: Clients, record: ModelRecord | None) -> PackageFigures | None:
    """The approved package as the report compares it: its held-out figure, metrics and HR@k."""
    if record is None:
        return None
    found = registry.evaluation(clients.s3, record)
    curve = {int(k): float(v) for k, v in found.get("held_out", {}).get("hit_rate", {}).items()}
    metrics = found.get("metrics", {})
    return PackageFigures(f"version {record.version}", record.held_out, metrics, curve or None)


def _embeddings(data: MovieLens, movies: np.ndarray, vectors: np.ndarray | None) -> MovieEmbeddings | None:
    if vectors is None:
        return None
    titles = {movie.movie_id: movie.title for movie in data.movies.movies}
    genres = {movie.movie_id: tuple(movie.genres) for movie in data.movies.movies}
    return MovieEmbeddings(movies, vectors, titles, genres)


def metric_summary(outcomes: Iterable[ModelOutcome]) -> list[str]:
    """One line per model: its held-out figure and what the gate decided."""
    return [
        f"{o.record.endpoint} version {o.record.version}: {HELD_OUT[o.record.task].name} "
        f"{o.record.held_out:.4f} on {o.held.held_out_channel}, {o.decision.status}"
        for o in outcomes
    ]
