"""Entry point: the `o2v` group, which builds the command context once, and the command modules."""

from __future__ import annotations

import click

from jobs.backends import BACKENDS, DEFAULT_BACKEND
from jobs.cli import cloud, data, models, object2vec, stack
from jobs.cli.context import Session
from jobs.stack.names import DEFAULT_BUCKET


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default=DEFAULT_BACKEND,
    show_default=True,
    envvar="BACKEND",
    show_envvar=True,
    help="Where the stack runs: this machine's local cloud, or an AWS account through Terraform.",
)
@click.option(
    "--bucket",
    default=DEFAULT_BUCKET,
    show_default=True,
    envvar="BUCKET_NAME",
    show_envvar=True,
    help="The stack's S3 bucket.",
)
@click.pass_context
def cli(ctx: click.Context, backend: str, bucket: str) -> None:
    """Stand up, train, serve and tear down an Object2Vec movie recommender.

    \b
    Example:
        o2v apply && o2v train && o2v test-events && o2v destroy
    """
    ctx.obj = Session(backend, bucket)


cli.add_command(data.data)
cli.add_command(object2vec.object2vec)
cli.add_command(cloud.cloud)
cli.add_command(models.models)
for command in (stack.plan, stack.apply, stack.train, stack.test_events, stack.destroy, stack.env):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="o2v")
