"""Unpack a MovieLens zip into the cache: extract to a temporary folder, then rename into place.

Readers therefore see either no folder or a complete one, never a half-extracted release.
`zipfile` already refuses member names that would escape the target folder. OS errors (a cache
that cannot be written, a full disk) become one-line `SourceError`s naming the path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from jobs.movielens.errors import SourceError, one_line, os_failure, os_reason
from jobs.movielens.layouts import LAYOUTS


def extract_release(archive: Path, target: Path, dataset: str) -> Path:
    """Extract the release folder of `archive` to `target` (a new folder); return `target`."""
    if target.is_dir():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.extract_", dir=target.parent))
    except OSError as error:
        raise SourceError(os_failure(error, "create folder", target.parent)) from error
    try:
        _extract_all(archive, scratch)
        release = find_release_folder(scratch, dataset)
        if release is None:
            raise SourceError(f"{archive}: the zip holds no MovieLens ratings file")
        _rename_into_place(release, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def find_release_folder(root: Path, dataset: str) -> Path | None:
    """`root` itself, `root/<dataset>`, or the one subfolder of `root` holding a ratings file."""
    candidates = (
        [root, root / dataset, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []
    )
    for folder in candidates:
        if any((folder / layout.ratings_file).is_file() for layout in LAYOUTS.values()):
            return folder
    return None


def _extract_all(archive: Path, destination: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(destination)
    except zipfile.BadZipFile as error:
        raise SourceError(f"{archive}: cannot extract ({one_line(str(error))})") from error
    except OSError as error:  # unreadable zip, or a member that cannot be written (full disk)
        raise SourceError(os_failure(error, f"extract {archive}", destination)) from error


def _rename_into_place(release: Path, target: Path) -> None:
    try:
        os.rename(release, target)
    except OSError as error:
        # Another process finished the same extraction first: keep its (identical) copy.
        if not target.is_dir():
            problem = f"{target}: cannot move the extracted release here ({os_reason(error)})"
            raise SourceError(problem) from error
