"""`o2v cloud`: run the local cloud (S3, SageMaker, Lambda on 127.0.0.1) in the background."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

import localcloud
from jobs.cli.shared import one_line_errors
from localcloud import CloudConfig, LocalCloudError

pass_config = click.make_pass_decorator(CloudConfig)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="LOCALCLOUD_STATE_DIR",
    help="Where buckets, functions, endpoints, logs and the pid file live (default .state/localcloud).",
)
@click.option("--s3-port", type=int, envvar="LOCALCLOUD_S3_PORT", help="S3 port (default 4701).")
@click.option(
    "--sagemaker-port", type=int, envvar="LOCALCLOUD_SAGEMAKER_PORT", help="SageMaker port (default 4702)."
)
@click.option("--lambda-port", type=int, envvar="LOCALCLOUD_LAMBDA_PORT", help="Lambda port (default 4703).")
@click.pass_context
def cloud(
    ctx: click.Context,
    state_dir: Path | None,
    s3_port: int | None,
    sagemaker_port: int | None,
    lambda_port: int | None,
) -> None:
    """The local cloud: moto's S3 plus SageMaker and Lambda, on 127.0.0.1, no AWS account needed.

    \b
    Example:
        o2v cloud start && eval "$(o2v env)" && aws s3 ls
    """
    with one_line_errors(LocalCloudError):
        ctx.obj = CloudConfig.from_env(
            state_dir=state_dir, s3_port=s3_port, sagemaker_port=sagemaker_port, lambda_port=lambda_port
        )


@cloud.command()
@click.option(
    "--timeout", default=90.0, show_default=True, help="Seconds to wait until every service is ready."
)
@pass_config
def start(config: CloudConfig, timeout: float) -> None:
    """Start the local cloud in the background (nothing happens if it already runs).

    \b
    Example:
        o2v cloud start
    """
    with one_line_errors(LocalCloudError):
        status = localcloud.start(config, timeout=timeout)
    click.echo(f"local cloud running (pid {status.pid}); state in {config.state_dir}")


@cloud.command()
@click.option(
    "--purge", is_flag=True, help="Also delete the state folder: buckets, functions, endpoints, logs."
)
@pass_config
def stop(config: CloudConfig, purge: bool) -> None:
    """Stop the local cloud and its worker processes (safe to run when nothing runs).

    \b
    Example:
        o2v cloud stop --purge
    """
    stopped = localcloud.stop(config, purge=purge)
    click.echo("local cloud stopped" if stopped else "local cloud was not running")
    if purge:
        click.echo(f"deleted {config.state_dir}")


@cloud.command()
@pass_config
def status(config: CloudConfig) -> None:
    """Show whether the local cloud runs, and each service's URL (exit code 3 if it does not run).

    \b
    Example:
        o2v cloud status
    """
    current = localcloud.status(config)
    for health in current.services:
        state = "ready" if health.ready else ("starting" if health.pid else "down")
        click.echo(f"{health.service:<10} {config.url(health.service):<24} {state}")
    click.echo(f"pid {current.pid if current.running else '-'}; state in {config.state_dir}")
    if not current.running:
        sys.exit(3)


@cloud.command()
@pass_config
def serve(config: CloudConfig) -> None:
    """Run the local cloud in the foreground until Ctrl-C (what `start` runs in the background).

    \b
    Example:
        o2v cloud serve --s3-port 5701
    """
    from localcloud.server import serve as run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with one_line_errors(LocalCloudError):
        run(config)


@cloud.command()
@click.option(
    "--function", "function", metavar="NAME", help="A Lambda function's log instead of the server's."
)
@click.option("--training-job", metavar="NAME", help="A training job's log instead of the server's.")
@click.option("-n", "--lines", default=40, show_default=True, help="How many lines from the end.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@pass_config
def logs(
    config: CloudConfig, function: str | None, training_job: str | None, lines: int, follow: bool
) -> None:
    """Print the end of the server log, a function's log, or a training job's log.

    \b
    Example:
        o2v cloud logs --function Movie_Retrieval_Object2Vec -n 20
    """
    path = localcloud.log_path(config, function=function, training_job=training_job)
    if not path.exists():
        raise click.ClickException(f"no log at {path}")
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f.readlines()[-lines:] if lines > 0 else []:
            click.echo(line, nl=False)
        while follow:
            line = f.readline()
            if line:
                click.echo(line, nl=False)
            else:
                time.sleep(0.2)
