"""Ratings as four numpy columns, parsed by numpy's C parser and validated vectorised.

No Python object is created per row: `np.loadtxt` (a C tokenizer in numpy 2) fills a structured
array straight from the file, and every check is a whole-column comparison (repeated pairs: one
in-place sort of packed keys). A bad row fails with one line, `<file>:<line>: <problem>`, naming
the value as it appears in the file.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from jobs.movielens.errors import DataError, ParseError, field_count_problem, one_line
from jobs.movielens.layouts import Layout
from jobs.movielens.textscan import TextScan, read_line, scan_text

# Packed (not aligned) rows: 20 bytes each, so a 25 M-row file costs 500 MB while parsing.
_RAW_DTYPE_INT: Final = np.dtype([("user", "<i4"), ("item", "<i4"), ("rating", "<i4"), ("timestamp", "<i8")])
_RAW_DTYPE_HALF: Final = np.dtype([("user", "<i4"), ("item", "<i4"), ("rating", "<f4"), ("timestamp", "<i8")])
_FIELDS: Final = ("user id", "movie id", "rating", "timestamp")
_CONVERT = re.compile(
    r"could not convert string '(?P<value>.*)' to \w+ at row (?P<row>\d+), column (?P<col>\d+)"
)
_COLUMNS = re.compile(r"requires (?P<want>\d+) columns but (?P<got>\d+) were found at row (?P<row>\d+)")


@dataclass(frozen=True)
class Ratings:
    """One row per rating: user int32, item int32, rating float32, timestamp int64 (all 1-D)."""

    user: NDArray[np.int32]
    item: NDArray[np.int32]
    rating: NDArray[np.float32]
    timestamp: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.user.shape[0])

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> Ratings:
        """The rows selected by an index or boolean mask, in that order."""
        return Ratings(self.user[index], self.item[index], self.rating[index], self.timestamp[index])

    @classmethod
    def concat(cls, *parts: Ratings) -> Ratings:
        """The rows of every part, in order."""
        columns = ("user", "item", "rating", "timestamp")
        return cls.from_columns(*(np.concatenate([getattr(part, c) for part in parts]) for c in columns))

    @classmethod
    def from_columns(cls, user: object, item: object, rating: object, timestamp: object) -> Ratings:
        """Build from any array-likes, converting to the canonical dtypes (contiguous copies)."""
        return cls(
            np.ascontiguousarray(user, dtype=np.int32),
            np.ascontiguousarray(item, dtype=np.int32),
            np.ascontiguousarray(rating, dtype=np.float32),
            np.ascontiguousarray(timestamp, dtype=np.int64),
        )


def parse_ratings(path: Path, layout: Layout) -> Ratings:
    """Parse and validate one ratings file of `layout` (u.data, ua.base, ratings.dat, ratings.csv…)."""
    if not path.is_file():
        raise DataError(f"{path}: no such ratings file")
    header_lines = _check_header(path, layout)
    scan = scan_text(path, layout.encoding)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            table = _load_table(path, layout, header_lines)
    except ValueError as error:
        raise _parse_error(error, path, layout, header_lines, scan) from None
    ratings = Ratings.from_columns(table["user"], table["item"], table["rating"], table["timestamp"])
    del table  # contiguous columns are faster to check, and the packed rows are no longer needed
    _check_values(ratings, path, layout, header_lines, scan)
    if len(ratings) == 0:
        raise ParseError(path.name, header_lines + 1, "no ratings in the file")
    _check_unique_pairs(ratings, path, header_lines)
    return ratings


def line_of_row(layout: Layout, row: int) -> int:
    """1-based file line of 0-based data row `row` of a parsed file (inner blank lines are refused)."""
    return (0 if layout.ratings_header is None else 1) + row + 1


def _check_header(path: Path, layout: Layout) -> int:
    """Number of header lines (0 or 1) after checking the header is exactly the expected one."""
    if layout.ratings_header is None:
        return 0
    with path.open("rb") as handle:
        first = handle.readline().rstrip(b"\r\n").decode(layout.encoding, errors="replace")
    if first != layout.ratings_header:
        raise ParseError(path.name, 1, f"header {first!r} is not {layout.ratings_header!r}")
    return 1


def _load_table(path: Path, layout: Layout, header_lines: int) -> np.ndarray:
    dtype = _RAW_DTYPE_INT if layout.scale.integer else _RAW_DTYPE_HALF
    options = {"dtype": dtype, "comments": None, "ndmin": 1, "skiprows": header_lines}
    if len(layout.separator) == 1:
        # A path (not a file object) keeps numpy on its fast block-reading C path.
        return np.loadtxt(str(path), delimiter=layout.separator, encoding=layout.encoding, **options)
    # loadtxt takes one-character delimiters; ml-1m's `::` becomes a tab first, so a stray `:`
    # or an extra field still shows up as a bad value or a wrong field count.
    text = path.read_bytes().replace(layout.separator.encode(), b"\t").decode(layout.encoding)
    return np.loadtxt(io.StringIO(text), delimiter="\t", **options)


def _parse_error(
    error: ValueError, path: Path, layout: Layout, header_lines: int, scan: TextScan
) -> DataError:
    """Turn loadtxt's `... at row R, column C` into our one-line error with the file's line number."""
    message = str(error)
    if match := _CONVERT.search(message):
        line = header_lines + int(match["row"]) + 1  # loadtxt rows here are 0-based data rows
        problem = _conversion_problem(int(match["col"]) - 1, match["value"], layout)
    elif match := _COLUMNS.search(message):
        line = header_lines + int(match["row"])  # ...and 1-based in this message
        text = read_line(path, line)
        problem = field_count_problem(int(match["want"]), int(match["got"]), layout.separator, text)
    else:
        return DataError(f"{path.name}: {one_line(message)}")
    if scan.first_blank_line is not None and scan.first_blank_line <= line:
        # loadtxt skipped the blank line, so the real first problem is the blank line itself.
        return ParseError(path.name, scan.first_blank_line, "blank line inside the data")
    return ParseError(path.name, line, problem)


def _conversion_problem(column: int, value: str, layout: Layout) -> str:
    name = _FIELDS[column] if 0 <= column < len(_FIELDS) else f"field {column + 1}"
    if name == "rating":
        if layout.scale.integer:
            return f"rating {value!r} is not an integer in {layout.scale.describe()}"
        return f"rating {value!r} is not a number"
    if name == "timestamp":
        return f"timestamp {value!r} is not an integer"
    return f"{name} {value!r} is not an integer in 1..2147483647"


def _check_values(ratings: Ratings, path: Path, layout: Layout, header_lines: int, scan: TextScan) -> None:
    """Find the first row breaking a range rule (ids > 0, rating on the scale, timestamp >= 0)."""
    scale = layout.scale
    rating = ratings.rating
    on_scale = (rating >= scale.low) & (rating <= scale.high)
    if not scale.integer:
        on_scale &= np.mod(rating, scale.step) == 0  # exact: half steps are exact in float32
    checks = (
        (ratings.user < 1, 0, "is not positive"),
        (ratings.item < 1, 1, "is not positive"),
        (~on_scale, 2, f"is outside {scale.describe()}"),
        (ratings.timestamp < 0, 3, "is negative"),
    )
    found = [(int(np.argmax(bad)), column, what) for bad, column, what in checks if bad.any()]
    blank = scan.first_blank_line
    if not found:
        if blank is not None:
            raise ParseError(path.name, blank, "blank line inside the data")
        return
    row, column, what = min(found)
    line = header_lines + row + 1
    if blank is not None and blank <= line:
        raise ParseError(path.name, blank, "blank line inside the data")
    value = _field_text(read_line(path, line), layout, column)
    raise ParseError(path.name, line, f"{_FIELDS[column]} {value!r} {what}")


def _field_text(line: str, layout: Layout, column: int) -> str:
    fields = line.split(layout.separator)
    return fields[column].strip() if column < len(fields) else ""


def _check_unique_pairs(ratings: Ratings, path: Path, header_lines: int) -> None:
    """One rating per (user, movie): a repeat is refused at the line that repeats the pair."""
    keys = _pair_keys(ratings)
    keys.sort()  # in place, unstable: ~0.2 s for 25 M keys, where a stable argsort takes ~1 s
    if not np.any(keys[1:] == keys[:-1]):
        return
    row, first = _first_repeat(_pair_keys(ratings))
    pair = f"(user {ratings.user[row]}, movie {ratings.item[row]})"
    raise ParseError(path.name, header_lines + row + 1, f"{pair} repeats line {header_lines + first + 1}")


def _pair_keys(ratings: Ratings) -> NDArray[np.int64]:
    """`user << 32 | movie` per row: ids are validated positive int32, so equal keys mean equal pairs."""
    keys = ratings.user.astype(np.int64)
    keys <<= 32
    keys |= ratings.item  # in place: one 8-byte column, no temporaries
    return keys


def _first_repeat(keys: NDArray[np.int64]) -> tuple[int, int]:
    """(earliest row repeating an earlier row's key, that earlier row); only run once a repeat exists."""
    order = np.argsort(keys, kind="stable")  # equal keys stay in row order
    ordered = keys[order]
    repeats = order[1:][ordered[1:] == ordered[:-1]]
    row = int(repeats.min())
    first = int(order[np.searchsorted(ordered, keys[row])])
    return row, first
