"""Crash-safe files: every write goes to a temporary name in the destination folder, is fsynced, then
renamed into place (`os.replace`).

A reader therefore only ever sees the old or the new content of a file, never half of it, and the
temporary file is removed on error. `fsync_dir` makes renames durable: a rename reaches the disk only
with its folder's entry.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_writer", "fsync_dir", "write_json_atomic"]


def _current_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: do it once, at import, not per write
    os.umask(mask)
    return mask


# What a plain open() would give a new file; mkstemp's own mode is a private 0600.
PLAIN_FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_writer(path: Path, *, mode: int | None = PLAIN_FILE_MODE) -> Iterator[IO[bytes]]:
    """Yield a binary file that becomes `path` only if the block finishes without an error.

    `mode` is applied before the rename (None keeps mkstemp's private 0600). The folder is not fsynced
    here: callers that publish several files sync it once at the end.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write `payload` as pretty JSON with sorted keys (stable diffs, byte-identical reruns)."""
    text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
    with atomic_writer(path) as handle:
        handle.write(text.encode("utf-8"))


def fsync_dir(folder: Path) -> None:
    """Flush `folder`'s entries, so files renamed into it survive a power cut (POSIX; a no-op elsewhere)."""
    if os.name != "posix":  # Windows cannot open a folder as a file; its renames are journaled
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
