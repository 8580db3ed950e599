"""The three Object2Vec tasks and how each turns a rating into a label.

- `rating` (regression, the workshop's `*_r.jsonl`): the rating itself as a float, `3.0`.
- `recommendation` (the workshop's `*_c.jsonl`): `1 if rating > 3 else 0`, an int. Ratings 4 and
  5 are positives; this is polarity on observed pairs, exactly as the workshop does it.
- `implicit`: every observed (user, movie) pair is a positive, `1`; a model trained on it must
  create negatives itself (Object2Vec's `negative_sampling_rate`).

Labels are produced as JSON text, one fixed byte string per row, from a lookup table: there are
at most 11 distinct label texts, so no number is ever formatted per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from jobs.channels.manifest import LabelSpec
from jobs.movielens.layouts import RatingScale

Task = Literal["rating", "recommendation", "implicit"]
TASKS: Final[tuple[Task, ...]] = ("rating", "recommendation", "implicit")
POSITIVE_ABOVE: Final = 3.0  # the workshop's `get_binarized_label(data, 3.0)` threshold

# JSON text of every half-star rating 0.0..5.0, indexed by 2 * rating: b"0.5", b"1.0", …
# (Python's float repr, which is what json.dumps writes for these values).
_RATING_TEXT: Final = np.array([repr(half / 2).encode() for half in range(11)], dtype="S3")
_BINARY_TEXT: Final = np.array([b"0", b"1"], dtype="S3")


@dataclass(frozen=True)
class Labels:
    """Per-row label text for the JSON lines, plus the 0/1 values for binary tasks."""

    text: NDArray[np.bytes_]
    binary: NDArray[np.bool_] | None


def make_labels(task: Task, rating: NDArray[np.float32]) -> Labels:
    """Labels of `task` for these ratings (see the module docstring for the rules)."""
    if task == "rating":
        return Labels(_RATING_TEXT[np.rint(rating * 2).astype(np.intp)], None)
    if task == "recommendation":
        positive = rating > POSITIVE_ABOVE
    elif task == "implicit":
        positive = np.ones(rating.shape[0], dtype=bool)
    else:
        raise ValueError(f"unknown task {task!r}")
    return Labels(_BINARY_TEXT[positive.astype(np.intp)], positive)


def label_spec(task: Task, scale: RatingScale) -> LabelSpec:
    """The manifest's `label` entry: `{"type": "float", "range": [1, 5]}` or `{"type": "binary"}`."""
    if task == "rating":
        return LabelSpec("float", (_plain(scale.low), _plain(scale.high)))
    return LabelSpec("binary")


def _plain(value: float) -> int | float:
    """5.0 -> 5 and 0.5 -> 0.5, so the manifest reads `[1, 5]` for integer scales."""
    return int(value) if float(value).is_integer() else value
