"""Crash-safe files: every write goes to a temporary name, is fsynced, then renamed into place.

The local cloud must survive `kill -9` and a power cut, so a reader only ever sees the old or the new
content of a file, never half of it; the directory is fsynced too so the rename itself is durable.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from common.atomic import atomic_writer, fsync_dir


class UnsafeName(ValueError):
    """A name that would not stay inside its folder; the message says which and why."""


def child(folder: Path, name: str) -> Path:
    """`folder / name` for a name that is exactly one path segment: the ONE check every resource name
    (function, layer, endpoint, job, bucket, log) passes before it becomes a path."""
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or any(c in name for c in "/\\\0")
        or len(name.encode()) > 255
    ):
        raise UnsafeName(f"{str(name)[:80]!r} is not a plain file name")
    return folder / name


def below(folder: Path, relative: str) -> Path:
    """`folder / relative` for a relative path made of plain segments (e.g. an S3 key below a prefix):
    no absolute path, no "." or ".." segment, no empty segment, no NUL."""
    parts = relative.split("/")
    try:
        path = folder
        for part in parts:
            path = child(path, part)
    except UnsafeName:
        raise UnsafeName(f"{relative[:200]!r} is not a relative path below {folder.name}") from None
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path, mode=None) as f:  # state files stay private (0600)
        f.write(data)
    fsync_dir(path.parent)


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, json.dumps(value, indent=1, sort_keys=True).encode())


def read_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def sync_tree(root: Path) -> None:
    """fsync every file and folder under `root` (before it is renamed into place)."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(folder))


def remove_tree(path: Path) -> None:
    """Delete a folder so that a crash midway never leaves it looking complete: rename, then delete."""
    if not path.exists():
        return
    trash = path.with_name(f".trash-{path.name}-{uuid.uuid4().hex[:8]}")
    os.replace(path, trash)
    fsync_dir(path.parent)
    shutil.rmtree(trash, ignore_errors=True)


def clean_trash(folder: Path) -> None:
    """Finish deletions and temporary files a crash interrupted (see `remove_tree`, `atomic_write_bytes`)."""
    if not folder.is_dir():
        return
    for leftover in folder.glob(".trash-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in folder.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
