"""The three file layouts MovieLens releases use, and how to tell which one a folder holds.

- `ml-100k`: tab-separated `u.data` (user, item, rating, timestamp) plus the ready-made splits
  `ua.base`/`ua.test`, `ub.*`, `u1..u5.*`; movies in latin-1 `u.item` (24 `|`-separated fields,
  the last 19 are genre flags whose names are in `u.genre`).
- `ml-1m`: `ratings.dat` and `movies.dat`, fields separated by `::`, latin-1.
- `csv` (ml-latest-small, ml-20m, ml-25m): `ratings.csv` (`userId,movieId,rating,timestamp`,
  half-star ratings) and `movies.csv` (`movieId,title,genres`, quoted titles, utf-8).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from jobs.movielens.errors import LayoutError


@dataclass(frozen=True)
class RatingScale:
    """Allowed ratings: `low..high` in steps of `step` (1 for integer stars, 0.5 for half stars)."""

    low: float
    high: float
    step: float

    @property
    def integer(self) -> bool:
        return self.step == 1

    def describe(self) -> str:
        if self.integer:
            return f"{self.low:g}..{self.high:g}"
        return f"{self.low:.1f}..{self.high:.1f} in steps of {self.step:g}"


@dataclass(frozen=True)
class Layout:
    """How one MovieLens layout stores its ratings and movies."""

    name: str
    ratings_file: str
    movies_file: str
    encoding: str
    separator: str  # between fields of the ratings and movies files
    ratings_header: str | None
    movies_header: str | None
    scale: RatingScale
    split_files: tuple[str, ...]  # ready-made splits shipped with the release, if any
    genres_file: str | None = None  # ml-100k names its genre flags in a file of their own

    def movie_files(self) -> tuple[str, ...]:
        """The files the movies are parsed from: the movies file, then the genre names if apart."""
        return (self.movies_file,) if self.genres_file is None else (self.movies_file, self.genres_file)

    def rating_files(self) -> tuple[str, ...]:
        """Every ratings file this layout may hold: the whole set first, then its splits."""
        return (self.ratings_file, *self.split_files)

    def required_files(self) -> tuple[str, ...]:
        return (self.ratings_file, *self.movie_files())


_ML100K_SPLITS: Final = (
    "ua.base",
    "ua.test",
    "ub.base",
    "ub.test",
    *(f"u{fold}.{part}" for fold in range(1, 6) for part in ("base", "test")),
)

LAYOUTS: Final[dict[str, Layout]] = {
    "ml-100k": Layout(
        "ml-100k",
        "u.data",
        "u.item",
        "latin-1",
        "\t",
        None,
        None,
        RatingScale(1, 5, 1),
        _ML100K_SPLITS,
        genres_file="u.genre",
    ),
    "ml-1m": Layout(
        "ml-1m", "ratings.dat", "movies.dat", "latin-1", "::", None, None, RatingScale(1, 5, 1), ()
    ),
    "csv": Layout(
        "csv",
        "ratings.csv",
        "movies.csv",
        "utf-8",
        ",",
        "userId,movieId,rating,timestamp",
        "movieId,title,genres",
        RatingScale(0.5, 5, 0.5),
        (),
    ),
}

# Every ratings file name any layout can hold (the CLI offers them as choices).
ALL_RATING_FILES: Final = tuple(
    dict.fromkeys(f for layout in LAYOUTS.values() for f in layout.rating_files())
)


def detect_layout(folder: Path) -> Layout:
    """The layout whose ratings file is in `folder`, after checking its other required files."""
    found = [layout for layout in LAYOUTS.values() if (folder / layout.ratings_file).is_file()]
    if not found:
        names = ", ".join(layout.ratings_file for layout in LAYOUTS.values())
        raise LayoutError(f"{folder}: no MovieLens ratings file found (expected one of {names})")
    if len(found) > 1:
        names = ", ".join(layout.ratings_file for layout in found)
        raise LayoutError(f"{folder}: holds files of several MovieLens layouts ({names}); keep one")
    layout = found[0]
    missing = [name for name in layout.required_files() if not (folder / name).is_file()]
    if missing:
        raise LayoutError(f"{folder}: {layout.name} layout but {', '.join(missing)} is missing")
    return layout


def expect_layout(folder: Path, dataset_layout: str, dataset: str) -> Layout:
    """Detect the layout of `folder` and check it is the one release `dataset` uses."""
    layout = detect_layout(folder)
    if layout.name != dataset_layout:
        raise LayoutError(
            f"{folder}: holds the {layout.name} layout ({layout.ratings_file}) but dataset {dataset} "
            f"uses the {dataset_layout} layout; pass the matching --dataset"
        )
    return layout
