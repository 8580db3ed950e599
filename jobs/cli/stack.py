"""`o2v apply | train | test-events | destroy | env`: the stack's lifecycle, as the Makefile runs it."""

from __future__ import annotations

from pathlib import Path

import click

from jobs.cli.context import Session, pass_session
from jobs.cli.shared import echo_exports, one_line_errors, source_option
from jobs.movielens import DataError
from jobs.stack import lifecycle
from jobs.stack.errors import AWS_ERRORS, StackError
from jobs.stack.event_runner import format_table
from object2vec import Object2VecError

# Errors a stack command reports as one line: ours (each names what to do) and AWS's (one line already).
STACK_ERRORS = (StackError, DataError, Object2VecError, *AWS_ERRORS)


@click.command()
@source_option
@pass_session
@one_line_errors(*STACK_ERRORS)
def apply(session: Session, source: Path | None) -> None:
    """Start the local cloud, create the bucket, upload ua.base and u.item, deploy both functions.

    Idempotent: run it again to bring code or configuration up to date, or to bring the stack back
    after a reboot (buckets, functions and endpoints come back without retraining).

    \b
    Example:
        o2v apply && eval "$(o2v env)" && aws s3 ls "s3://$BUCKET_NAME/"
    """
    lifecycle.apply(session.backend(), source=source, log=click.echo)


@click.command()
@source_option
@pass_session
@one_line_errors(*STACK_ERRORS)
def train(session: Session, source: Path | None) -> None:
    """Prepare and upload the channels, train the three models, register and deploy them.

    Trains with the holdout protocol (ua.test stays unseen), registers each model in S3, deploys
    ratingModel, recommendationModel and topNModel, and builds the retrieval index.

    \b
    Example:
        o2v apply && o2v train
    """
    report = lifecycle.train(session.backend(), source=source, log=click.echo)
    click.echo(f"deployed {', '.join(r.model_version for r in report.records)}")


@click.command("test-events")
@pass_session
@one_line_errors(*STACK_ERRORS)
def test_events(session: Session) -> None:
    """Invoke the functions with every event in events/ and print the answers.

    Exits non-zero if any invocation fails or answers with an error status.

    \b
    Example:
        o2v test-events
    """
    results = lifecycle.test_events(session.backend())
    click.echo(format_table(results))
    failed = [r for r in results if not r.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(results)} events failed")
    click.echo(f"\nall {len(results)} events answered")


@click.command()
@pass_session
@one_line_errors(*STACK_ERRORS)
def destroy(session: Session) -> None:
    """Delete the functions, endpoints, models and bucket, stop the local cloud, remove its state.

    Safe to run twice or when nothing runs. Downloaded datasets stay cached.

    \b
    Example:
        o2v destroy
    """
    lifecycle.destroy(session.backend(), log=click.echo)


@click.command()
@pass_session
@one_line_errors(*STACK_ERRORS)
def env(session: Session) -> None:
    """Print `export` lines that point boto3 and the aws CLI at the stack.

    \b
    Example:
        eval "$(o2v env)" && aws lambda list-functions
    """
    echo_exports(session.backend().environment())
