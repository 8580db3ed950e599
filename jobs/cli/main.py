"""Entry point: builds the `o2v` group from the command modules."""

import click

from jobs.cli import cloud, data, model, stack


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Stand up, train, serve and tear down an Object2Vec movie recommender."""


cli.add_command(data.data)
cli.add_command(model.model)
cli.add_command(cloud.cloud)
for command in (stack.apply, stack.train, stack.test_events, stack.destroy, stack.env):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="o2v")
