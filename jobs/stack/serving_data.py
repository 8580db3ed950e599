"""The release's ratings and titles that the recommendation function reads, in the workshop's layout.

ml-100k is served from its own `ua.base` and `u.item`, byte for byte, as the workshop uploads them (its
console set-up keeps working). Any other release is written in that layout under its own prefix: `ua.base`
holds the ratings its models learn from (everything but the holdout test carve, the `ua.base` of that
release) and `u.item` the `id|title` lines of its catalog in UTF-8 (`TITLES_ENCODING` says so).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from handlers import contract
from jobs.channels import PrepareConfig
from jobs.channels.protocols import build_split
from jobs.movielens import MovieLens
from jobs.movielens.ratings import Ratings
from jobs.stack.backend import Log
from jobs.stack.names import Stack


def served_files(stack: Stack, data: MovieLens) -> dict[str, bytes]:
    """The bytes of each file in `contract.DATA_FILES`, for `data` (the stack's release)."""
    if data.name != stack.dataset:
        raise ValueError(f"the stack serves {stack.dataset}, not {data.name}")
    if stack.serves_files_as_shipped:
        return {name: (data.folder / name).read_bytes() for name in contract.DATA_FILES}
    return {contract.RATINGS_FILE: ratings_tsv(learnt_from(data)), contract.TITLES_FILE: titles_file(data)}


def learnt_from(data: MovieLens) -> Ratings:
    """The ratings a model of this release learns from under the holdout protocol: all but the test carve
    (train and validation), with the same seed and sizes as the channels `make train` writes."""
    defaults = PrepareConfig()
    split = build_split(data, "holdout", defaults.seed, defaults.validation_per_user, defaults.test_per_user)
    return Ratings.concat(split.channels["train"], split.channels["validation"])


def ratings_tsv(ratings: Ratings) -> bytes:
    """`user<TAB>item<TAB>rating<TAB>timestamp` lines, sorted by user then item like ua.base."""
    order = np.lexsort((ratings.item, ratings.user))
    rows = zip(
        ratings.user[order].tolist(),
        ratings.item[order].tolist(),
        ratings.rating[order].tolist(),
        ratings.timestamp[order].tolist(),
        strict=True,
    )
    return "".join(f"{u}\t{i}\t{r:g}\t{t}\n" for u, i, r, t in rows).encode("ascii")


def titles_file(data: MovieLens) -> bytes:
    """`id|title` lines in UTF-8. A `|` inside a title would end it early for the reader, so it is shown
    as `/` (no MovieLens release we know has one)."""
    lines = (f"{movie.movie_id}|{movie.title.replace('|', '/')}\n" for movie in data.movies.movies)
    return "".join(lines).encode("utf-8")


def upload_served_files(s3: Any, stack: Stack, data: MovieLens, log: Log) -> None:
    for name, body in served_files(stack, data).items():
        key = stack.data_key(name)
        s3.put_object(Bucket=stack.bucket, Key=key, Body=body)
        log(f"uploaded {data.name}'s {name} to s3://{stack.bucket}/{key}")
