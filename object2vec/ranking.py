"""HR@10 on the validation channel: the early-stopping signal of models trained with negative sampling.

With negative_sampling_rate > 0 the training data holds only positives (what a user rated, clicked, bought)
and the model is used to rank: every in1 object a user has not met is a candidate, and what matters is whether
the ones they meet next are near the top. The validation loss against one fixed draw of random negatives
barely moves while that ranking still improves (on ml-100k it was flat from epoch 4 while HR@10 rose until
epoch 8), so these models stop on the ranking itself: for each in0 object with a validation positive, score
every training in1 object it has no training positive with, and count a hit when a validation positive is
among the RANK_K best. SageMaker's docs leave the validation signal of negative sampling open.

At most MAX_USERS in0 objects are ranked (a fixed seeded sample beyond that), so one evaluation costs at
most MAX_USERS x distinct in1 objects scores, whatever the data size.
"""

from __future__ import annotations

import numpy as np
import torch

from object2vec.data import Dataset
from object2vec.model import Object2Vec

RANK_K = 10
MAX_USERS = 2000
METRIC = f"hit_rate@{RANK_K}"
SCORE_PAIRS = 1 << 18  # pairs per forward pass: bounded memory


def ranks_by_hit_rate(hp_negative_sampling_rate: int, train: Dataset, validation: Dataset | None) -> bool:
    """Whether early stopping watches HR@10: negative sampling, a validation channel, one token per side."""
    return (
        hp_negative_sampling_rate > 0
        and validation is not None
        and all(d.in0.is_single and d.in1.is_single for d in (train, validation))
    )


class HitRate:
    """HR@RANK_K of a model over the validation positives, excluding each user's training positives."""

    def __init__(self, train: Dataset, validation: Dataset, seed: int = 0) -> None:
        positive = validation.labels != 0
        users = np.unique(validation.in0.values[positive])
        if len(users) > MAX_USERS:
            users = np.sort(np.random.default_rng(seed).choice(users, MAX_USERS, replace=False))
        self.users = users
        self.items = np.unique(train.in1.values)  # the candidates: every in1 object training knows
        self.seen = np.zeros((len(users), len(self.items)), dtype=bool)
        self.relevant = np.zeros_like(self.seen)
        for data, flags, keep in (
            (train, self.seen, train.labels != 0),
            (validation, self.relevant, positive),
        ):
            u, i = data.in0.values[keep], data.in1.values[keep]
            at, col = _positions(users, u), _positions(self.items, i)
            ok = (at >= 0) & (col >= 0)
            flags[at[ok], col[ok]] = True
        self.relevant &= ~self.seen  # a validation positive already met in training is no discovery
        self.users_with_relevant = self.relevant.any(1)

    @torch.inference_mode()
    def __call__(self, model: Object2Vec) -> float:
        was_training = model.training
        model.eval()
        hits, per_chunk = 0, max(1, SCORE_PAIRS // len(self.items))
        # Each object is encoded once; only the comparator and what follows it run per pair.
        users = model.encode(0, torch.from_numpy(self.users).unsqueeze(1))  # (users, enc_dim)
        items = model.encode(1, torch.from_numpy(self.items).unsqueeze(1))  # (items, enc_dim)
        for start in range(0, len(self.users), per_chunk):
            rows = np.arange(start, min(start + per_chunk, len(self.users)))
            rows = rows[self.users_with_relevant[rows]]
            if not len(rows):
                continue
            output = model.grid(users[torch.from_numpy(rows)], items)  # (rows, items, output)
            scores = model.scores(output.flatten(0, 1))[:, -1].reshape(len(rows), len(self.items))
            scores = scores.masked_fill(torch.from_numpy(self.seen[rows]), -torch.inf)
            top = scores.topk(min(RANK_K, len(self.items)), dim=1).indices.numpy()
            hits += int(np.take_along_axis(self.relevant[rows], top, 1).any(1).sum())
        model.train(was_training)
        return hits / max(1, int(self.users_with_relevant.sum()))


def _positions(sorted_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each value in sorted_ids, -1 where it is absent."""
    at = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    return np.where(sorted_ids[at] == values, at, -1)
