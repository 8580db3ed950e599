"""Per-user holdout carving, vectorised, the way MovieLens builds ua.test.

MovieLens' `mku.sh` runs `allbut.pl ua 1 10 100000 u.data`: walking `u.data` (whose rows are in
random order) it sends each user's 1st..10th rating to ua.test and the rest to ua.base, then sorts
both files by user and item. `carve_per_user` does the same with a seeded permutation in place of
u.data's random order: every eligible user gives exactly `per_user` random ratings. The carve
takes at most half of a user's ratings (`min_ratings = 2 * per_user` by default), so a user never
loses most of their history; every official release only includes users with at least 20
ratings, so with 10 per user nobody is skipped there.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def carve_per_user(
    user: NDArray[np.int32], per_user: int, rng: np.random.Generator, min_ratings: int | None = None
) -> NDArray[np.bool_]:
    """Mask selecting `per_user` random rows of each user who has at least `min_ratings` rows."""
    if per_user < 1:
        return np.zeros(user.shape[0], dtype=bool)
    threshold = 2 * per_user if min_ratings is None else min_ratings
    size = user.shape[0]
    # Each row gets a distinct random priority (it plays the part of u.data's random row order).
    # Sorting on (user, priority) groups rows by user in random order; the keys are unique, so
    # every sort algorithm (and every CPU's SIMD variant of it) returns the same order.
    priority = rng.permutation(size).astype(np.int64)
    grouped = np.argsort((user.astype(np.int64) << 32) | priority)
    users = user[grouped]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    counts = np.diff(np.r_[starts, size])
    rank = np.arange(size) - np.repeat(starts, counts)  # 0, 1, 2… within each user's block
    eligible = np.repeat(counts >= threshold, counts)
    mask = np.zeros(size, dtype=bool)
    mask[grouped[(rank < per_user) & eligible]] = True
    return mask
