"""SHA-256 of files and folders, and verification against published sums."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from jobs.movielens.errors import ChecksumError


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks (hashlib.file_digest) so memory stays flat."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_known_files(folder: Path, known: Mapping[str, str], label: str) -> dict[str, str]:
    """Check every file of `folder` that has a published sum; return the sums computed.

    Files absent from the folder are not an error here (the layout check decides which files are
    required); a present file with a different digest is, and the error names the file.
    """
    computed: dict[str, str] = {}
    for name in sorted(known):
        path = folder / name
        if not path.is_file():
            continue
        digest = sha256_file(path)
        if digest != known[name]:
            raise ChecksumError(
                f"{path}: SHA-256 {digest} differs from the published {label} value {known[name]}"
                " (a corrupt or edited copy: use the original files, or --no-verify to accept edits)"
            )
        computed[name] = digest
    return computed
