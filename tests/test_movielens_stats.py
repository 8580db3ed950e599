"""Pinned ml-100k statistics (ua.base and u.data), and the notebook's 12-vs-213 bug."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs.movielens import Ratings, compute_stats, describe_dataset, format_stats

pytestmark = pytest.mark.usefixtures("isolated_movielens_env")


def test_ua_base_figures(ml100k_dir: Path) -> None:
    train = describe_dataset("ml-100k", ml100k_dir).train
    assert train.file == "ua.base"
    assert (train.ratings, train.users, train.movies) == (90_570, 943, 1_680)
    assert (train.max_user_id, train.max_movie_id) == (943, 1_682)
    assert (round(train.mean, 2), train.median, round(train.variance, 2)) == (3.52, 4.0, 1.27)
    assert train.movies_with_at_most_2_ratings == 213  # the notebook printed 12 (its list(row[0]) bug)
    assert train.movies_with_one_rating == 146
    assert (train.user_ratings_min, train.user_ratings_max, train.user_ratings_median) == (10, 727, 55.0)
    assert train.users_with_at_most_20_ratings == 213


def test_u_data_figures(ml100k_dir: Path) -> None:
    whole = describe_dataset("ml-100k", ml100k_dir).whole
    assert whole.file == "u.data"
    assert (whole.ratings, whole.users, whole.movies) == (100_000, 943, 1_682)
    assert (round(whole.mean, 2), whole.median, round(whole.variance, 2)) == (3.53, 4.0, 1.27)
    assert (whole.movies_with_at_most_2_ratings, whole.movies_with_one_rating) == (209, 141)
    assert (whole.user_ratings_min, whole.user_ratings_max, whole.user_ratings_median) == (20, 737, 65.0)
    assert whole.users_with_at_most_20_ratings == 32


def test_ua_test_file_can_be_described(ml100k_dir: Path) -> None:
    test = describe_dataset("ml-100k", ml100k_dir, "ua.test").train
    assert (test.file, test.ratings, test.users, test.movies) == ("ua.test", 9_430, 943, 1_129)
    assert (test.user_ratings_min, test.user_ratings_max) == (10, 10)
    assert round(test.mean, 2) == 3.59


def test_table_names_the_files(ml100k_dir: Path) -> None:
    table = format_stats(describe_dataset("ml-100k", ml100k_dir))
    header = table.splitlines()[1].split()
    assert header == ["ua.base", "u.data"]
    row = next(line for line in table.splitlines() if line.startswith("movies with at most 2 ratings"))
    assert row.split()[-2:] == ["213", "209"]


def test_hand_computed_small_case() -> None:
    ratings = Ratings.from_columns([1, 1, 1, 2, 3], [10, 11, 12, 10, 10], [1, 2, 3, 4, 5], [0] * 5)
    stats = compute_stats(ratings, "tiny")
    assert (stats.ratings, stats.users, stats.movies) == (5, 3, 3)
    assert (stats.mean, stats.median, stats.variance) == (3.0, 3.0, 2.0)
    assert (stats.movies_with_one_rating, stats.movies_with_at_most_2_ratings) == (2, 2)
    assert (stats.user_ratings_min, stats.user_ratings_max, stats.user_ratings_median) == (1, 3, 1.0)


def test_sparse_huge_ids_do_not_allocate_a_giant_bincount() -> None:
    ratings = Ratings.from_columns([2_000_000_000, 7], [1_999_999_999, 1_999_999_999], [3, 4], [0, 0])
    stats = compute_stats(ratings, "sparse")
    assert (stats.users, stats.movies, stats.movies_with_at_most_2_ratings) == (2, 1, 1)
    assert np.isclose(stats.mean, 3.5)
