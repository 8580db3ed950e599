"""`o2v models list | show | approve | reject | rollback | report`: the Model Registry from the command line.

Each endpoint serves the latest approved package of its model package group (SageMaker's "latest
approved model package", what the AWS MLOps templates deploy); approving, rejecting or rolling back
redeploys with no downtime when it changes which package that is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from common.atomic import atomic_writer
from common.s3uri import split_s3_uri
from jobs.cli.context import Session, pass_session
from jobs.cli.shared import one_line_errors
from jobs.cli.stack import STACK_ERRORS
from jobs.paths import work_dir
from jobs.stack import lifecycle, registry
from jobs.stack.registry import ModelRecord


@click.group()
def models() -> None:
    """The trained models in SageMaker's Model Registry: list, inspect, approve, reject, roll back.

    \b
    Example:
        o2v models list && o2v models rollback ratingModel
    """


endpoints_argument = click.argument("endpoints", nargs=-1, metavar="[ENDPOINT]...")


@models.command("list")
@endpoints_argument
@pass_session
@one_line_errors(*STACK_ERRORS)
def list_(session: Session, endpoints: tuple[str, ...]) -> None:
    """Every version of each endpoint's group, newest first; `*` marks the one the endpoint serves.

    \b
    Example:
        o2v models list topNModel
    """
    sagemaker = lifecycle.connect(session.backend()).sagemaker
    rows = []
    for endpoint in _endpoints(session, endpoints):
        records = registry.packages(sagemaker, endpoint)
        serving = next((r.version for r in records if r.approval == registry.APPROVED), None)
        rows += [_row(r, r.version == serving) for r in records]
    click.echo(_table(["", "endpoint", "version", "status", "held-out", "training job", "created"], rows))


@models.command()
@click.argument("endpoint")
@click.argument("version", type=int, required=False)
@pass_session
@one_line_errors(*STACK_ERRORS)
def show(session: Session, endpoint: str, version: int | None) -> None:
    """One version in full (default: the one the endpoint serves): approval and why, figures, data,
    artifact, evaluation and report in S3, hyperparameters.

    \b
    Example:
        o2v models show ratingModel 2
    """
    clients = lifecycle.connect(session.backend())
    found = _version(clients.sagemaker, endpoint, version)
    record = registry.with_evaluation(clients.s3, found)
    evaluation = registry.evaluation(clients.s3, record)
    report = record.evaluation_uri.rsplit("/", 1)[0] + "/report.html"
    lines = [
        f"{record.endpoint} version {record.version}  {record.package_arn}",
        f"status        {record.approval}: {record.approval_description or '-'}",
        f"held-out      {record.held_out_metric} {record.held_out:.4f} "
        f"on test set {record.test_set_sha256[:12]}",
        f"baselines     {_figures(evaluation.get('baselines', {}))}",
        f"metrics       {_figures(record.metrics)}",
        f"trained by    {record.training_job} ({record.profile} profile, {record.dataset} {record.protocol})",
        f"created       {record.created:%Y-%m-%d %H:%M:%S %Z}",
        f"artifact      {record.artifact_uri} (sha256 {record.artifact_sha256[:12]})",
        f"image         {record.image}",
        f"data manifest sha256 {record.data_manifest_sha256[:12]}",
        f"evaluation    {record.evaluation_uri}",
        f"report        {report}  (o2v models report {record.endpoint} --version {record.version})",
        "hyperparameters",
        *(f"  {name} = {value}" for name, value in sorted(record.hyperparameters.items())),
    ]
    click.echo("\n".join(lines))


@models.command()
@click.argument("endpoint")
@click.argument("version", type=int)
@click.option("--reason", default="approved by hand", show_default=True, help="Kept as ApprovalDescription.")
@pass_session
@one_line_errors(*STACK_ERRORS)
def approve(session: Session, endpoint: str, version: int, reason: str) -> None:
    """Approve a version; if it is now the latest approved, the endpoint swaps to it with no downtime.

    \b
    Example:
        o2v models approve ratingModel 3 --reason "better on the new data"
    """
    _set(session, endpoint, version, registry.APPROVED, reason)


@models.command()
@click.argument("endpoint")
@click.argument("version", type=int)
@click.option("--reason", default="rejected by hand", show_default=True, help="Kept as ApprovalDescription.")
@pass_session
@one_line_errors(*STACK_ERRORS)
def reject(session: Session, endpoint: str, version: int, reason: str) -> None:
    """Reject a version; if the endpoint served it, it swaps back to the approved version before it.

    \b
    Example:
        o2v models reject ratingModel 3
    """
    _set(session, endpoint, version, registry.REJECTED, reason)


@models.command()
@click.argument("endpoint")
@pass_session
@one_line_errors(*STACK_ERRORS)
def rollback(session: Session, endpoint: str) -> None:
    """Reject the version the endpoint serves and serve the approved version before it again.

    \b
    Example:
        o2v models rollback topNModel
    """
    backend = session.backend()
    rejected, previous = registry.rollback(lifecycle.connect(backend).sagemaker, endpoint)
    click.echo(f"{endpoint} version {rejected.version}: Rejected (rolled back)")
    lifecycle.redeploy(backend, [endpoint], log=click.echo)
    click.echo(f"{endpoint} serves version {previous.version} again")


@models.command()
@endpoints_argument
@click.option("--version", type=int, help="This version instead of the latest (needs one ENDPOINT).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write to [default: .work/reports].",
)
@pass_session
@one_line_errors(*STACK_ERRORS)
def report(session: Session, endpoints: tuple[str, ...], version: int | None, out: Path | None) -> None:
    """Write the evaluation page of each endpoint's latest version (from S3) and print where it is.

    \b
    Example:
        o2v models report topNModel && xdg-open .work/reports/topNModel-v0001.html
    """
    names = _endpoints(session, endpoints)
    if version is not None and len(names) != 1:
        raise click.UsageError("--version needs exactly one ENDPOINT")
    clients = lifecycle.connect(session.backend())
    folder = out or work_dir() / "reports"
    for endpoint in names:
        found = registry.packages(clients.sagemaker, endpoint)
        if version is not None:
            found = [registry.find(clients.sagemaker, endpoint, version)]
        if not found:
            click.echo(f"{endpoint}: no model package yet (make train)")
            continue
        record = found[0]
        bucket, key = split_s3_uri(record.evaluation_uri.rsplit("/", 1)[0] + "/report.html")
        page = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        path = folder / f"{endpoint}-v{record.version:04d}.html"
        with atomic_writer(path) as handle:
            handle.write(page)
        click.echo(f"{endpoint} version {record.version} ({record.approval}): {path}")


# -- helpers ------------------------------------------------------------------------------------------------


def _set(session: Session, endpoint: str, version: int, status: str, reason: str) -> None:
    backend = session.backend()
    sagemaker = lifecycle.connect(backend).sagemaker
    before = registry.latest_approved(sagemaker, endpoint)
    record = registry.set_approval(sagemaker, registry.find(sagemaker, endpoint, version), status, reason)
    click.echo(f"{endpoint} version {record.version}: {status} ({reason})")
    after = registry.latest_approved(sagemaker, endpoint)
    if after is None:
        click.echo(f"{endpoint} has no approved version left: it keeps serving what it served")
    elif before is None or after.version != before.version:
        lifecycle.redeploy(backend, [endpoint], log=click.echo)
        click.echo(f"{endpoint} serves version {after.version}")
    else:
        click.echo(f"{endpoint} keeps serving version {after.version} (the latest approved)")


def _version(sagemaker: Any, endpoint: str, version: int | None) -> ModelRecord:
    if version is not None:
        return registry.find(sagemaker, endpoint, version)
    return registry.serving(sagemaker, endpoint)


def _endpoints(session: Session, endpoints: Sequence[str]) -> list[str]:
    known = [slot.endpoint for slot in session.stack.models]
    for name in endpoints:
        if name not in known:
            raise click.BadParameter(f"{name!r} is not an endpoint of the stack ({', '.join(known)})")
    return list(endpoints) or known


def _row(record: ModelRecord, serving: bool) -> list[str]:
    return [
        "*" if serving else "",
        record.endpoint,
        str(record.version),
        record.approval,
        f"{record.held_out_metric} {record.held_out:.4f}",
        record.training_job,
        f"{record.created:%Y-%m-%d %H:%M}",
    ]


def _figures(values: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4f}" for name, value in sorted(values.items())) or "-"


def _table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "no model packages yet: run `make train`"
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines
    )
