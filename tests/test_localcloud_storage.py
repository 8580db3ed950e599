"""The local cloud's file rules, as unit tests: names become paths in one checked place, and what a
request made durable (extracted code, deletions) is fsynced before it is acknowledged (issue 9,
findings 1, 3 and 11)."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest
from localcloud_support import make_zip

from localcloud.awslambda.code import Package, extract
from localcloud.sagemaker.resources import RecordStore
from localcloud.storage import UnsafeName, below, child


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "..\\x", "a\0b", "x" * 256])
def test_child_refuses_anything_but_one_plain_segment(tmp_path: Path, name: str):
    with pytest.raises(UnsafeName):
        child(tmp_path, name)


@pytest.mark.parametrize(
    "relative", ["../escaped.txt", "a/../../b", "/etc/passwd", "a//b", "a/./b", "train/", ""]
)
def test_below_refuses_keys_that_leave_the_folder(tmp_path: Path, relative: str):
    with pytest.raises(UnsafeName):
        below(tmp_path, relative)


def test_below_keeps_plain_keys(tmp_path: Path):
    assert below(tmp_path, "part-1/data.jsonl") == tmp_path / "part-1" / "data.jsonl"
    assert below(tmp_path, "..hidden/x") == tmp_path / "..hidden" / "x"  # ".." inside a name is a name


def synced_paths(call) -> set[str]:
    """The paths whose file descriptors were fsynced while `call` ran."""
    synced: set[str] = set()
    real = os.fsync

    def recording(fd: int) -> None:
        synced.add(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    with mock.patch("os.fsync", recording):
        call()
    return synced


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name file descriptors")
def test_extracted_code_is_fsynced_before_it_is_renamed_into_place(tmp_path: Path):
    package = Package(make_zip({"app.py": "x = 1\n", "lib/util.py": "y = 2\n"}))
    synced = synced_paths(lambda: extract(package, tmp_path))
    # The files were synced under their temporary folder, before the rename made them visible.
    assert {Path(p).name for p in synced} >= {"app.py", "util.py"}
    assert (tmp_path / package.sha256_hex / "lib" / "util.py").read_text() == "y = 2\n"


def test_a_deleted_record_is_gone_after_a_crash_too(tmp_path: Path):
    store = RecordStore(tmp_path / "models")
    store.put("m", {"ModelName": "m"})
    with mock.patch("localcloud.sagemaker.resources.fsync_dir") as fsync_dir:
        store.delete("m")
    fsync_dir.assert_called_once_with(tmp_path / "models")
    assert not (tmp_path / "models" / "m.json").exists()
    with pytest.raises(UnsafeName):
        store.put("../outside", {"ModelName": "x"})
