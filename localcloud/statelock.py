"""One local cloud per state folder: the server holds an exclusive lock on `<state>/localcloud.lock`
for as long as it runs (the kernel drops it when the process dies, even by kill -9).

Two clouds on one folder (other ports, same `LOCALCLOUD_STATE_DIR`) would fail each other's training
jobs and delete blobs the other's manifest still needs; the second one now refuses to start, and
`stop --purge` refuses to delete a folder another cloud is using.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

from localcloud.config import CloudConfig
from localcloud.errors import LocalCloudError
from localcloud.storage import read_json


def _lock_file(config: CloudConfig) -> IO[bytes]:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    return open(config.state_dir / "localcloud.lock", "ab")


def hold_state_lock(config: CloudConfig) -> IO[bytes]:
    """Take the folder's lock for this process (keep the returned file open), or raise LocalCloudError."""
    handle = _lock_file(config)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise LocalCloudError(in_use_message(config)) from None
    return handle


def state_in_use(config: CloudConfig) -> bool:
    """True while some local cloud process holds the folder's lock."""
    if not (config.state_dir / "localcloud.lock").exists():
        return False
    with _lock_file(config) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


def in_use_message(config: CloudConfig) -> str:
    owner = ""
    try:
        info = read_json(config.pid_file)
        owner = f" (pid {int(info['pid'])}, ports {info['ports']})"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return (
        f"state folder {config.state_dir} is in use by another local cloud{owner}; stop it, or give this "
        f"one its own LOCALCLOUD_STATE_DIR (this is pid {os.getpid()})"
    )
