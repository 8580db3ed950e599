"""Where the data comes from: explicit folder or zip, the shared copy, the cache, a checksummed
download (served by a local http.server), and a one-line error when offline."""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import http.client
import http.server
import os
import urllib.error
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from localcloud_support import serving
from movielens_fixtures import FIXTURES, zip_release

from jobs.movielens import (
    DATASETS,
    ChecksumError,
    DataError,
    DatasetInfo,
    LayoutError,
    RemoteArchive,
    SourceError,
    SourceSettings,
    find_shared_copy,
    resolve_source,
)
from jobs.movielens import download as download_module

pytestmark = pytest.mark.usefixtures("isolated_movielens_env")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Server:
    base_url: str
    root: Path
    requests: list[str]


@pytest.fixture
def grouplens(tmp_path: Path) -> Iterator[Server]:
    """A local stand-in for files.grouplens.org serving zips built from the fixture folders."""
    root = tmp_path / "served"
    root.mkdir()
    zip_release(FIXTURES / "csv", root / "ml-latest-small.zip", "ml-latest-small")
    zip_release(FIXTURES / "ml-100k", root / "ml-100k.zip", "ml-100k")
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    with serving(functools.partial(Handler, directory=str(root))) as base_url:
        yield Server(base_url, root, requests)


def trust_zip(monkeypatch: pytest.MonkeyPatch, archive: Path, dataset: str) -> None:
    """Make the catalog publish `archive`'s digest for `dataset`, as if GroupLens had packed it."""
    info = DATASETS[dataset]
    remote = RemoteArchive(info.archive.filename, sha256(archive), archive.stat().st_size)
    monkeypatch.setitem(DATASETS, dataset, DatasetInfo(info.name, info.layout, remote))


def trust_served_zip(monkeypatch: pytest.MonkeyPatch, server: Server, dataset: str) -> str:
    """Make the catalog expect the served zip's digest (the real digest is GroupLens')."""
    archive = server.root / f"{dataset}.zip"
    trust_zip(monkeypatch, archive, dataset)
    return sha256(archive)


def test_explicit_folder_is_used_in_place(offline_settings: SourceSettings) -> None:
    resolved = resolve_source("ml-1m", FIXTURES / "ml-1m", offline_settings)
    assert (resolved.origin, resolved.folder, resolved.layout.name) == (
        "explicit",
        FIXTURES / "ml-1m",
        "ml-1m",
    )
    assert not offline_settings.cache_dir.exists()


def test_explicit_source_from_the_environment(offline_settings: SourceSettings, monkeypatch) -> None:
    monkeypatch.setenv("MOVIELENS_SOURCE", str(FIXTURES / "csv"))
    resolved = resolve_source("ml-latest-small", None, offline_settings)
    assert (resolved.origin, resolved.folder) == ("explicit", FIXTURES / "csv")


def test_explicit_parent_folder_holding_the_release(tmp_path: Path, offline_settings: SourceSettings) -> None:
    parent = tmp_path / "downloads"
    zip_release(FIXTURES / "ml-1m", tmp_path / "x.zip", "ml-1m")
    with zipfile.ZipFile(tmp_path / "x.zip") as bundle:
        bundle.extractall(parent)
    assert resolve_source("ml-1m", parent, offline_settings).folder == parent / "ml-1m"


def test_explicit_zip_is_extracted_into_the_cache(tmp_path: Path, offline_settings: SourceSettings) -> None:
    archive = zip_release(FIXTURES / "csv", tmp_path / "my-copy.zip", "ml-latest-small")
    first = resolve_source("ml-latest-small", archive, offline_settings)
    assert first.origin == "explicit"
    assert first.folder.parent == (offline_settings.cache_dir / "from-zip").resolve()
    assert (first.folder / "movies.csv").read_bytes() == (FIXTURES / "csv" / "movies.csv").read_bytes()
    assert resolve_source("ml-latest-small", archive, offline_settings).folder == first.folder
    assert [p.name for p in first.folder.parent.iterdir()] == [first.folder.name]  # no scratch left


def test_explicit_path_must_be_a_folder_or_zip(tmp_path: Path, offline_settings: SourceSettings) -> None:
    other = tmp_path / "ratings.txt"
    other.write_text("1\n")
    with pytest.raises(SourceError, match=r"is neither a folder nor a \.zip file"):
        resolve_source("ml-100k", other, offline_settings)


def test_layout_must_match_the_dataset(offline_settings: SourceSettings) -> None:
    with pytest.raises(LayoutError, match=r"holds the csv layout .* but dataset ml-1m uses the ml-1m layout"):
        resolve_source("ml-1m", FIXTURES / "csv", offline_settings)


def test_unknown_dataset(offline_settings: SourceSettings) -> None:
    with pytest.raises(DataError, match="unknown dataset 'ml-7k'"):
        resolve_source("ml-7k", None, offline_settings)


def test_cache_hit_needs_no_network(layout_copy, offline_settings: SourceSettings) -> None:
    cached = offline_settings.cache_dir / "ml-1m"
    cached.parent.mkdir(parents=True)
    layout_copy("ml-1m").rename(cached)
    resolved = resolve_source("ml-1m", None, offline_settings)  # the download URL is a closed port
    assert (resolved.origin, resolved.folder) == ("cache", cached.resolve())


def test_cached_zip_is_checked_then_extracted(
    grouplens: Server, monkeypatch, offline_settings: SourceSettings
) -> None:
    trust_served_zip(monkeypatch, grouplens, "ml-latest-small")
    offline_settings.cache_dir.mkdir(parents=True)
    (offline_settings.cache_dir / "ml-latest-small.zip").write_bytes(
        (grouplens.root / "ml-latest-small.zip").read_bytes()
    )
    resolved = resolve_source("ml-latest-small", None, offline_settings)
    assert resolved.origin == "cache"
    assert resolved.folder == (offline_settings.cache_dir / "ml-latest-small").resolve()


def test_download_with_a_correct_checksum(
    grouplens: Server, monkeypatch, offline_settings: SourceSettings
) -> None:
    trust_served_zip(monkeypatch, grouplens, "ml-latest-small")
    settings = dataclasses.replace(offline_settings, base_url=grouplens.base_url)
    resolved = resolve_source("ml-latest-small", None, settings)
    cache = settings.cache_dir
    assert resolved.origin == "download"
    assert resolved.folder == (cache / "ml-latest-small").resolve()
    assert sorted(p.name for p in cache.iterdir()) == ["ml-latest-small", "ml-latest-small.zip"]  # no .part
    assert grouplens.requests == ["/ml-latest-small.zip"]
    assert resolve_source("ml-latest-small", None, settings).origin == "cache"
    assert grouplens.requests == ["/ml-latest-small.zip"]  # the second call did not download


def test_download_base_url_from_the_environment(grouplens: Server, monkeypatch, tmp_path: Path) -> None:
    trust_served_zip(monkeypatch, grouplens, "ml-latest-small")
    monkeypatch.setenv("MOVIELENS_BASE_URL", grouplens.base_url + "/")
    settings = dataclasses.replace(SourceSettings.from_env(), repo_root=None)
    assert settings.cache_dir == tmp_path / "env-cache"
    assert resolve_source("ml-latest-small", None, settings).origin == "download"


def test_download_with_a_wrong_checksum_removes_the_part_file(
    grouplens: Server, offline_settings: SourceSettings
) -> None:
    settings = dataclasses.replace(offline_settings, base_url=grouplens.base_url)
    served = sha256(grouplens.root / "ml-latest-small.zip")
    published = DATASETS["ml-latest-small"].archive.sha256
    with pytest.raises(ChecksumError) as caught:
        resolve_source("ml-latest-small", None, settings)
    message = str(caught.value)
    assert served in message
    assert published in message
    assert "\n" not in message
    assert list(settings.cache_dir.iterdir()) == []  # neither the .part file nor an extracted folder


def test_downloaded_ml100k_files_are_checked_one_by_one(
    grouplens: Server, monkeypatch, offline_settings: SourceSettings
) -> None:
    """The zip's digest is trusted here, but its files are not the published ml-100k files."""
    trust_served_zip(monkeypatch, grouplens, "ml-100k")
    settings = dataclasses.replace(offline_settings, base_url=grouplens.base_url, verify=True)
    with pytest.raises(
        ChecksumError, match=r"u\.data: SHA-256 [0-9a-f]{64} differs from the published ml-100k"
    ):
        resolve_source("ml-100k", None, settings)


def test_offline_failure_says_how_to_provide_the_data(offline_settings: SourceSettings) -> None:
    with pytest.raises(SourceError) as caught:
        resolve_source("ml-20m", None, offline_settings)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("ml-20m is not available locally and downloading http://127.0.0.1:")
    assert "--source PATH or MOVIELENS_SOURCE=PATH" in message
    assert "connect to the internet" in message
    assert not any(offline_settings.cache_dir.glob("*.part*"))


def test_http_error_is_reported(grouplens: Server, offline_settings: SourceSettings) -> None:
    settings = dataclasses.replace(offline_settings, base_url=grouplens.base_url)
    with pytest.raises(SourceError, match="HTTP Error 404"):
        resolve_source("ml-25m", None, settings)


def shared_layout(tmp_path: Path, layout_copy) -> Path:
    """A fake checkout: <tmp>/repo beside <tmp>/shared/data/ml-100k holding the fixture files."""
    (tmp_path / "repo").mkdir()
    shared = tmp_path / "shared" / "data" / "ml-100k"
    shared.parent.mkdir(parents=True)
    layout_copy("ml-100k").rename(shared)
    return tmp_path / "repo"


def test_shared_copy_beside_the_repository_is_used_in_place(
    tmp_path: Path, layout_copy, offline_settings: SourceSettings
) -> None:
    repo = shared_layout(tmp_path, layout_copy)
    assert find_shared_copy("ml-100k", repo) == tmp_path / "shared" / "data" / "ml-100k"
    assert find_shared_copy("ml-1m", repo) is None
    settings = dataclasses.replace(offline_settings, repo_root=repo)
    resolved = resolve_source("ml-100k", None, settings)
    assert (resolved.origin, resolved.folder) == (
        "shared",
        (tmp_path / "shared" / "data" / "ml-100k").resolve(),
    )
    assert not settings.cache_dir.exists()  # never copied


def test_explicit_source_wins_over_the_shared_copy(
    tmp_path: Path, layout_copy, offline_settings: SourceSettings
) -> None:
    settings = dataclasses.replace(offline_settings, repo_root=shared_layout(tmp_path, layout_copy))
    assert resolve_source("ml-100k", FIXTURES / "ml-100k", settings).origin == "explicit"


def test_edited_shared_copy_fails_its_checksum(
    tmp_path: Path, layout_copy, offline_settings: SourceSettings
) -> None:
    settings = dataclasses.replace(
        offline_settings, repo_root=shared_layout(tmp_path, layout_copy), verify=True
    )
    with pytest.raises(ChecksumError, match=r"u\.data: SHA-256 .* differs from the published ml-100k value"):
        resolve_source("ml-100k", None, settings)


def test_real_shared_copy_matches_every_published_sum(ml100k_dir: Path) -> None:
    resolved = resolve_source("ml-100k")
    assert (resolved.origin, resolved.folder) == ("shared", ml100k_dir)
    assert len(resolved.verified) == 21
    assert resolved.verified["u.data"] == "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"


def test_zip_without_a_top_folder(tmp_path: Path, offline_settings: SourceSettings) -> None:
    archive = tmp_path / "flat.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted((FIXTURES / "ml-1m").iterdir()):
            bundle.write(path, path.name)
    resolved = resolve_source("ml-1m", archive, offline_settings)
    assert sorted(p.name for p in resolved.folder.iterdir()) == ["movies.dat", "ratings.dat"]


def test_zip_of_the_real_ml100k_is_verified_file_by_file(
    tmp_path: Path, ml100k_dir: Path, offline_settings: SourceSettings, monkeypatch
) -> None:
    archive = zip_release(ml100k_dir, tmp_path / "ml-100k.zip", "ml-100k")  # in tmp only, never the repo
    trust_zip(monkeypatch, archive, "ml-100k")  # a re-packed zip has other bytes than GroupLens' own
    resolved = resolve_source("ml-100k", archive, dataclasses.replace(offline_settings, verify=True))
    assert len(resolved.verified) == 21


def test_explicit_zip_is_checked_before_it_is_extracted(
    tmp_path: Path, offline_settings: SourceSettings
) -> None:
    archive = zip_release(FIXTURES / "ml-1m", tmp_path / "ml-1m.zip", "ml-1m")
    with pytest.raises(ChecksumError) as caught:
        resolve_source("ml-1m", archive, dataclasses.replace(offline_settings, verify=True))
    assert str(caught.value) == (
        f"{archive}: SHA-256 {sha256(archive)} differs from the published "
        f"{DATASETS['ml-1m'].archive.sha256} of ml-1m.zip; pass --no-verify to use it anyway"
    )
    assert not offline_settings.cache_dir.exists()  # nothing extracted
    assert resolve_source("ml-1m", archive, offline_settings).origin == "explicit"  # verify=False


def test_explicit_zip_matching_the_published_digest_is_accepted(
    tmp_path: Path, offline_settings: SourceSettings, monkeypatch
) -> None:
    archive = zip_release(FIXTURES / "ml-1m", tmp_path / "ml-1m.zip", "ml-1m")
    trust_zip(monkeypatch, archive, "ml-1m")
    resolved = resolve_source("ml-1m", archive, dataclasses.replace(offline_settings, verify=True))
    assert (resolved.origin, resolved.layout.name) == ("explicit", "ml-1m")


def test_not_a_zip(tmp_path: Path, offline_settings: SourceSettings) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(SourceError, match=r"broken\.zip: cannot extract"):
        resolve_source("ml-1m", archive, offline_settings)
    assert [p.name for p in (offline_settings.cache_dir / "from-zip").iterdir()] == []


def test_cache_that_cannot_be_created_is_one_line(
    tmp_path: Path, offline_settings: SourceSettings, uncreatable_folder: Path
) -> None:
    archive = zip_release(FIXTURES / "ml-1m", tmp_path / "x.zip", "ml-1m")
    settings = dataclasses.replace(offline_settings, cache_dir=uncreatable_folder)
    with pytest.raises(SourceError) as caught:
        resolve_source("ml-1m", archive, settings)
    assert str(caught.value) == f"{settings.cache_dir / 'from-zip'}: cannot create folder (Not a directory)"


def test_download_into_a_cache_that_cannot_be_created(
    grouplens: Server, monkeypatch, offline_settings: SourceSettings, uncreatable_folder: Path
) -> None:
    trust_served_zip(monkeypatch, grouplens, "ml-latest-small")
    cache = uncreatable_folder
    settings = dataclasses.replace(offline_settings, base_url=grouplens.base_url, cache_dir=cache)
    with pytest.raises(SourceError, match=rf"^{cache}: cannot create folder \(Not a directory\)$"):
        resolve_source("ml-latest-small", None, settings)


def test_full_disk_during_a_download(
    grouplens: Server, monkeypatch, offline_settings: SourceSettings
) -> None:
    def full_disk(*_args: object, **_kwargs: object) -> str:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(download_module, "_stream", full_disk)
    settings = dataclasses.replace(offline_settings, base_url=grouplens.base_url)
    expected = (
        f"{settings.cache_dir / 'ml-latest-small.zip'}: cannot write the download (No space left on device)"
    )
    with pytest.raises(SourceError) as caught:
        resolve_source("ml-latest-small", None, settings)
    assert str(caught.value) == expected
    assert list(settings.cache_dir.iterdir()) == []  # the part file is gone


@pytest.fixture
def hanging_up(tmp_path: Path) -> Iterator[str]:
    """A server promising 100,000 bytes that sends 10, then closes the connection."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"PK" + b"\0" * 8)
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as base_url:
        yield base_url


def test_connection_dropped_mid_download(hanging_up: str, offline_settings: SourceSettings) -> None:
    settings = dataclasses.replace(offline_settings, base_url=hanging_up)
    with pytest.raises(SourceError) as caught:
        resolve_source("ml-latest-small", None, settings)
    message = str(caught.value)
    assert "ml-latest-small.zip failed (connection closed with 99990 bytes to go)" in message
    assert "\n" not in message
    assert list(settings.cache_dir.iterdir()) == []


class BrokenResponse:
    """A response whose body fails after the first block, the way a dropped transfer does."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.blocks = 0

    def __enter__(self) -> BrokenResponse:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    def read(self, _size: int) -> bytes:
        self.blocks += 1
        if self.blocks > 1:
            raise self.error
        return b"PK\x03\x04"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (http.client.IncompleteRead(b"PK", 4096), "IncompleteRead(2 bytes read, 4096 more expected)"),
        (urllib.error.URLError(ConnectionResetError(104, "Connection reset by peer")), "Connection reset"),
        (TimeoutError("timed out"), "timed out"),
    ],
)
def test_failure_mid_stream_is_one_line(
    error: BaseException, reason: str, monkeypatch, offline_settings: SourceSettings
) -> None:
    monkeypatch.setattr(download_module.urllib.request, "urlopen", lambda *_a, **_k: BrokenResponse(error))
    with pytest.raises(SourceError) as caught:
        resolve_source("ml-latest-small", None, offline_settings)
    message = str(caught.value)
    assert message.startswith("ml-latest-small is not available locally and downloading http://127.0.0.1:")
    assert reason in message
    assert "\n" not in message
    assert list(offline_settings.cache_dir.iterdir()) == []
