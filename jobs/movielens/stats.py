"""Dataset statistics, computed vectorised over the rating columns.

The workshop notebook reported 12 "movies with no more than 2 users" because its
`csv_to_augmented_data_dict` stored the first user of each movie as `list(row[0])` (the ID's
characters). Counting ratings per movie with `np.bincount` gives the true figure: 213 on ua.base
(209 on u.data), so these rare movies are not "negligible" as the notebook concluded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from jobs.movielens.catalog import DEFAULT_DATASET
from jobs.movielens.dataset import MovieLens, load_movielens
from jobs.movielens.ratings import Ratings
from jobs.movielens.sources import SourceSettings

RARE_MOVIE_MAX = 2  # "movies with at most 2 ratings", the notebook's exploration threshold
LIGHT_USER_MAX = 20  # "users with at most 20 ratings", likewise


@dataclass(frozen=True)
class RatingStats:
    """Statistics of one ratings file. Variance is the population variance (numpy's default)."""

    file: str
    ratings: int
    users: int
    movies: int
    max_user_id: int
    max_movie_id: int
    mean: float
    median: float
    variance: float
    movies_with_one_rating: int
    movies_with_at_most_2_ratings: int
    user_ratings_min: int
    user_ratings_max: int
    user_ratings_median: float
    users_with_at_most_20_ratings: int


@dataclass(frozen=True)
class StatsReport:
    """Statistics of the training file and of the whole ratings file of one release."""

    dataset: str
    folder: Path
    train: RatingStats
    whole: RatingStats

    def columns(self) -> tuple[RatingStats, ...]:
        return (self.train,) if self.train.file == self.whole.file else (self.train, self.whole)


def compute_stats(ratings: Ratings, file: str) -> RatingStats:
    """All figures of one ratings file; counts come from `np.bincount`, never from Python loops."""
    per_movie = _counts(ratings.item)
    per_user = _counts(ratings.user)
    rating = ratings.rating.astype(np.float64)
    return RatingStats(
        file=file,
        ratings=len(ratings),
        users=int(per_user.size),
        movies=int(per_movie.size),
        max_user_id=int(ratings.user.max()),
        max_movie_id=int(ratings.item.max()),
        mean=float(rating.mean()),
        median=float(np.median(rating)),
        variance=float(rating.var()),
        movies_with_one_rating=int(np.count_nonzero(per_movie == 1)),
        movies_with_at_most_2_ratings=int(np.count_nonzero(per_movie <= RARE_MOVIE_MAX)),
        user_ratings_min=int(per_user.min()),
        user_ratings_max=int(per_user.max()),
        user_ratings_median=float(np.median(per_user)),
        users_with_at_most_20_ratings=int(np.count_nonzero(per_user <= LIGHT_USER_MAX)),
    )


def _counts(ids: NDArray[np.int32]) -> NDArray[np.int64]:
    """Ratings per distinct id (ids with no rating left out)."""
    if int(ids.max()) <= max(4 * ids.size, 1 << 22):  # dense ids: bincount is O(n)
        counts = np.bincount(ids)
        return counts[counts > 0]
    return np.unique(ids, return_counts=True)[1]  # sparse huge ids: avoid a giant bincount


def default_train_file(ratings_file: str, split_files: tuple[str, ...]) -> str:
    """ua.base (the workshop's training file) when the release ships it, else the whole file."""
    return "ua.base" if "ua.base" in split_files else ratings_file


def describe_dataset(
    dataset: str = DEFAULT_DATASET,
    source: str | Path | None = None,
    file: str | None = None,
    settings: SourceSettings | None = None,
) -> StatsReport:
    """Statistics of `file` (default: the training file) and of all ratings of `dataset`, read by the same
    loader and validation as `o2v data prepare`: a release one refuses, the other refuses too."""
    return report_for(load_movielens(dataset, source, settings), file)


_ROWS: tuple[tuple[str, str], ...] = (
    ("ratings", "{s.ratings:,}"),
    ("users", "{s.users:,}"),
    ("movies (with a rating)", "{s.movies:,}"),
    ("max user id / max movie id", "{s.max_user_id:,} / {s.max_movie_id:,}"),
    ("rating mean", "{s.mean:.2f}"),
    ("rating median", "{s.median!r}"),  # repr: 4.0 or 3.25, exact either way
    ("rating variance", "{s.variance:.2f}"),
    ("movies with exactly 1 rating", "{s.movies_with_one_rating:,}"),
    ("movies with at most 2 ratings", "{s.movies_with_at_most_2_ratings:,}"),
    (
        "ratings per user min / median / max",
        "{s.user_ratings_min:,} / {s.user_ratings_median!r} / {s.user_ratings_max:,}",
    ),
    ("users with at most 20 ratings", "{s.users_with_at_most_20_ratings:,}"),
)


def format_stats(report: StatsReport) -> str:
    """A plain-text table, one column per file (the file name heads its column)."""
    columns = report.columns()
    cells = [[template.format(s=stats) for stats in columns] for _, template in _ROWS]
    label_width = max(len(label) for label, _ in _ROWS)
    widths = [max(len(stats.file), *(len(row[i]) for row in cells)) for i, stats in enumerate(columns)]
    header = " " * label_width + "".join(
        f"  {stats.file:>{w}}" for stats, w in zip(columns, widths, strict=True)
    )
    lines = [f"{report.dataset} ({report.folder})", header]
    for (label, _), row in zip(_ROWS, cells, strict=True):
        lines.append(
            f"{label:<{label_width}}" + "".join(f"  {c:>{w}}" for c, w in zip(row, widths, strict=True))
        )
    return "\n".join(lines)


def report_for(data: MovieLens, file: str | None = None) -> StatsReport:
    """Statistics of `file` (default: the training file, ua.base when shipped) and of all ratings of a
    loaded release; each computed once when they are the same file."""
    layout = data.layout
    train_file = file or default_train_file(layout.ratings_file, layout.split_files)
    whole = compute_stats(data.ratings, layout.ratings_file)
    train = (
        whole
        if train_file == layout.ratings_file
        else compute_stats(data.rating_file(train_file), train_file)
    )
    return StatsReport(data.name, data.folder, train, whole)
