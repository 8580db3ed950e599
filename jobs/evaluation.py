"""Held-out evaluation, as plain numpy: each task's metric, the curves the report draws, and the simple
baselines every model must beat on the same test set.

- rating: RMSE of the predicted rating, clipped to the release's rating scale (lower is better);
- recommendation: accuracy of p(like) > 0.5 against rating > 3 (higher is better);
- implicit (top-N): HR@10 with full ranking, the share of users with one of their test movies rated 4
  or 5 among the 10 best-scored movies they did not rate in training (higher is better).

The ranking follows benchmarks/bench_model.py exactly (ties broken by seeded noise, id 0 is not a movie,
users with no relevant test movie skipped), so a figure here and there is the same figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

TOP_K = 10  # the K of the top-N model's held-out HR@K


@dataclass(frozen=True)
class HeldOutMetric:
    """The one figure a task's models are compared by."""

    name: str
    higher_is_better: bool

    def better(self, value: float, than: float) -> bool:
        """Strictly better; NaN is never better than anything."""
        if math.isnan(value) or math.isnan(than):
            return False
        return value > than if self.higher_is_better else value < than


HELD_OUT = {
    "rating": HeldOutMetric("RMSE", higher_is_better=False),
    "recommendation": HeldOutMetric("accuracy", higher_is_better=True),
    "implicit": HeldOutMetric(f"HR@{TOP_K}", higher_is_better=True),
}


@dataclass(frozen=True)
class ReferenceFigure:
    """A published or separately measured figure on a known split, shown for context (never gated on)."""

    task: str
    model: str
    value: float
    split: str
    source: str


# The strongest classical methods on our holdout split of ml-100k (test = ua.test, 9,430 ratings), as
# measured with scikit-surprise on the same split for issue 12 ("Object2Vec that beats every classical
# peer"); `make bench-model` does not re-run them.
REFERENCE_FIGURES = (
    ReferenceFigure("rating", "Surprise SVD++", 0.944, "ml-100k holdout", "issue 12, same split"),
    ReferenceFigure("rating", "Surprise KNNBaseline", 0.958, "ml-100k holdout", "issue 12, same split"),
)


def rmse(predictions: np.ndarray, ratings: np.ndarray, scale: tuple[float, float] = (1.0, 5.0)) -> float:
    """Root mean squared error of predictions clipped to the rating scale (what a user is shown)."""
    clipped = np.clip(np.asarray(predictions, np.float64), *scale)
    return float(np.sqrt(np.mean((clipped - np.asarray(ratings, np.float64)) ** 2)))


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Share of pairs where p(label 1) > 0.5 agrees with the 0/1 label."""
    return float(np.mean((np.asarray(probabilities) > 0.5) == (np.asarray(labels) > 0.5)))


def hit_rate_curve(
    scores: np.ndarray, seen: np.ndarray, relevant: np.ndarray, ks: Iterable[int] = range(1, 21)
) -> dict[int, float]:
    """HR@k for every k, full ranking: `scores`, `seen` and `relevant` are (users, items) arrays indexed
    by raw id; a user's candidates are every item not `seen` in training (id 0 excluded)."""
    ks = sorted(set(ks))
    users = np.flatnonzero(relevant.any(1))
    if users.size == 0:
        raise ValueError("no user has a relevant test item: HR@k is undefined")
    s = scores[users].astype(np.float64)
    s += np.random.default_rng(0).random(s.shape) * 1e-9 * (np.abs(s).max() + 1)  # seeded tie-break
    s[seen[users]] = -np.inf
    s[:, 0] = -np.inf
    deepest = min(ks[-1], s.shape[1] - 1)
    top = np.argpartition(-s, deepest, axis=1)[:, :deepest]
    order = np.take_along_axis(top, np.argsort(-np.take_along_axis(s, top, 1), axis=1, kind="stable"), 1)
    hits = relevant[users[:, None], order]  # (users, deepest): is the item at rank r relevant?
    first_hit = np.where(hits.any(1), hits.argmax(1), deepest)  # rank of the first relevant item
    return {k: float(np.mean(first_hit < k)) for k in ks}


def rating_baselines(
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    scale: tuple[float, float] = (1.0, 5.0),
) -> dict[str, float]:
    """RMSE on `test` of the global mean and of each user's mean rating (users, movies, ratings)."""
    means = _user_means(train, int(max(train[0].max(), test[0].max())) + 1)
    return {
        "global mean": rmse(np.full(test[2].shape, train[2].mean()), test[2], scale),
        "per-user mean": rmse(means[test[0]], test[2], scale),
    }


def recommendation_baselines(
    train: tuple[np.ndarray, np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> dict[str, float]:
    """Accuracy on `test` of the training majority class and of each user's own majority (their share
    of liked training pairs > 0.5), from the recommendation channels' 0/1 labels (users, movies, labels)."""
    liked = test[2] > 0.5
    majority = bool(np.mean(train[2] > 0.5) > 0.5)
    shares = _user_means(train, int(max(train[0].max(), test[0].max())) + 1)
    return {
        "majority class": float(np.mean(liked == majority)),
        "per-user majority": float(np.mean((shares[test[0]] > 0.5) == liked)),
    }


def popularity_scores(train_pairs: tuple[np.ndarray, np.ndarray], n_users: int, n_items: int) -> np.ndarray:
    """(users, items) scores of the popularity baseline: every user gets the training counts."""
    counts = np.bincount(train_pairs[1], minlength=n_items)[:n_items].astype(np.float64)
    return np.broadcast_to(counts, (n_users, n_items))


def _user_means(train: tuple[np.ndarray, np.ndarray, np.ndarray], n_users: int) -> np.ndarray:
    users, _, ratings = train
    counts = np.bincount(users, minlength=n_users)
    sums = np.bincount(users, weights=ratings, minlength=n_users)
    return np.where(counts > 0, sums / np.maximum(counts, 1), ratings.mean())


def best_of(metric: HeldOutMetric, figures: Mapping[str, float]) -> tuple[str, float] | None:
    """The best (name, value) of `figures` by `metric`, or None if there are none."""
    if not figures:
        return None
    pick = max if metric.higher_is_better else min
    name = pick(figures, key=lambda k: figures[k])
    return name, figures[name]
