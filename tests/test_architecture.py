"""What may import what: the layering docs/architecture.md describes, checked on the code itself.

Each package has a floor; a module may import only from its own package and the floors below it.
The local cloud is one backend's business: only the local backend and the `o2v cloud` commands may
import it, so the AWS backend (and everything shared) works without it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"common", "object2vec", "handlers", "localcloud", "jobs", "benchmarks"}
# Which of our packages each package may import (besides itself).
MAY_IMPORT = {
    "common": set(),
    "object2vec": set(),
    "handlers": set(),
    "localcloud": {"common", "object2vec"},
    "jobs": {"common", "object2vec", "handlers", "localcloud"},
}
# The only places in jobs/ that may reach the local cloud.
LOCALCLOUD_IMPORTERS = ("jobs/backends/local/", "jobs/cli/cloud.py")
# Modules that run inside a Lambda function or are zipped beside it: the standard library only.
STDLIB_ONLY = ("handlers/contract.py", "common/")


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    return {name.split(".")[0] for name in names}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_the_floors_below_it(package: str) -> None:
    offences = {
        relative(path): sorted(bad)
        for path in modules(package)
        if (bad := (imported_packages(path) & OURS) - {package} - MAY_IMPORT[package])
    }
    assert not offences


def test_only_the_local_backend_and_the_cloud_commands_import_the_local_cloud() -> None:
    importers = [relative(path) for path in modules("jobs") if "localcloud" in imported_packages(path)]
    assert importers
    assert [name for name in importers if not name.startswith(LOCALCLOUD_IMPORTERS)] == []


@pytest.mark.parametrize("place", STDLIB_ONLY)
def test_shared_contract_modules_use_the_standard_library_only(place: str) -> None:
    paths = [ROOT / place] if place.endswith(".py") else modules(place)
    for path in paths:
        outside = imported_packages(path) - set(sys.stdlib_module_names) - {path.parts[-2]}
        assert not outside, f"{relative(path)} imports {sorted(outside)}"


def test_the_backend_is_chosen_in_one_place() -> None:
    """`open_backend` is the only code that compares a backend's name."""
    choosers = []
    for path in modules("jobs"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(
                isinstance(c, ast.Constant) and c.value in ("local", "aws") for c in node.comparators
            ):
                choosers.append(relative(path))
    assert set(choosers) == {"jobs/backends/__init__.py"}  # one comparison per backend, all there
