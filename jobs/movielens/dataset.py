"""A loaded MovieLens release: where it came from, its ratings, its movies and its ua split."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Final

import numpy as np

from jobs.movielens.catalog import DEFAULT_DATASET
from jobs.movielens.checksums import sha256_file
from jobs.movielens.errors import DataError, ParseError, os_failure
from jobs.movielens.layouts import Layout
from jobs.movielens.movies import Movies, parse_movies
from jobs.movielens.ratings import Ratings, line_of_row, parse_ratings
from jobs.movielens.sources import ResolvedSource, SourceSettings, resolve_source

UA_SPLIT: Final = ("ua.base", "ua.test")


@dataclass(frozen=True)
class MovieLens:
    """Everything the channels and statistics need from one release."""

    source: ResolvedSource
    ratings: Ratings  # the whole ratings file (u.data, ratings.dat or ratings.csv)
    movies: Movies
    splits: MappingProxyType[str, Ratings]  # ua.base and ua.test when the release ships them

    @property
    def name(self) -> str:
        return self.source.dataset

    @property
    def layout(self) -> Layout:
        return self.source.layout

    @property
    def folder(self) -> Path:
        return self.source.folder

    @property
    def has_ua_split(self) -> bool:
        return all(name in self.splits for name in UA_SPLIT)

    def split(self, file_name: str) -> Ratings:
        """A loaded split file (`ua.base`, `ua.test`); a one-line error if the release lacks it."""
        try:
            return self.splits[file_name]
        except KeyError:
            raise DataError(f"{self.name} in {self.folder} has no {file_name}") from None

    def rating_file(self, file_name: str) -> Ratings:
        """Any ratings file of the release (`ub.base`, `u1.test`...), validated like the rest: already
        loaded ones are reused, others parsed and checked against the movies file."""
        if file_name == self.layout.ratings_file:
            return self.ratings
        if file_name in self.splits:
            return self.splits[file_name]
        ratings = _parse_rating_file(self.source, file_name)
        _check_rated_movies(ratings, self.movies, file_name, self.layout)
        return ratings

    def files_used(self) -> tuple[str, ...]:
        """Names of the files this object was built from."""
        return tuple(sorted({self.layout.ratings_file, *self.layout.movie_files(), *self.splits}))

    @cached_property
    def file_sha256(self) -> dict[str, str]:
        """SHA-256 of every file used (reusing the sums computed while verifying the source)."""
        known = self.source.verified
        return {name: known.get(name) or sha256_file(self.folder / name) for name in self.files_used()}

    @cached_property
    def max_user_id(self) -> int:
        return max(int(r.user.max()) for r in (self.ratings, *self.splits.values()))

    @cached_property
    def max_movie_id(self) -> int:
        rated = max(int(r.item.max()) for r in (self.ratings, *self.splits.values()))
        return max(rated, int(self.movies.ids.max()))


def load_movielens(
    dataset: str = DEFAULT_DATASET, source: str | Path | None = None, settings: SourceSettings | None = None
) -> MovieLens:
    """Resolve, verify and parse a release (all of it is validated before anything is returned)."""
    resolved = resolve_source(dataset, source, settings)
    return load_resolved(resolved)


def load_resolved(resolved: ResolvedSource) -> MovieLens:
    """Parse an already resolved release folder; every rated movie must be in the movies file."""
    layout, folder = resolved.layout, resolved.folder
    try:
        ratings = parse_ratings(folder / layout.ratings_file, layout)
        movies = parse_movies(folder, layout)
        present = [name for name in UA_SPLIT if name in layout.split_files and (folder / name).is_file()]
        splits = {name: parse_ratings(folder / name, layout) for name in present}
    except OSError as error:
        raise DataError(os_failure(error, "read")) from error
    for name, rated in ((layout.ratings_file, ratings), *splits.items()):
        _check_rated_movies(rated, movies, name, layout)
    return MovieLens(resolved, ratings, movies, MappingProxyType(splits))


def _check_rated_movies(ratings: Ratings, movies: Movies, file_name: str, layout: Layout) -> None:
    """Refuse ratings of movies the movies file lacks: they would inflate enc1_vocab_size unseen."""
    # A lookup table indexed by movie id, like np.isin's "table" kind, but without its id-sized
    # temporaries: in a fresh process their page faults made np.isin ~0.7 s on 25 M ratings, this ~0.05 s.
    known = np.zeros(int(movies.ids.max()) + 2, dtype=np.bool_)
    known[movies.ids] = True  # the last cell stays False: "clip" sends every larger id there
    rated = known.take(ratings.item, mode="clip")
    if not rated.all():
        row = int(np.argmin(rated))
        problem = f"movie id {ratings.item[row]} is not in {layout.movies_file}"
        raise ParseError(file_name, line_of_row(layout, row), problem)


def _parse_rating_file(resolved: ResolvedSource, file_name: str) -> Ratings:
    """Parse one named ratings file of the release (e.g. `ub.base`), checking the layout has it."""
    layout = resolved.layout
    if file_name not in layout.rating_files():
        choices = ", ".join(layout.rating_files())
        raise DataError(
            f"{file_name} is not a ratings file of the {layout.name} layout (choose from {choices})"
        )
    try:
        return parse_ratings(resolved.folder / file_name, layout)
    except OSError as error:
        raise DataError(os_failure(error, "read")) from error
