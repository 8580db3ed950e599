"""The numpy layer for the functions' Lambda runtime, built without Docker.

pip downloads the manylinux wheels of the target runtime and architecture (`--platform`,
`--python-version`, `--implementation cp`, `--only-binary=:all:`: nothing is compiled, so the host's
Python and OS do not matter) into `python/`, the folder Lambda puts on `sys.path` (as /opt/python).
The zip is deterministic: entries sorted, one fixed timestamp and mode, no bytecode. The same inputs
give the same bytes, so Terraform's `source_code_hash` sees no change and publishes no new version.
Built zips are cached under a name derived from those inputs.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jobs.stack.errors import StackError

DISTRIBUTION = "object2vec-recommender"
# Bump when the way a layer is built changes, so cached zips of the old recipe are not reused.
RECIPE = 1
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
# The python3.12 and python3.13 runtimes run on Amazon Linux 2023 (glibc 2.34): manylinux_2_28
# wheels load there, and numpy >= 2.3 publishes no older tag. manylinux2014 covers older pins.
_PLATFORMS = {
    "x86_64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
    "arm64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
}
_RUNTIMES = ("python3.11", "python3.12", "python3.13")
# Installed alongside the packages but never imported from a layer.
_DROPPED = ("bin", "__pycache__")


def pinned_requirement(package: str = "numpy") -> str:
    """The project's own pin of `package` (pyproject.toml), e.g. `numpy==2.4.6`."""
    for requirement in importlib.metadata.requires(DISTRIBUTION) or []:
        name = requirement.split(";")[0].split("==")[0].strip().lower()
        if name == package and "==" in requirement and "extra ==" not in requirement:
            return requirement.split(";")[0].strip()
    raise StackError(f"{DISTRIBUTION} pins no exact version of {package} (pyproject.toml dependencies)")


@dataclass(frozen=True)
class LayerSpec:
    """What a layer is built from: these fields (and RECIPE) are the cache key."""

    runtime: str = "python3.12"
    architecture: str = "x86_64"
    requirements: tuple[str, ...] = field(default_factory=lambda: (pinned_requirement("numpy"),))

    def __post_init__(self) -> None:
        if self.runtime not in _RUNTIMES:
            raise StackError(f"layer runtime {self.runtime!r} is not one of {', '.join(_RUNTIMES)}")
        if self.architecture not in _PLATFORMS:
            raise StackError(f"layer architecture {self.architecture!r} is not one of x86_64, arm64")

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def key(self) -> str:
        inputs = json.dumps({**asdict(self), "recipe": RECIPE}, sort_keys=True)
        return hashlib.sha256(inputs.encode()).hexdigest()[:16]

    @property
    def filename(self) -> str:
        return f"layer-{self.runtime}-{self.architecture}-{self.key}.zip"


def build_layer(
    spec: LayerSpec, cache_dir: Path, *, pip: Sequence[str] | None = None, rebuild: bool = False
) -> Path:
    """The layer zip for `spec`, from `cache_dir` if it was built before, else built now."""
    target = cache_dir / spec.filename
    if target.is_file() and not rebuild:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".layer-", dir=cache_dir) as scratch:
        site = Path(scratch) / "python"
        _pip_install(spec, site, pip or (sys.executable, "-m", "pip"))
        for name in _DROPPED:
            for path in sorted(site.rglob(name), reverse=True):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        partial = Path(scratch) / "layer.zip"
        write_deterministic_zip(Path(scratch), ["python"], partial)
        os.replace(partial, target)  # a half-written zip never has the cached name
    return target


def _pip_install(spec: LayerSpec, site: Path, pip: Sequence[str]) -> None:
    platforms = [argument for tag in _PLATFORMS[spec.architecture] for argument in ("--platform", tag)]
    command = [
        *pip,
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # bytecode would differ per build, and Lambda compiles what it imports
        "--target",
        str(site),
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        spec.python_version,
        "--only-binary=:all:",
        *spec.requirements,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
        reason = errors[0] if errors else (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise StackError(
            f"cannot build the {spec.runtime}/{spec.architecture} layer for "
            f"{' '.join(spec.requirements)}: {reason}"
        )


def write_deterministic_zip(base: Path, folders: Sequence[str], target: Path) -> None:
    """Zip `folders` (relative to `base`) with sorted entries, one timestamp, one mode per kind."""
    files = {
        path.relative_to(base).as_posix(): path
        for folder in folders
        for path in (base / folder).rglob("*")
        if path.is_file()
    }
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, path in sorted(files.items()):
            entry = zipfile.ZipInfo(name, date_time=_EPOCH)
            entry.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes(), compresslevel=6)


def sha256_base64(path: Path) -> str:
    """What Terraform's `filebase64sha256` gives and Lambda reports as CodeSha256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()
