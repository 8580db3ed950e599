"""`o2v apply | train | test-events | destroy | env`: the stack's lifecycle, as the Makefile runs it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

import localcloud
from jobs import lifecycle
from jobs.cli.shared import echo_exports, one_line_errors
from jobs.errors import StackError
from jobs.movielens import DataError
from jobs.stack import BACKENDS, DEFAULT_LOCAL_BUCKET, Stack
from jobs.test_events import format_table
from localcloud import CloudConfig, LocalCloudError
from object2vec import Object2VecError

# AWS API errors are one line already ("An error occurred (Code) when calling the Op operation: ...").
DOMAIN_ERRORS = (StackError, DataError, LocalCloudError, Object2VecError, ClientError, BotoCoreError)


def stack_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--backend and --bucket, turned into a `Stack` and the local cloud's `CloudConfig`."""

    @click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default="local",
        show_default=True,
        envvar="BACKEND",
        help="Where the stack runs (the AWS backend arrives with the Terraform modules).",
    )
    @click.option(
        "--bucket",
        default=DEFAULT_LOCAL_BUCKET,
        show_default=True,
        envvar="BUCKET_NAME",
        help="The stack's S3 bucket.",
    )
    @wraps(command)
    def wrapper(backend: str, bucket: str, **kwargs: Any) -> Any:
        with one_line_errors(*DOMAIN_ERRORS):
            stack = Stack(backend=backend, bucket=bucket)
            return command(stack=stack, cloud=CloudConfig.from_env(), **kwargs)

    return wrapper


source_option = click.option(
    "--source",
    type=click.Path(exists=True),
    envvar="MOVIELENS_SOURCE",
    help="A MovieLens folder or .zip (default: the shared copy, the cache or a download).",
)


@click.command()
@source_option
@stack_options
def apply(stack: Stack, cloud: CloudConfig, source: str | None) -> None:
    """Start the local cloud, create the bucket, upload ua.base and u.item, deploy both functions.

    Idempotent: run it again to bring code or configuration up to date, or to bring the stack back
    after a reboot (buckets, functions and endpoints come back without retraining).

    \b
    Example:
        o2v apply && eval "$(o2v env)" && aws s3 ls "s3://$BUCKET_NAME/"
    """
    lifecycle.apply(stack, cloud, source=source, log=click.echo)


@click.command()
@source_option
@stack_options
def train(stack: Stack, cloud: CloudConfig, source: str | None) -> None:
    """Prepare and upload the channels, train the three models, register and deploy them.

    Trains with the holdout protocol (ua.test stays unseen), registers each model in S3, deploys
    ratingModel, recommendationModel and topNModel, and builds the retrieval index.

    \b
    Example:
        o2v apply && o2v train
    """
    report = lifecycle.train(stack, cloud, source=source, log=click.echo)
    click.echo(f"deployed {', '.join(r.model_version for r in report.records)}")


@click.command("test-events")
@stack_options
def test_events(stack: Stack, cloud: CloudConfig) -> None:
    """Invoke the functions with every event in events/ and print the answers.

    Exits non-zero if any invocation fails or answers with an error status.

    \b
    Example:
        o2v test-events
    """
    results = lifecycle.test_events(stack, cloud)
    click.echo(format_table(results))
    failed = [r for r in results if not r.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(results)} events failed")
    click.echo(f"\nall {len(results)} events answered")


@click.command()
@stack_options
def destroy(stack: Stack, cloud: CloudConfig) -> None:
    """Delete the functions, endpoints, models and bucket, stop the local cloud, remove its state.

    Safe to run twice or when nothing runs. Downloaded datasets stay cached.

    \b
    Example:
        o2v destroy
    """
    lifecycle.destroy(stack, cloud, log=click.echo)


@click.command()
@stack_options
def env(stack: Stack, cloud: CloudConfig) -> None:
    """Print `export` lines that point boto3 and the aws CLI at the stack.

    \b
    Example:
        eval "$(o2v env)" && aws lambda list-functions
    """
    echo_exports({**localcloud.env_vars(cloud), "BUCKET_NAME": stack.bucket})
