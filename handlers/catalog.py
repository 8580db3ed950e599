"""The MovieLens files the workshop uploads to the bucket, read once per container.

`u.item` gives titles (`|`-separated, field 0 the id and field 1 the title; ISO-8859-1 as ml-100k ships
it, UTF-8 when jobs wrote it from another release) and `ua.base`
gives who rated what (tab-separated `user item rating timestamp`). Both are small (236 KB and
1.8 MB), so they are parsed at first use and kept for the container's lifetime.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from handlers.responses import ConfigurationError, NotFound


def not_in_catalog(movie_id: int) -> NotFound:
    return NotFound(f"movie {movie_id} is not in the catalog")


@dataclass(frozen=True)
class Catalog:
    titles: dict[int, str]

    def title(self, movie_id: int) -> str:
        try:
            return self.titles[movie_id]
        except KeyError:
            raise not_in_catalog(movie_id) from None


@dataclass(frozen=True)
class RatingHistory:
    """Training ratings: the movies each user rated, and every movie the models were trained on."""

    rated_by_user: dict[int, np.ndarray]
    trained_movies: np.ndarray  # sorted unique movie ids present in the training file

    def rated(self, user_id: int) -> np.ndarray:
        try:
            return self.rated_by_user[user_id]
        except KeyError:
            raise NotFound(f"user {user_id} has no ratings in the training data") from None


def parse_titles(raw: bytes, encoding: str = "iso-8859-1") -> Catalog:
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise ConfigurationError(f"TITLES_ENCODING names no known encoding: {encoding!r}") from None
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ConfigurationError(
            f"the catalog is not {encoding} text: byte {err.start} (line {line})"
        ) from None
    titles: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) > 1 and fields[0].isdigit():
            titles[int(fields[0])] = fields[1]
    return Catalog(titles)


def parse_history(raw: bytes) -> RatingHistory:
    pairs = np.loadtxt(io.BytesIO(raw), dtype=np.int64, usecols=(0, 1), ndmin=2)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    users, movies = pairs[order, 0], pairs[order, 1]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    groups = np.split(movies, starts[1:])
    rated = {int(users[s]): group for s, group in zip(starts, groups, strict=True)}
    return RatingHistory(rated, np.unique(movies))
