"""Every `o2v` command and option explains itself (the README points users to `--help`)."""

import click
import pytest

from jobs.cli import cli


def _commands(group: click.Group, prefix: str = "o2v") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
    return found


@pytest.mark.parametrize(("name", "command"), _commands(cli), ids=lambda value: str(value))
def test_command_has_help_and_every_option_too(name, command):
    assert command.help, f"{name} has no help"
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            assert parameter.help, f"{name} {parameter.opts[0]} has no help"


@pytest.mark.parametrize(
    ("name", "command"),
    [(n, c) for n, c in _commands(cli) if not isinstance(c, click.Group)],
    ids=lambda value: str(value),
)
def test_every_command_shows_an_example(name, command):
    assert "Example" in command.help, f"{name} has no example in its help"
    # Without click's "\b" marker the example's lines would be rewrapped into one paragraph.
    assert "\b" in command.help, f"{name} has no example"
    group = name.rsplit(" ", 1)[0]
    assert group in command.help, f"{name} has no example"
