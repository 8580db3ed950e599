"""`o2v plan | apply | train | test-events | destroy | env`: the stack's lifecycle, as `make` runs it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from jobs.channels import PROTOCOLS
from jobs.cli.context import Session, pass_session
from jobs.cli.shared import echo_exports, one_line_errors, source_option
from jobs.movielens import DATASET_NAMES, DEFAULT_DATASET, DataError
from jobs.stack import lifecycle
from jobs.stack.errors import AWS_ERRORS, StackError
from jobs.stack.event_runner import format_table
from jobs.stack.promotion import metric_summary
from jobs.stack.training_plan import DEFAULT_PROFILE_SET, PROFILE_SETS, default_protocol
from object2vec import Object2VecError

# Errors a stack command reports as one line: ours (each names what to do) and AWS's (one line already).
STACK_ERRORS = (StackError, DataError, Object2VecError, *AWS_ERRORS)

# The release is the stack's: apply configures the functions for it (its titles, its rating scale) and
# train refuses another one, so `make apply train DATASET=ml-1m` passes it to both.
dataset_option = click.option(
    "--dataset",
    type=click.Choice(DATASET_NAMES),
    default=DEFAULT_DATASET,
    show_default=True,
    envvar="DATASET",
    show_envvar=True,
    help="The MovieLens release the stack serves and trains on.",
)


@click.command()
@dataset_option
@pass_session
@one_line_errors(*STACK_ERRORS)
def plan(session: Session, dataset: str) -> None:
    """Show what `apply` would create or change on the backend, changing nothing.

    On AWS this is `terraform plan` of the whole stack (after the same checks and builds as apply).

    \b
    Example:
        o2v --backend aws plan
    """
    replace(session, dataset=dataset).backend().plan(click.echo)


@click.command()
@source_option
@dataset_option
@pass_session
@one_line_errors(*STACK_ERRORS)
def apply(session: Session, source: Path | None, dataset: str) -> None:
    """Start the local cloud, create the bucket, upload the release's ratings and titles (ml-100k: the
    workshop's ua.base and u.item), deploy both functions configured for the release's rating scale.

    Idempotent: run it again to bring code or configuration up to date, or to bring the stack back
    after a reboot (buckets, functions and endpoints come back without retraining).

    \b
    Examples:
        o2v apply && eval "$(o2v env)" && aws s3 ls "s3://$BUCKET_NAME/"
        o2v apply --dataset ml-latest-small      # then: o2v train --dataset ml-latest-small
    """
    lifecycle.apply(replace(session, dataset=dataset).backend(), source=source, log=click.echo)


@click.command()
@source_option
@dataset_option
@click.option(
    "--profile",
    "profile_set",
    type=click.Choice(tuple(PROFILE_SETS)),
    default=DEFAULT_PROFILE_SET,
    show_default=True,
    envvar="PROFILE",
    show_envvar=True,
    help="tuned: the CPU profiles tuned on holdout; workshop: the notebook's hyperparameters (no top-N).",
)
@click.option(
    "--protocol",
    type=click.Choice(PROTOCOLS),
    envvar="PROTOCOL",
    show_envvar=True,
    help="The split [default: workshop with --profile workshop, else holdout].",
)
@click.option(
    "--models",
    envvar="MODELS",
    show_envvar=True,
    help="Comma-separated subset: ratingModel, recommendationModel, topNModel (or rating, topN, ...).",
)
@click.option(
    "--refit/--no-refit",
    default=True,
    show_default=True,
    envvar="REFIT",
    show_envvar=True,
    help="Once validation has chosen the epochs, train again on train + validation (holdout protocol).",
)
@pass_session
@one_line_errors(*STACK_ERRORS)
def train(
    session: Session,
    source: Path | None,
    dataset: str,
    profile_set: str,
    protocol: str | None,
    models: str | None,
    refit: bool,
) -> None:
    """Prepare and upload the channels, train the models, register, gate and deploy them.

    On the holdout protocol each model is trained twice: the first job's validation channel chooses the
    number of epochs, the second trains them on train + validation (the model that is kept). Each model
    is measured on its held-out test set through a temporary endpoint, registered as a new
    version in its endpoint's model package group, approved by the quality gate only if it beats the
    approved version and the baselines, and deployed if approved; each run gets an evaluation report.

    \b
    Examples:
        o2v apply && o2v train
        o2v train --profile workshop              # the lab's run: notebook hyperparameters, ua.base/ua.test
        o2v apply --dataset ml-1m && o2v train --models topN --dataset ml-1m
    """
    run = replace(session, dataset=dataset, protocol=protocol or default_protocol(profile_set))
    chosen = [name for name in models.split(",") if name.strip()] if models else None
    backend = run.backend()
    report = lifecycle.train(
        backend, source=source, models=chosen, profile_set=profile_set, refit=refit, log=click.echo
    )
    for line in metric_summary(report.outcomes):
        click.echo(line)
    deployed = ", ".join(r.model_version for r in report.deployed) or "nothing (no version passed the gate)"
    click.echo(f"deployed {deployed}")


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
