"""Byte-level checks numpy's parser cannot do for us, in one streaming pass over a file.

`np.loadtxt` skips blank lines silently (so its row numbers drift from the file's line numbers)
and, reading in text mode, fails on a bad byte without saying where. This pass finds the first
blank line that is followed by more data (trailing blank lines are harmless: u.genre ends with
one) and the first byte that is not valid in the file's encoding, with their line numbers.

It reads fixed-size blocks into one reused buffer (so memory stays flat whatever the file size)
and uses only C-speed operations on them: a compiled regex for blank lines and a numpy maximum
to spot non-ASCII bytes. Line numbers are counted only when something is wrong.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from jobs.movielens.errors import ParseError, clip

_BLOCK: Final = 1 << 24
_BLANK: Final = re.compile(rb"\n\r?\n")
_OVERLAP: Final = 2  # a blank line can straddle two blocks by at most "\n\r" + "\n"


@dataclass(frozen=True)
class TextScan:
    """What the byte pass found: where the data ends and the first blank line before that end."""

    content_end: int  # offset just past the last byte that is not a line break
    first_blank_line: int | None


def scan_text(path: Path, encoding: str, block_size: int = _BLOCK) -> TextScan:
    """Check the encoding of `path` (raising `ParseError`) and locate its first inner blank line."""
    end = content_end(path)
    blank_at: int | None = None
    non_ascii = False
    for start, window in _windows(path, end, block_size):
        if blank_at is None and (match := _BLANK.search(window)):
            blank_at = start + match.start() + 1  # offset of the blank line itself
        non_ascii = non_ascii or bool(len(window) and np.frombuffer(window, np.uint8).max() >= 0x80)
    if non_ascii and codecs.lookup(encoding).name != "iso8859-1":  # every byte is valid latin-1
        _check_encoding(path, end, encoding)
    if blank_at is None and end and _starts_blank(path):
        blank_at = 0
    return TextScan(end, None if blank_at is None else line_of_offset(path, blank_at))


def content_end(path: Path, block_size: int = 1 << 16) -> int:
    """Offset just past the last byte of `path` that is not `\\r` or `\\n` (0 for an empty file)."""
    with path.open("rb") as handle:
        position = handle.seek(0, 2)
        while position > 0:
            start = max(0, position - block_size)
            handle.seek(start)
            stripped = handle.read(position - start).rstrip(b"\r\n")
            if stripped:
                return start + len(stripped)
            position = start
    return 0


def line_of_offset(path: Path, offset: int, block_size: int = _BLOCK) -> int:
    """1-based line number of the byte at `offset`."""
    newlines = 0
    with path.open("rb") as handle:
        while offset > 0:
            block = handle.read(min(block_size, offset))
            if not block:
                break
            newlines += block.count(b"\n")
            offset -= len(block)
    return newlines + 1


def read_line(path: Path, line_number: int, block_size: int = _BLOCK) -> str:
    """The text of 1-based `line_number` (latin-1 decoded, so any byte shows); for error messages."""
    seen = 0
    for chunk in line_chunks(path, path.stat().st_size, block_size):
        count = chunk.count(b"\n")  # chunk holds lines seen+1 .. seen+count, plus an unterminated last one
        index = line_number - 1 - seen
        if index < count or (index == count and not chunk.endswith(b"\n")):
            return chunk.split(b"\n")[index].rstrip(b"\r").decode("latin-1")
        seen += count
    return ""


def line_chunks(path: Path, end: int, block_size: int = _BLOCK) -> Iterator[bytes]:
    """Blocks of whole lines from `path` up to offset `end` (the last one may lack its newline)."""
    carry = b""
    with path.open("rb") as handle:
        position = 0
        while position < end:
            block = handle.read(min(block_size, end - position))
            if not block:
                break
            position += len(block)
            data = carry + block
            cut = len(data) if position >= end else data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                yield data[:cut]
    if carry:
        yield carry


def _windows(path: Path, end: int, block_size: int) -> Iterator[tuple[int, memoryview]]:
    """(file offset, bytes) windows over `[0, end)`, each starting with the previous one's last bytes."""
    buffer = bytearray(block_size + _OVERLAP)
    view = memoryview(buffer)
    kept = 0
    with path.open("rb") as handle:
        position = 0
        while position < end:
            read = handle.readinto(view[kept : kept + min(block_size, end - position)])
            if not read:
                break
            yield position - kept, view[: kept + read]
            position += read
            tail = min(_OVERLAP, kept + read)
            buffer[:tail] = buffer[kept + read - tail : kept + read]
            kept = tail


def _starts_blank(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(2)
    return head.startswith(b"\n") or head == b"\r\n"


def _check_encoding(path: Path, end: int, encoding: str) -> None:
    """Slow path, only for files with non-ASCII bytes: decode line blocks to find a bad byte."""
    lines_before = 0
    for chunk in line_chunks(path, end):
        try:
            chunk.decode(encoding)
        except UnicodeDecodeError as error:
            line = lines_before + chunk.count(b"\n", 0, error.start) + 1
            raise ParseError(path.name, line, bad_byte_problem(chunk, error.start, encoding)) from None
        lines_before += chunk.count(b"\n")


def bad_byte_problem(data: bytes, offset: int, encoding: str) -> str:
    """`byte 0xe9 is not valid utf-8 in '…'`, quoting the line holding `data[offset]`."""
    return f"byte 0x{data[offset]:02x} is not valid {encoding} in {clip(line_around(data, offset))!r}"


def line_around(data: bytes, offset: int) -> str:
    """The line of `data` holding byte `offset`, latin-1 decoded so that any byte shows."""
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    return data[start : None if end < 0 else end].rstrip(b"\r").decode("latin-1")
