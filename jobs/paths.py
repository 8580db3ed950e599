"""Where the toolkit reads and writes on this machine: always under the repository, never relative to
the working directory, so `o2v` behaves the same from any folder."""

from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The repository this package runs from (jobs/paths.py -> one level up)."""
    return Path(__file__).resolve().parents[1]


def work_dir() -> Path:
    """`<repo>/.work`: everything the toolkit writes while it runs (git-ignored; `make clean` removes it)."""
    return repo_root() / ".work"


def channels_dir() -> Path:
    return work_dir() / "channels"


def models_dir() -> Path:
    return work_dir() / "models"


HANDLERS_DIR = repo_root() / "handlers"
EVENTS_DIR = repo_root() / "events"
