"""Atomic file writes: a temporary name in the destination folder, then `os.replace`.

A crash or an exception therefore never leaves a half-written file under the final name, and
the temporary file is removed on error. Used for manifests and the benchmarks' outputs (channels
and downloads stream to their own staging names, renamed the same way).
`fsync_dir` makes renames durable: a rename reaches the disk only with its folder's entry.
The mechanics are the local cloud's (`localcloud.storage`); only the file mode differs.
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any

from localcloud import storage
from localcloud.storage import fsync_dir

__all__ = ["atomic_writer", "fsync_dir", "write_json_atomic"]


def _current_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: do it once, at import, not per write
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_writer(path: Path) -> AbstractContextManager[IO[bytes]]:
    """Yield a binary file that becomes `path` only if the block finishes without an error."""
    # Outputs get the mode a plain open() would give them, not mkstemp's private 0600.
    return storage.atomic_writer(path, mode=0o666 & ~_UMASK)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write `payload` as pretty JSON with sorted keys (stable diffs, byte-identical reruns)."""
    text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
    with atomic_writer(path) as handle:
        handle.write(text.encode("utf-8"))
