"""Measure a model on the held-out test set through a SageMaker endpoint, as its users will reach it.

The same calls work against AWS and the local cloud (`InvokeEndpoint`, JSON in and out, each request and
answer kept well under the 6 MB limit). For top-N, every (user, movie) pair of the users with a relevant
test movie is scored: HR@k with full ranking needs the whole ranking, not a sample.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from jobs.evaluation import TOP_K, accuracy, hit_rate_curve, rmse
from jobs.stack.errors import StackError

# One pair is about 30 bytes of request JSON and, for a classifier, 50 of answer: 20,000 pairs stay
# near 1 MB each way, far from the 6 MB limit, with few enough round trips.
PAIRS_PER_REQUEST = 20_000
HIT_RATE_KS = range(1, 21)
# Full ranking scores users x movies pairs through the endpoint: every user on ml-100k (1.6 M pairs), a
# seeded sample of users beyond this many pairs (ml-1m: about 1,000 of 6,040 users; ml-20m: about 150).
MAX_RANKED_PAIRS = 4_000_000

Triples = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class HeldOut:
    value: float  # the task's held-out metric: RMSE, accuracy or HR@10
    hit_rate: dict[int, float] | None = None  # HR@k for k in 1..20 (top-N only)
    ranked_users: int | None = None  # top-N: how many users were ranked (all, or a seeded sample)


def score_pairs(runtime: Any, endpoint: str, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
    """The endpoint's score of each (user, movie) pair: the regression value, or p(label 1)."""
    out = np.empty(len(users), dtype=np.float64)
    for start in range(0, len(users), PAIRS_PER_REQUEST):
        stop = start + PAIRS_PER_REQUEST
        instances = [
            {"in0": [int(u)], "in1": [int(m)]}
            for u, m in zip(users[start:stop], movies[start:stop], strict=True)
        ]
        response = runtime.invoke_endpoint(
            EndpointName=endpoint,
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps({"instances": instances}),
        )
        predictions = json.loads(response["Body"].read())["predictions"]
        if len(predictions) != len(instances):
            raise StackError(
                f"endpoint {endpoint} answered {len(predictions)} scores for {len(instances)} pairs"
            )
        out[start:stop] = [p["scores"][-1] for p in predictions]
    return out


def measure(
    runtime: Any,
    endpoint: str,
    task: str,
    test: Triples,
    *,
    seen: Iterable[tuple[np.ndarray, np.ndarray]] = (),
    scale: tuple[float, float] = (1.0, 5.0),
    relevant_from: float = 4.0,
) -> HeldOut:
    """The held-out figure of the model behind `endpoint` on `test` (users, movies, labels or ratings).

    rating: RMSE of the clipped predictions against `test`'s ratings; recommendation: accuracy against
    its 0/1 labels; implicit: HR@k, where `test` holds ratings (a movie is relevant when rated at least
    `relevant_from`) and `seen` the (users, movies) pairs of every training channel (never candidates);
    beyond MAX_RANKED_PAIRS pairs, a seeded sample of the users with a relevant movie is ranked.
    """
    users, movies, labels = (np.asarray(a) for a in test)
    if task == "rating":
        return HeldOut(rmse(score_pairs(runtime, endpoint, users, movies), labels, scale))
    if task == "recommendation":
        return HeldOut(accuracy(score_pairs(runtime, endpoint, users, movies), labels))
    n_users = int(users.max()) + 1
    n_items = int(max([movies.max(), *(int(m.max()) for _, m in seen)])) + 1
    seen_mask = np.zeros((n_users, n_items), bool)
    for seen_users, seen_movies in seen:
        keep = seen_users < n_users
        seen_mask[seen_users[keep], seen_movies[keep]] = True
    relevant = np.zeros((n_users, n_items), bool)
    liked = labels >= relevant_from
    relevant[users[liked], movies[liked]] = True
    ranked_users = np.flatnonzero(relevant.any(1))
    most = max(1, MAX_RANKED_PAIRS // n_items)
    if len(ranked_users) > most:
        ranked_users = np.sort(np.random.default_rng(0).choice(ranked_users, most, replace=False))
        relevant[np.setdiff1d(np.arange(n_users), ranked_users)] = False  # rank only the sampled users
    grid_users = np.repeat(ranked_users, n_items)
    grid_movies = np.tile(np.arange(n_items), len(ranked_users))
    scores = np.full((n_users, n_items), -np.inf)
    scores[ranked_users] = score_pairs(runtime, endpoint, grid_users, grid_movies).reshape(-1, n_items)
    curve = hit_rate_curve(scores, seen_mask, relevant, HIT_RATE_KS)
    return HeldOut(curve[TOP_K], curve, len(ranked_users))
