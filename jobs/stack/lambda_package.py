"""The Lambda deployment package: handlers/ zipped as the `handlers` package.

The zip is deterministic (sorted entries, fixed timestamps and modes), so the same code always
gives the same bytes, and so the same CodeSha256: redeploying unchanged code changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

from jobs.paths import HANDLERS_DIR

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold


def build_handlers_zip(source: Path = HANDLERS_DIR) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.glob("*.py")):
            entry = zipfile.ZipInfo(f"{source.name}/{path.name}", date_time=_EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())
    return buffer.getvalue()


def code_sha256(package: bytes) -> str:
    """The digest Lambda reports as CodeSha256 (base64 of the SHA-256)."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode()
