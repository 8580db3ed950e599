"""Entry point: builds the `o2v` group from the command modules."""

import click

from jobs.cli import data, model


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Stand up, train, serve and tear down an Object2Vec movie recommender."""


cli.add_command(data.data)
cli.add_command(model.model)


def main() -> None:
    cli(prog_name="o2v")
