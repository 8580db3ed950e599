"""MovieLens ingestion: find the data (checksummed), parse it strictly and fast, describe it.

Typical use::

    from jobs.movielens import load_movielens, compute_stats
    ml = load_movielens("ml-100k")          # shared copy, cache or download; verified
    print(compute_stats(ml.split("ua.base"), "ua.base").movies_with_at_most_2_ratings)  # 213
"""

from jobs.movielens.catalog import DATASET_NAMES, DATASETS, DEFAULT_DATASET, DatasetInfo, RemoteArchive
from jobs.movielens.dataset import MovieLens, load_movielens, load_resolved
from jobs.movielens.errors import ChecksumError, DataError, LayoutError, OutputError, ParseError, SourceError
from jobs.movielens.layouts import ALL_RATING_FILES, LAYOUTS, Layout, RatingScale, detect_layout
from jobs.movielens.movies import Movie, Movies, parse_movies
from jobs.movielens.ratings import Ratings, parse_ratings
from jobs.movielens.sources import (
    ENV_BASE_URL,
    ENV_CACHE,
    ENV_SOURCE,
    ResolvedSource,
    SourceSettings,
    find_shared_copy,
    resolve_source,
)
from jobs.movielens.splits import carve_per_user
from jobs.movielens.stats import RatingStats, StatsReport, compute_stats, describe_dataset, format_stats
from jobs.paths import repo_root

__all__ = [
    "ALL_RATING_FILES",
    "DATASETS",
    "DATASET_NAMES",
    "DEFAULT_DATASET",
    "ENV_BASE_URL",
    "ENV_CACHE",
    "ENV_SOURCE",
    "LAYOUTS",
    "ChecksumError",
    "DataError",
    "DatasetInfo",
    "Layout",
    "LayoutError",
    "Movie",
    "MovieLens",
    "Movies",
    "OutputError",
    "ParseError",
    "RatingScale",
    "RatingStats",
    "Ratings",
    "RemoteArchive",
    "ResolvedSource",
    "SourceError",
    "SourceSettings",
    "StatsReport",
    "carve_per_user",
    "compute_stats",
    "describe_dataset",
    "detect_layout",
    "find_shared_copy",
    "format_stats",
    "load_movielens",
    "load_resolved",
    "parse_movies",
    "parse_ratings",
    "repo_root",
    "resolve_source",
]
