"""Download one archive into the cache, checksummed, in scikit-learn's `_fetch_remote` style.

The bytes go to `<name>.part_*` in the cache folder while their SHA-256 is computed; only a
matching file is renamed to its final name (atomic on one filesystem). On a mismatch or an
interrupted transfer the part file is deleted, so the cache never holds a bad archive.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from tqdm import tqdm

from jobs.movielens.catalog import RemoteArchive
from jobs.movielens.errors import ChecksumError, SourceError

_BLOCK = 1 << 20


class DownloadError(SourceError):
    """The server could not be reached or answered with an error."""


def download_archive(
    url: str, archive: RemoteArchive, cache_dir: Path, *, timeout: float, progress: bool
) -> Path:
    """Fetch `url` to `cache_dir/<archive.filename>` after checking its SHA-256."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, part_name = tempfile.mkstemp(prefix=f"{archive.filename}.part_", dir=cache_dir)
    part = Path(part_name)
    try:
        with os.fdopen(fd, "wb") as sink:
            digest = _stream(url, sink, archive.size, timeout=timeout, progress=progress)
        if digest != archive.sha256:
            raise ChecksumError(
                f"SHA-256 of {archive.filename} downloaded from {url} is {digest}, expected {archive.sha256};"
                " the partial file was removed"
            )
        final = cache_dir / archive.filename
        os.replace(part, final)
        return final
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _stream(url: str, sink: IO[bytes], expected_size: int, *, timeout: float, progress: bool) -> str:
    """Copy the response body to `sink`, returning its SHA-256."""
    digest = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(url, timeout=timeout) as response,
            tqdm(
                total=expected_size,
                unit="B",
                unit_scale=True,
                desc=url.rsplit("/", 1)[-1],
                disable=not progress,
            ) as bar,
        ):
            while block := response.read(_BLOCK):
                digest.update(block)
                sink.write(block)
                bar.update(len(block))
    except urllib.error.HTTPError as error:
        raise DownloadError(f"downloading {url} failed ({_one_line(str(error))})") from error
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"downloading {url} failed ({_one_line(str(reason))})") from error
    return digest.hexdigest()


def _one_line(text: str) -> str:
    return " ".join(text.split())
