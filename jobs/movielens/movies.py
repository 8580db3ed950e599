"""Movie titles and genres. These files are small (at most ~62 k lines), so they are parsed line
by line in Python, with the same strict, one-line errors as the ratings."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from jobs.movielens.errors import ParseError, clip, field_count_problem
from jobs.movielens.layouts import Layout
from jobs.movielens.textscan import bad_byte_problem, line_around

_ML100K_FIELDS: Final = 24  # id, title, release date, video release date, IMDb URL, 19 genre flags
_NO_GENRES: Final = "(no genres listed)"  # the CSV releases' marker for an empty genre list


@dataclass(frozen=True)
class Movie:
    movie_id: int
    title: str
    genres: tuple[str, ...]


@dataclass(frozen=True)
class Movies:
    """Every movie of a release, in file order."""

    movies: tuple[Movie, ...]

    def __len__(self) -> int:
        return len(self.movies)

    @cached_property
    def ids(self) -> NDArray[np.int32]:
        return np.fromiter((m.movie_id for m in self.movies), dtype=np.int32, count=len(self.movies))

    @cached_property
    def by_id(self) -> dict[int, Movie]:
        return {m.movie_id: m for m in self.movies}


def parse_movies(folder: Path, layout: Layout) -> Movies:
    """Parse the movies file of `layout` in `folder` (u.item + u.genre, movies.dat or movies.csv)."""
    path = folder / layout.movies_file
    if layout.genres_file is not None:
        rows = _parse_u_item(path, _parse_u_genre(folder / layout.genres_file))
    elif layout.name == "ml-1m":
        rows = _parse_movies_dat(path, layout)
    else:
        rows = _parse_movies_csv(path, layout)
    return Movies(_unique(rows, path.name))


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line up to the last non-empty one; inner blank lines fail."""
    text = _decode(path, encoding)
    lines = text.rstrip("\r\n").split("\n") if text.strip("\r\n") else []
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if not line:
            raise ParseError(path.name, number, "blank line inside the data")
        yield number, line


def _decode(path: Path, encoding: str) -> str:
    """Decode strictly; a latin-1 file that is really UTF-8 (a re-saved copy) is refused too."""
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ParseError(path.name, line, bad_byte_problem(data, error.start, encoding)) from None
    if encoding == "latin-1" and not data.isascii() and _is_utf8(data):
        offset = next(i for i, byte in enumerate(data) if byte >= 0x80)
        line = data.count(b"\n", 0, offset) + 1
        quoted = clip(line_around(data, offset))  # latin-1 decoded: the mojibake shows the re-encoding
        raise ParseError(
            path.name, line, f"text is UTF-8 but this layout is latin-1 (a re-encoded copy?): {quoted!r}"
        )
    return text


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _parse_u_genre(path: Path) -> tuple[str, ...]:
    """u.genre: `name|index` lines, indices 0, 1, 2… in order (the order of u.item's flags)."""
    names: list[str] = []
    for number, line in _lines(path, "latin-1"):
        name, sep, index = line.partition("|")
        if not sep or index != str(len(names)) or not name:
            raise ParseError(path.name, number, f"expected 'name|{len(names)}', found {line!r}")
        names.append(name)
    return tuple(names)


def _parse_u_item(path: Path, genres: tuple[str, ...]) -> Iterator[tuple[int, Movie]]:
    width = _ML100K_FIELDS - 19 + len(genres)
    for number, line in _lines(path, "latin-1"):
        fields = line.split("|")
        if len(fields) != width:
            raise ParseError(path.name, number, field_count_problem(width, len(fields), "|", line))
        flags = fields[width - len(genres) :]
        if any(flag not in {"0", "1"} for flag in flags):
            bad = next(flag for flag in flags if flag not in {"0", "1"})
            raise ParseError(path.name, number, f"genre flag {bad!r} is not 0 or 1")
        chosen = tuple(name for name, flag in zip(genres, flags, strict=True) if flag == "1")
        yield number, Movie(_movie_id(fields[0], path, number), fields[1], chosen)


def _parse_movies_dat(path: Path, layout: Layout) -> Iterator[tuple[int, Movie]]:
    for number, line in _lines(path, layout.encoding):
        fields = line.split("::")
        if len(fields) != 3:
            raise ParseError(path.name, number, field_count_problem(3, len(fields), "::", line))
        yield number, Movie(_movie_id(fields[0], path, number), fields[1], _genres(fields[2]))


def _parse_movies_csv(path: Path, layout: Layout) -> Iterator[tuple[int, Movie]]:
    text = _decode(path, layout.encoding)
    reader = csv.reader(io.StringIO(text.rstrip("\r\n"), newline=""), strict=True)
    try:
        for row in reader:
            yield from _csv_movie(row, reader.line_num, path, layout, text)
    except csv.Error as error:
        raise ParseError(path.name, reader.line_num, f"malformed CSV ({error})") from None


def _csv_movie(
    row: list[str], number: int, path: Path, layout: Layout, text: str
) -> Iterator[tuple[int, Movie]]:
    if number == 1:
        if ",".join(row) != layout.movies_header:
            raise ParseError(path.name, 1, f"header {','.join(row)!r} is not {layout.movies_header!r}")
        return
    if not row:
        raise ParseError(path.name, number, "blank line inside the data")
    if len(row) != 3:
        # Quote the line as written (quotes included), not the fields the csv module made of it.
        line = text.split("\n")[number - 1].removesuffix("\r")
        raise ParseError(path.name, number, field_count_problem(3, len(row), ",", line))
    yield number, Movie(_movie_id(row[0], path, number), row[1], _genres(row[2]))


def _genres(field: str) -> tuple[str, ...]:
    return () if field in {"", _NO_GENRES} else tuple(field.split("|"))


def _movie_id(text: str, path: Path, number: int) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1 or int(text) > np.iinfo(np.int32).max:
        raise ParseError(path.name, number, f"movie id {text!r} is not an integer in 1..2147483647")
    return int(text)


def _unique(rows: Iterator[tuple[int, Movie]], file_name: str) -> tuple[Movie, ...]:
    seen: dict[int, int] = {}
    movies: list[Movie] = []
    for number, movie in rows:
        if movie.movie_id in seen:
            first = seen[movie.movie_id]
            raise ParseError(file_name, number, f"movie id {movie.movie_id} repeats line {first}")
        seen[movie.movie_id] = number
        movies.append(movie)
    if not movies:
        raise ParseError(file_name, 1, "no movies in the file")
    return tuple(movies)
