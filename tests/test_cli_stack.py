"""The stack commands' error contract and context, without a cloud: AWS's refusals are one line, a
malformed request of ours keeps its traceback, and the `o2v` group's options reach the backend."""

from __future__ import annotations

import click
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from click.testing import CliRunner

from jobs.backends import open_backend
from jobs.cli.main import cli
from jobs.cli.shared import one_line_errors
from jobs.cli.stack import STACK_ERRORS
from jobs.stack.errors import StackError
from jobs.stack.names import Stack


def raising(error: Exception) -> None:
    with one_line_errors(*STACK_ERRORS):
        raise error


@pytest.mark.parametrize(
    "error",
    [
        StackError("bucket x does not exist: run `make apply` first"),
        ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ],
    ids=["ours", "aws-refusal", "unreachable"],
)
def test_domain_and_aws_errors_are_one_line(error: Exception) -> None:
    with pytest.raises(click.ClickException) as caught:
        raising(error)
    assert "\n" not in caught.value.message


def test_a_malformed_request_of_ours_keeps_its_traceback() -> None:
    # botocore's ParamValidationError is a BotoCoreError, but it is a bug of ours, not AWS's answer.
    with pytest.raises(ParamValidationError):
        raising(ParamValidationError(report="Invalid type for parameter Bucket"))


def test_the_group_options_reach_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALCLOUD_S3_PORT", "59901")
    monkeypatch.setenv("LOCALCLOUD_SAGEMAKER_PORT", "59902")
    monkeypatch.setenv("LOCALCLOUD_LAMBDA_PORT", "59903")
    result = CliRunner().invoke(cli, ["--bucket", "my-bucket", "env"])
    assert result.exit_code == 0, result.output
    assert "export BUCKET_NAME=my-bucket\n" in result.output
    assert "export AWS_ENDPOINT_URL_S3=http://127.0.0.1:59901\n" in result.output


def test_an_unknown_backend_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown backend 'gcp'; choose from local"):
        open_backend("gcp", Stack())
    result = CliRunner().invoke(cli, ["--backend", "gcp", "env"])
    assert result.exit_code == 2
    assert "Invalid value for '--backend'" in result.output


class _PayingBackend:
    """A backend whose last word must follow every command (as the AWS backend names `make destroy`)."""

    def closing_line(self) -> str:
        return "tear it down with `make destroy BACKEND=aws`"

    def environment(self) -> dict[str, str]:
        return {"BUCKET_NAME": "b"}

    def destroy(self, log) -> None:
        raise StackError("terraform destroy failed")


@pytest.mark.parametrize(("command", "exit_code"), [("env", 0), ("destroy", 1)])
def test_the_backends_last_word_ends_every_command_even_a_failed_one(
    monkeypatch: pytest.MonkeyPatch, command: str, exit_code: int
) -> None:
    monkeypatch.setattr("jobs.cli.context.open_backend", lambda name, stack: _PayingBackend())
    result = CliRunner().invoke(cli, [command])
    assert result.exit_code == exit_code
    assert "tear it down with `make destroy BACKEND=aws`" in result.stderr
    assert "make destroy" not in result.stdout  # `eval "$(o2v env)"` stays valid
