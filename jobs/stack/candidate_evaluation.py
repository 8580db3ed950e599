"""Measure a freshly trained model before anyone relies on it, the way a SageMaker pipeline's evaluation
step does: serve it on a temporary endpoint named after its training job, score the test channel
through InvokeEndpoint (plus, for the report, every movie's embedding), remove the endpoint.

Who creates the temporary endpoint is the backend's business (Terraform on AWS, where an endpoint
start-up costs a few minutes per model; the local backend through the API, in seconds); the measuring
is the same InvokeEndpoint calls on both. The serving endpoint is never touched: a candidate that fails
the quality gate has changed nothing users see.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np

from jobs.channels import ChannelManifest
from jobs.evaluation import (
    TOP_K,
    hit_rate_curve,
    popularity_scores,
    rating_baselines,
    recommendation_baselines,
)
from jobs.movielens import MovieLens
from jobs.stack.held_out import HIT_RATE_KS, HeldOut, measure
from jobs.stack.retrieval_index import batch_size, fetch_embeddings
from object2vec.data import parse_jsonlines

Triples = tuple[np.ndarray, np.ndarray, np.ndarray]
Log = Callable[[str], None]


@dataclass(frozen=True)
class HeldOutData:
    """What one task's models are measured on. `test` holds ratings for rating and top-N (a top-N
    movie is relevant when rated at least 4) and 0/1 labels for recommendation; `train` the same for
    the training channel; `seen` the (user, movie) pairs of every channel a model learns from."""

    task: str
    test: Triples
    train: Triples
    seen: tuple[tuple[np.ndarray, np.ndarray], ...]
    test_set_sha256: str
    scale: tuple[float, float]
    held_out_channel: str  # "test", or "validation" for the workshop protocol (the notebook's figure)


def held_out_data(manifest: ChannelManifest, data: MovieLens, *, refit: bool = False) -> HeldOutData:
    """Read `manifest`'s channels; the workshop protocol has no test channel, so its held-out figure
    is on validation (ua.test), as the notebook reports it. `train` is what the baselines learn from:
    the train channel, or every channel but the held-out one for a refit model (see jobs.refit)."""
    channel = "test" if "test" in manifest.channels else "validation"
    read = {name: _triples(manifest, name) for name in manifest.channels}
    if manifest.genre_users is not None:  # pseudo-users: not people, never measured nor a baseline's data
        read = {name: _people(triples, manifest.genre_users.first_id) for name, triples in read.items()}
    if manifest.task == "implicit":  # the implicit channels say only "watched": bring the ratings back
        read = {name: (u, m, _ratings_of(data, u, m)) for name, (u, m, _) in read.items()}
    learnt_from = [name for name in read if name != channel]
    scale = (float(data.layout.scale.low), float(data.layout.scale.high))
    return HeldOutData(
        task=manifest.task,
        test=read[channel],
        train=_concat([read[name] for name in learnt_from]) if refit else read["train"],
        seen=tuple((read[name][0], read[name][1]) for name in learnt_from),
        test_set_sha256=manifest.channels[channel].sha256,
        scale=scale,
        held_out_channel=channel,
    )


def baselines(held: HeldOutData) -> tuple[dict[str, float], dict[str, dict[int, float]]]:
    """The baselines' held-out figures on `held`'s test set, and (top-N) their HR@k curves."""
    if held.task == "rating":
        return rating_baselines(held.train, held.test, held.scale), {}
    if held.task == "recommendation":
        return recommendation_baselines(held.train, held.test), {}
    users, movies, ratings = held.test
    n_users = int(max(users.max(), *(u.max() for u, _ in held.seen))) + 1
    n_items = int(max(movies.max(), *(m.max() for _, m in held.seen))) + 1
    seen = np.zeros((n_users, n_items), bool)
    for seen_users, seen_movies in held.seen:
        seen[seen_users, seen_movies] = True
    relevant = np.zeros((n_users, n_items), bool)
    relevant[users[ratings >= 4], movies[ratings >= 4]] = True
    all_seen = (np.concatenate([u for u, _ in held.seen]), np.concatenate([m for _, m in held.seen]))
    curve = hit_rate_curve(popularity_scores(all_seen, n_users, n_items), seen, relevant, HIT_RATE_KS)
    return {"popularity": curve[TOP_K]}, {"popularity": curve}


def evaluate_candidate(
    serving: AbstractContextManager[str],
    runtime: Any,
    *,
    held: HeldOutData,
    embed_movies: np.ndarray | None = None,
    enc_dim: int = 64,
    log: Log = print,
) -> tuple[HeldOut, np.ndarray | None]:
    """Measure the model `serving` puts on a temporary endpoint (and removes afterwards) on `held`, and
    embed `embed_movies` if given."""
    with serving as endpoint:
        log(f"evaluating {endpoint} on the {held.held_out_channel} channel")
        figure = measure(runtime, endpoint, held.task, held.test, seen=held.seen, scale=held.scale)
        vectors = None
        if embed_movies is not None:
            vectors = fetch_embeddings(runtime, endpoint, embed_movies, batch_size(enc_dim))
        return figure, vectors


def _triples(manifest: ChannelManifest, channel: str) -> Triples:
    in0, in1, labels, _ = parse_jsonlines(manifest.channel_path(channel))
    return in0.values.astype(np.int64), in1.values.astype(np.int64), np.asarray(labels, np.float64)


def _people(triples: Triples, first_pseudo_user: int) -> Triples:
    users, movies, labels = triples
    keep = users < first_pseudo_user
    return users[keep], movies[keep], labels[keep]


def _ratings_of(data: MovieLens, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
    """Each (user, movie) pair's rating in the release (every channel pair is one of its ratings)."""
    ratings = data.ratings
    width = int(max(ratings.item.max(), movies.max())) + 1
    keys = ratings.user.astype(np.int64) * width + ratings.item
    order = np.argsort(keys, kind="stable")
    wanted = users * width + movies
    found = order[np.searchsorted(keys, wanted, sorter=order)]
    return ratings.rating[found].astype(np.float64)


def _concat(parts: list[Triples]) -> Triples:
    users, movies, labels = (np.concatenate(column) for column in zip(*parts, strict=True))
    return users, movies, labels
