"""The per-user carve: exactly k per eligible user, nobody else, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.movielens import carve_per_user

pytestmark = pytest.mark.usefixtures("isolated_movielens_env")


def test_carve_takes_exactly_k_per_eligible_user() -> None:
    user = np.repeat(np.array([5, 9, 2, 7], dtype=np.int32), [25, 20, 19, 3])
    np.random.default_rng(1).shuffle(user)
    mask = carve_per_user(user, 10, np.random.default_rng(0))
    taken = dict(zip(*np.unique(user[mask], return_counts=True), strict=True))
    assert taken == {5: 10, 9: 10}  # users 2 (19 ratings) and 7 (3) have fewer than 2 * 10


def test_carve_is_seeded_and_depends_on_the_seed() -> None:
    user = np.repeat(np.arange(1, 51, dtype=np.int32), 30)
    first = carve_per_user(user, 5, np.random.default_rng(0))
    again = carve_per_user(user, 5, np.random.default_rng(0))
    other = carve_per_user(user, 5, np.random.default_rng(1))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.sum() == 250


def test_carve_of_nothing() -> None:
    assert carve_per_user(np.array([], dtype=np.int32), 5, np.random.default_rng(0)).shape == (0,)
