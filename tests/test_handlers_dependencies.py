"""The handlers must run on the Lambda Python runtime: stdlib, boto3/botocore and numpy only."""

import ast
import sys
from pathlib import Path

import pytest

HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
ALLOWED = set(sys.stdlib_module_names) | {"boto3", "botocore", "numpy", "handlers"}


@pytest.mark.parametrize("path", sorted(HANDLERS.glob("*.py")), ids=lambda p: p.name)
def test_handler_modules_import_only_what_lambda_provides(path):
    tree = ast.parse(path.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    roots = {name.split(".")[0] for name in imported}
    assert roots <= ALLOWED, f"{path.name} imports {sorted(roots - ALLOWED)}"
