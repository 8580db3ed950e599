"""Write Object2Vec JSON lines fast: `{"in0": [196], "in1": [242], "label": 3.0}` per row.

A chunk of rows becomes a byte matrix, one row per line: a template row holds the constant JSON
punctuation, the ids' digits are computed column by column with integer arithmetic, the label
text comes from a lookup table, and unused leading digit cells stay NUL. Dropping the NULs
(`bytes.replace`, C speed) leaves exactly what `json.dumps(row)` writes (key order in0, in1,
label; `", "` and `": "` separators), without creating a Python object per row.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

_PARTS: Final = (b'{"in0": [', b"<in0>", b'], "in1": [', b"<in1>", b'], "label": ', b"<label>", b"}\n")
_CHUNK_ROWS: Final = 1 << 16  # ~3 MB of text: buffers stay in malloc's heap, no fresh pages per chunk


@dataclass(frozen=True)
class WrittenFile:
    """What was written: rows and the SHA-256 of the bytes."""

    path: Path
    rows: int
    sha256: str


@dataclass(frozen=True)
class _LineLayout:
    """Byte template of one line and where the variable cells start."""

    template: NDArray[np.uint8]
    in0: int
    in1: int
    label: int
    in0_width: int
    in1_width: int
    label_width: int


def write_jsonl(
    path: Path,
    user: NDArray[np.int32],
    item: NDArray[np.int32],
    label_text: NDArray[np.bytes_],
    order: NDArray[np.intp],
    on_rows: Callable[[int], None] | None = None,
) -> WrittenFile:
    """Write rows `order[0], order[1], …` of the columns to `path` (a fresh file), chunk by chunk."""
    digest = hashlib.sha256()
    layout = _line_layout(_digits(user), _digits(item), label_text.dtype.itemsize)
    with path.open("wb") as sink:
        for start in range(0, order.shape[0], _CHUNK_ROWS):
            rows = order[start : start + _CHUNK_ROWS]
            data = _encode(user[rows], item[rows], label_text[rows], layout)
            digest.update(data)
            sink.write(data)
            if on_rows is not None:
                on_rows(rows.shape[0])
        sink.flush()
        os.fsync(sink.fileno())  # on disk before a manifest can point at it (see prepare._publish)
    return WrittenFile(path, int(order.shape[0]), digest.hexdigest())


def _digits(ids: NDArray[np.int32]) -> int:
    """Digits of the largest id (ids are validated positive, so at most 10 for int32)."""
    return len(str(int(ids.max()))) if ids.size else 1


def _line_layout(in0_width: int, in1_width: int, label_width: int) -> _LineLayout:
    widths = {b"<in0>": in0_width, b"<in1>": in1_width, b"<label>": label_width}
    cells = [b"\x00" * widths[part] if part in widths else part for part in _PARTS]
    starts = np.cumsum([0, *(len(cell) for cell in cells)])
    template = np.frombuffer(b"".join(cells), dtype=np.uint8)
    return _LineLayout(
        template, int(starts[1]), int(starts[3]), int(starts[5]), in0_width, in1_width, label_width
    )


def _encode(
    user: NDArray[np.int32], item: NDArray[np.int32], label: NDArray[np.bytes_], layout: _LineLayout
) -> bytes:
    lines = np.empty((user.shape[0], layout.template.size), dtype=np.uint8)
    lines[:] = layout.template
    _put_digits(lines, layout.in0, layout.in0_width, user)
    _put_digits(lines, layout.in1, layout.in1_width, item)
    cells = label.view(np.uint8).reshape(-1, layout.label_width)
    lines[:, layout.label : layout.label + layout.label_width] = cells
    return lines.tobytes().replace(b"\x00", b"")  # padding is NUL; JSON text never is


def _put_digits(lines: NDArray[np.uint8], start: int, width: int, ids: NDArray[np.int32]) -> None:
    """Write the decimal digits of `ids` right-aligned in `width` cells, leading cells left NUL."""
    value = ids.astype(np.uint32)
    for column in range(width - 1, -1, -1):  # least significant digit first
        quotient = value // 10
        digit = (value - quotient * 10).astype(np.uint8) + ord("0")
        if column < width - 1:
            digit *= ids >= 10 ** (width - 1 - column)  # 0 (NUL) where the number is shorter
        lines[:, start + column] = digit
        value = quotient
