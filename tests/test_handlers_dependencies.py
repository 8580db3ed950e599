"""The handlers must run on the Lambda Python runtime: stdlib, boto3/botocore and numpy only."""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
MODULES = sorted(HANDLERS.glob("*.py"))

# Run as a script so that the interpreter under test judges what its own standard library holds.
CHECK_IMPORTS = (
    "import ast, sys, pathlib\n"
    "allowed = set(sys.stdlib_module_names) | {'boto3', 'botocore', 'numpy', 'handlers'}\n"
    "for path in map(pathlib.Path, sys.argv[1:]):\n"
    "    tree = ast.parse(path.read_text(), str(path))\n"
    "    compile(tree, str(path), 'exec')\n"
    "    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}\n"
    "    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}\n"
    "    bad = {name.split('.')[0] for name in names} - allowed\n"
    "    assert not bad, f'{path.name} imports {sorted(bad)}'\n"
)


def assert_imports_allowed(python: str, paths: list[Path]) -> None:
    result = subprocess.run([python, "-c", CHECK_IMPORTS, *map(str, paths)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_handler_modules_import_only_what_lambda_provides(path):
    assert_imports_allowed(sys.executable, [path])


def _python312() -> str | None:
    """A Python 3.12 interpreter (Lambda's runtime), if this machine has one: on PATH or under pyenv."""
    candidates = [
        shutil.which("python3.12"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12"))),
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 12)":
            return candidate
    return None


def test_handlers_compile_and_import_only_stdlib_under_python_312():
    # The local cloud runs the handlers with this venv's Python (3.11); Lambda runs 3.12, whose
    # standard library lost modules (distutils, imp, asynchat...). Compile and check imports there.
    python = _python312()
    if python is None:
        pytest.skip("no Python 3.12 interpreter on this machine")
    assert_imports_allowed(python, MODULES)
