"""Download one archive into the cache, checksummed, in scikit-learn's `_fetch_remote` style.

The bytes go to `<name>.part_*` in the cache folder while their SHA-256 is computed; only a
matching file is renamed to its final name (atomic on one filesystem). On a mismatch or an
interrupted transfer the part file is deleted, so the cache never holds a bad archive.

Network failures, at connection time or mid-stream (an `IncompleteRead`, a reset, a timeout or
a body shorter than its Content-Length), become `DownloadError`; local ones (a cache that cannot
be written, a full disk) become `SourceError` naming the cache path. Reads and writes are wrapped
apart because both raise `OSError` subclasses (`URLError`, `ssl.SSLError` and `ENOSPC` alike).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from tqdm import tqdm

from jobs.movielens.catalog import RemoteArchive
from jobs.movielens.errors import ChecksumError, SourceError, one_line, os_failure

_BLOCK = 1 << 20


class DownloadError(SourceError):
    """The server could not be reached or answered with an error."""


def download_archive(
    url: str, archive: RemoteArchive, cache_dir: Path, *, timeout: float, progress: bool
) -> Path:
    """Fetch `url` to `cache_dir/<archive.filename>` after checking its SHA-256."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SourceError(os_failure(error, "create folder")) from error
    try:
        return _download_to(url, archive, cache_dir, timeout=timeout, progress=progress)
    except OSError as error:  # network errors are DownloadError by now: this is the local disk
        raise SourceError(os_failure(error, "write the download", cache_dir / archive.filename)) from error


def _download_to(
    url: str, archive: RemoteArchive, cache_dir: Path, *, timeout: float, progress: bool
) -> Path:
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
    """Copy the response body to `sink`, returning its SHA-256; a write error stays an `OSError`."""
    digest = hashlib.sha256()
    with (
        _open(url, timeout) as response,
        tqdm(
            total=expected_size,
            unit="B",
            unit_scale=True,
            desc=url.rsplit("/", 1)[-1],
            disable=not progress,
        ) as bar,
    ):
        while block := _read(response, url):
            digest.update(block)
            sink.write(block)
            bar.update(len(block))
        # http.client's read(n) returns b"" when the server hangs up early, rather than raising
        # IncompleteRead: the bytes still owed by Content-Length tell a drop from the end.
        if missing := getattr(response, "length", None):
            raise DownloadError(f"downloading {url} failed (connection closed with {missing} bytes to go)")
    return digest.hexdigest()


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    try:
        return urllib.request.urlopen(url, timeout=timeout)
    except (OSError, http.client.HTTPException) as error:  # URLError and HTTPError are OSErrors
        raise _failed(url, error) from error


def _read(response: http.client.HTTPResponse, url: str) -> bytes:
    try:
        return response.read(_BLOCK)
    except (OSError, http.client.HTTPException) as error:  # IncompleteRead, reset, timeout, TLS
        raise _failed(url, error) from error


def _failed(url: str, error: BaseException) -> DownloadError:
    reason = error if isinstance(error, urllib.error.HTTPError) else getattr(error, "reason", error)
    text = one_line(str(reason)) or type(reason).__name__
    return DownloadError(f"downloading {url} failed ({text})")
