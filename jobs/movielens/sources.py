"""Find the MovieLens files: where they come from, in a fixed order, each verified.

Resolution order (the first that applies wins):

1. an explicit source: the `source` argument or `$MOVIELENS_SOURCE`, a folder or a `.zip`;
2. this repository's shared copy, `<repo_root>/../shared/data/<dataset>`, used in place, never
   copied (MovieLens may not be redistributed, so the repository itself never holds it);
3. the cache, `$MOVIELENS_CACHE` or `~/.cache/object2vec-recommender/`: an extracted
   `<dataset>/` folder, else a `<dataset>.zip` to check and extract;
4. a download from GroupLens (`$MOVIELENS_BASE_URL` overrides the server, for tests and
   mirrors), checked against the published SHA-256 before it is extracted into the cache.

An explicit source comes first because a user who names a folder means that folder. A zip is
checked against the release's published SHA-256 before it is extracted, and ml-100k files against
their published per-file SHA-256s wherever they come from, unless `verify=False` (an edited or
re-packed copy on purpose; a cached zip is always checked, as only this code writes it there).
OS errors (an unreadable source, a cache that cannot be written) become one-line `SourceError`s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from jobs.movielens.archives import extract_release, find_release_folder
from jobs.movielens.catalog import DEFAULT_DATASET, GROUPLENS_BASE_URL, KNOWN_FILE_SHA256, dataset_info
from jobs.movielens.checksums import sha256_file, verify_known_files
from jobs.movielens.download import DownloadError, download_archive
from jobs.movielens.errors import ChecksumError, SourceError, os_failure
from jobs.movielens.layouts import LAYOUTS, Layout, expect_layout
from jobs.paths import repo_root

ENV_SOURCE: Final = "MOVIELENS_SOURCE"
ENV_CACHE: Final = "MOVIELENS_CACHE"
ENV_BASE_URL: Final = "MOVIELENS_BASE_URL"

Origin = Literal["explicit", "shared", "cache", "download"]


def default_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`$MOVIELENS_CACHE`, else `~/.cache/object2vec-recommender/` (never inside the repo)."""
    configured = environ.get(ENV_CACHE)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "object2vec-recommender"


def find_shared_copy(dataset: str = DEFAULT_DATASET, root: Path | None = None) -> Path | None:
    """This repository's shared copy of `dataset` (`<root>/../shared/data/<dataset>`), if present."""
    folder = (root or repo_root()).parent / "shared" / "data" / dataset
    ratings_file = LAYOUTS[dataset_info(dataset).layout].ratings_file
    return folder if (folder / ratings_file).is_file() else None


@dataclass(frozen=True)
class SourceSettings:
    """Where to look for and put the data; `from_env` reads the documented variables."""

    cache_dir: Path
    base_url: str = GROUPLENS_BASE_URL
    repo_root: Path | None = field(default_factory=repo_root)  # None: ignore the shared copy
    verify: bool = True
    timeout: float = 60.0
    progress: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> SourceSettings:
        base_url = environ.get(ENV_BASE_URL) or GROUPLENS_BASE_URL
        return cls(cache_dir=default_cache_dir(environ), base_url=base_url.rstrip("/"))


@dataclass(frozen=True)
class ResolvedSource:
    """A verified folder holding one MovieLens release."""

    dataset: str
    folder: Path
    origin: Origin
    layout: Layout
    verified: dict[str, str]  # file name -> SHA-256, for files checked against published sums


def resolve_source(
    dataset: str = DEFAULT_DATASET, source: str | Path | None = None, settings: SourceSettings | None = None
) -> ResolvedSource:
    """Locate (and if needed download and extract) `dataset`; see the module docstring for the order."""
    settings = settings or SourceSettings.from_env()
    info = dataset_info(dataset)
    try:
        folder, origin = _locate(dataset, source, settings)
        layout = expect_layout(folder, info.layout, dataset)
        known = KNOWN_FILE_SHA256.get(dataset, {}) if settings.verify else {}
        verified = verify_known_files(folder, known, dataset)
    except OSError as error:
        # Writes into the cache are reported by archives/download; what is left here is reading.
        raise SourceError(os_failure(error, "read")) from error
    return ResolvedSource(dataset, folder.resolve(), origin, layout, verified)


def _locate(dataset: str, source: str | Path | None, settings: SourceSettings) -> tuple[Path, Origin]:
    explicit = source if source is not None else os.environ.get(ENV_SOURCE) or None
    if explicit is not None:
        return _explicit_folder(Path(explicit).expanduser(), dataset, settings), "explicit"
    if settings.repo_root is not None and (shared := find_shared_copy(dataset, settings.repo_root)):
        return shared, "shared"
    if cached := _cached_folder(dataset, settings):
        return cached, "cache"
    return _download(dataset, settings), "download"


def _explicit_folder(path: Path, dataset: str, settings: SourceSettings) -> Path:
    """A folder is used in place; a zip is extracted into the cache, keyed by its SHA-256."""
    if path.is_dir():
        release = find_release_folder(path, dataset)
        if release is None:
            raise SourceError(
                f"{path}: no MovieLens ratings file in this folder or in its {dataset}/ subfolder"
            )
        return release
    if path.is_file() and path.suffix.lower() == ".zip":
        digest = sha256_file(path)
        if settings.verify:
            _check_archive(path, digest, dataset, "pass --no-verify to use it anyway")
        target = settings.cache_dir / "from-zip" / f"{path.stem}-{digest[:16]}"
        return extract_release(path, target, dataset)
    raise SourceError(f"source {path} is neither a folder nor a .zip file")


def _cached_folder(dataset: str, settings: SourceSettings) -> Path | None:
    """An extracted release in the cache, or one extracted now from a cached, checked zip."""
    folder = settings.cache_dir / dataset
    if find_release_folder(folder, dataset) == folder:
        return folder
    archive = settings.cache_dir / dataset_info(dataset).archive.filename
    if not archive.is_file():
        return None
    _check_archive(archive, sha256_file(archive), dataset, "delete it and retry")
    return extract_release(archive, folder, dataset)


def _check_archive(archive: Path, digest: str, dataset: str, advice: str) -> None:
    """Refuse a zip that is not the published release archive of `dataset`."""
    published = dataset_info(dataset).archive
    if digest != published.sha256:
        raise ChecksumError(
            f"{archive}: SHA-256 {digest} differs from the published {published.sha256} of "
            f"{published.filename}; {advice}"
        )


def _download(dataset: str, settings: SourceSettings) -> Path:
    archive = dataset_info(dataset).archive
    url = f"{settings.base_url}/{archive.filename}"
    if not url.startswith(("https://", "http://")):
        raise SourceError(f"{ENV_BASE_URL} must be an http(s) URL, got {settings.base_url!r}")
    try:
        zip_path = download_archive(
            url, archive, settings.cache_dir, timeout=settings.timeout, progress=settings.progress
        )
    except DownloadError as error:
        raise SourceError(
            f"{dataset} is not available locally and {error}; provide it with --source PATH or "
            f"{ENV_SOURCE}=PATH (a folder or .zip), or connect to the internet to download it"
        ) from error
    return extract_release(zip_path, settings.cache_dir / dataset, dataset)
