"""The terraform runner against the real `terraform` binary, on a provider-free fixture module of
built-in `terraform_data` resources (no provider download): init, apply, outputs, a failure, destroy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jobs.backends.aws.terraform import Changes, Diagnostic, Terraform, TerraformError, find_binary

FIXTURE = Path(__file__).parent / "fixtures" / "terraform_runner"

needs_terraform = pytest.mark.skipif(
    shutil.which("terraform") is None, reason="no terraform binary on PATH (the runner's real tests need one)"
)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    target = tmp_path / "module"
    shutil.copytree(FIXTURE, target)
    return target


@needs_terraform
@pytest.mark.slow
def test_init_apply_output_and_destroy(workdir: Path) -> None:
    lines: list[str] = []
    terraform = Terraform(workdir, log=lines.append)

    terraform.init()
    assert terraform.output() == {}  # no state yet
    first = terraform.apply(variables={"greeting": "hi"})
    assert first == Changes(add=2)
    assert any("terraform_data.second: Creation complete" in line for line in lines), lines
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in lines
    assert terraform.output() == {"greeting": "hi", "both": ["hi", "hi again"]}

    assert terraform.plan(variables={"greeting": "hi"}) == Changes()  # converged: nothing to do
    assert not terraform.apply(variables={"greeting": "hi"}).any

    assert terraform.destroy(variables={"greeting": "hi"}) == Changes(remove=2)
    assert terraform.output() == {}
    assert terraform.destroy().remove == 0  # a second destroy is a no-op


@needs_terraform
@pytest.mark.slow
def test_a_failed_apply_is_one_line_with_the_diagnostic(workdir: Path) -> None:
    lines: list[str] = []
    terraform = Terraform(workdir, log=lines.append)
    terraform.init()

    with pytest.raises(TerraformError) as failure:
        terraform.apply(variables={"fail": "true"})

    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("terraform apply failed in ")
    assert "Resource precondition failed: The fixture was asked to fail. (main.tf:29)" in message
    assert any(line.startswith("error: Resource precondition failed") for line in lines)
    # The precondition stops the plan, so nothing was created; a good apply then creates everything.
    assert terraform.output() == {}
    assert terraform.apply() == Changes(add=2)


@needs_terraform
@pytest.mark.slow
def test_var_files_are_passed(workdir: Path, tmp_path: Path) -> None:
    var_file = tmp_path / "names.auto.tfvars.json"
    var_file.write_text('{"greeting": "from a file"}')
    terraform = Terraform(workdir, var_files=[var_file], log=lambda line: None)
    terraform.init()
    terraform.apply()
    assert terraform.output()["greeting"] == "from a file"


@needs_terraform
def test_a_syntax_error_names_the_file_and_line(workdir: Path) -> None:
    (workdir / "broken.tf").write_text('resource "terraform_data" "x" {\n  input = \n}\n')
    terraform = Terraform(workdir, log=lambda line: None)
    with pytest.raises(TerraformError, match=r"^terraform init failed in .*broken\.tf") as failure:
        terraform.init()
    assert "\n" not in str(failure.value)


def test_a_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("TERRAFORM_BINARY", raising=False)
    with pytest.raises(TerraformError, match=r"^terraform not found: install Terraform >= 1\.9 .*PATH"):
        find_binary()
    with pytest.raises(TerraformError, match="not found"):
        Terraform(tmp_path).init()


def test_diagnostic_one_line_joins_summary_detail_and_place() -> None:
    message = {
        "@message": "Error: Invalid value",
        "diagnostic": {
            "severity": "error",
            "summary": "Invalid value for variable.",
            "detail": "region must be\nan AWS region code.",
            "range": {"filename": "variables.tf", "start": {"line": 12}},
        },
    }
    assert Diagnostic.from_message(message).one_line() == (
        "Invalid value for variable: region must be an AWS region code. (variables.tf:12)"
    )
