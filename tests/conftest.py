"""Shared fixtures: the tiny per-layout fixture folders, the shared ml-100k copy (and its channels),
offline settings, a folder that cannot be created, and a running local cloud per test module."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from localcloud_support import Cloud, free_ports, running_cloud
from movielens_fixtures import FIXTURES

from jobs.channels import PrepareConfig, write_channels
from jobs.movielens import MovieLens, SourceSettings, find_shared_copy, load_movielens

# Tests never reach real AWS. boto3 clients need a region; credentials are dummies so nothing can
# be signed for a real account even by mistake. Set before any test module is imported.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def ml100k_dir() -> Path:
    """The repository's shared ml-100k copy, found by the product's own detection function.

    Skips when it is absent, unless REQUIRE_SHARED_DATA=1 (CI), where absence is a failure.
    """
    folder = find_shared_copy("ml-100k")
    if folder is None:
        message = "shared ml-100k copy not found beside the repository (../shared/data/ml-100k)"
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="module")
def ml100k(ml100k_dir: Path) -> MovieLens:
    return load_movielens("ml-100k", ml100k_dir)


@pytest.fixture(scope="module")
def ml100k_out(ml100k: MovieLens, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All tasks x both protocols of the real ml-100k, written once per test module."""
    out = tmp_path_factory.mktemp("channels")
    write_channels(ml100k, PrepareConfig(out_dir=out))
    return out


@pytest.fixture
def layout_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture layout folder (ml-100k, ml-1m, csv) into tmp_path, to corrupt or zip it."""

    def copy(layout: str) -> Path:
        target = tmp_path / "data" / layout
        shutil.copytree(FIXTURES / layout, target)
        return target

    return copy


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connecting fails at once, like being offline."""
    return free_ports(1)[0]


@pytest.fixture
def offline_settings(tmp_path: Path, closed_port: int) -> SourceSettings:
    """No shared copy, an empty cache in tmp_path, and a download server that is not there."""
    return SourceSettings(
        cache_dir=tmp_path / "cache",
        base_url=f"http://127.0.0.1:{closed_port}",
        repo_root=None,
        verify=False,
        timeout=5,
    )


@pytest.fixture
def isolated_movielens_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The user's MovieLens cache and variables are out of reach, and downloads go to 127.0.0.1.

    Request it with `pytestmark = pytest.mark.usefixtures("isolated_movielens_env")`.
    """
    monkeypatch.delenv("MOVIELENS_SOURCE", raising=False)
    monkeypatch.setenv("MOVIELENS_CACHE", str(tmp_path / "env-cache"))
    monkeypatch.setenv("MOVIELENS_BASE_URL", "http://127.0.0.1:9")  # discard port: fails fast if ever used


@pytest.fixture
def uncreatable_folder(tmp_path: Path) -> Path:
    """A folder path that cannot be created, even by root (chmod would not stop root): its parent
    `tmp_path/afile` is a regular file."""
    (tmp_path / "afile").write_text("not a folder\n")
    return tmp_path / "afile" / "sub"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A started local cloud of the test module's own."""
    yield from running_cloud(tmp_path_factory)
