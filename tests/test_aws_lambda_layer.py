"""The numpy layer: built with pip's manylinux wheels (no Docker), byte-for-byte reproducible, cached,
and importable by Python 3.12 (the functions' runtime) with nothing but the layer on its path."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from jobs.backends.aws.lambda_layer import LayerSpec, build_layer, sha256_base64, write_deterministic_zip
from jobs.stack.errors import StackError


def _python312() -> str | None:
    """A working Python 3.12 (a pyenv shim may exist and still refuse to run)."""
    candidates = [
        *sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12")),
        shutil.which("python3.12"),
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run([str(candidate), "-c", "import sys; print(sys.version_info[:2])"], **_QUIET)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 12)":
            return str(candidate)
    return None


_QUIET = {"capture_output": True, "text": True, "check": False}
PYTHON312 = _python312()


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layer(LayerSpec(), tmp_path_factory.mktemp("layers"))


@pytest.mark.slow
def test_layer_holds_numpy_for_the_runtime_under_python(layer: Path) -> None:
    with zipfile.ZipFile(layer) as archive:
        names = archive.namelist()
        infos = archive.infolist()
    assert names == sorted(names)
    assert all(name.startswith("python/") for name in names)
    assert "python/numpy/__init__.py" in names
    assert any(
        name.startswith("python/numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu") for name in names
    )
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.slow
def test_layer_is_reproducible_and_cached(layer: Path, tmp_path: Path) -> None:
    again = build_layer(LayerSpec(), tmp_path)  # a fresh build elsewhere: the same bytes
    assert again.read_bytes() == layer.read_bytes()
    assert sha256_base64(again) == sha256_base64(layer)
    stamp = again.stat().st_mtime_ns
    assert build_layer(LayerSpec(), tmp_path) == again  # cached: not rebuilt
    assert again.stat().st_mtime_ns == stamp
    assert [path.name for path in tmp_path.iterdir()] == [again.name]  # no scratch left behind


@pytest.mark.slow
@pytest.mark.skipif(
    not os.access(PYTHON312, os.X_OK), reason="Python 3.12 (the Lambda runtime) is not installed"
)
def test_python312_imports_numpy_from_the_layer_alone(layer: Path, tmp_path: Path) -> None:
    opt = tmp_path / "opt"  # Lambda unpacks layers into /opt; /opt/python is on sys.path
    with zipfile.ZipFile(layer) as archive:
        archive.extractall(opt)
    for path in (opt / "python").rglob("*.so"):
        path.chmod(0o755)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import numpy; "
        "print(numpy.__version__, numpy.__file__.startswith(sys.argv[1]), numpy.linalg.norm([3.0, 4.0]))"
    )
    # -I: isolated (no user site, no PYTHON* variables); -S: no site-packages at all.
    assert PYTHON312 is not None
    result = subprocess.run(
        [PYTHON312, "-I", "-S", "-c", script, str(opt / "python")],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert result.returncode == 0, result.stderr
    version, from_layer, norm = result.stdout.split()
    assert version == LayerSpec().requirements[0].split("==")[1]
    assert from_layer == "True"
    assert norm == "5.0"


def test_deterministic_zip_ignores_file_times(tmp_path: Path) -> None:
    for stamp in (1_000_000_000, 1_700_000_000):
        folder = tmp_path / str(stamp) / "python" / "pkg"
        folder.mkdir(parents=True)
        for name in ("b.py", "a.py"):
            (folder / name).write_text(f"# {name}\n")
            os.utime(folder / name, (stamp, stamp))
        write_deterministic_zip(tmp_path / str(stamp), ["python"], tmp_path / f"{stamp}.zip")
    first, second = (tmp_path / "1000000000.zip").read_bytes(), (tmp_path / "1700000000.zip").read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "1000000000.zip") as archive:
        assert archive.namelist() == ["python/pkg/a.py", "python/pkg/b.py"]


def test_spec_key_follows_every_input() -> None:
    base = LayerSpec()
    assert LayerSpec().filename == base.filename
    others = [
        LayerSpec(architecture="arm64"),
        LayerSpec(runtime="python3.13"),
        LayerSpec(requirements=("numpy==2.4.5",)),
    ]
    assert len({base.key, *(spec.key for spec in others)}) == 4


def test_bad_spec_is_one_line() -> None:
    with pytest.raises(StackError, match="layer architecture 'amd64' is not one of x86_64, arm64"):
        LayerSpec(architecture="amd64")
    with pytest.raises(StackError, match=r"layer runtime 'python3\.9' is not one of"):
        LayerSpec(runtime="python3.9")


@pytest.mark.slow
def test_an_unbuildable_requirement_names_it(tmp_path: Path) -> None:
    spec = LayerSpec(requirements=("numpy==0.0.1",))
    with pytest.raises(
        StackError, match=r"cannot build the python3\.12/x86_64 layer for numpy==0\.0\.1: ERROR"
    ):
        build_layer(spec, tmp_path)
    assert list(tmp_path.iterdir()) == []
