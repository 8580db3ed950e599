"""What every command group shares: one-line domain errors and `export` lines."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Iterator, Mapping

import click


@contextlib.contextmanager
def one_line_errors(*errors: type[Exception], message: Callable[[Exception], str] = str) -> Iterator[None]:
    """Turn `errors` into `Error: <message>` with exit status 1, never a traceback.

    Each call site names exactly the errors its library raises, so a bug still shows its traceback.
    Works as a decorator too (`@one_line_errors(SomeError)`), as every `contextmanager` does.
    """
    try:
        yield
    except errors as error:
        raise click.ClickException(message(error)) from error


def echo_exports(variables: Mapping[str, str]) -> None:
    """`export NAME=value` lines, quoted for the shell, for `eval "$(o2v env)"`."""
    for name, value in variables.items():
        click.echo(f"export {name}={shlex.quote(value)}")
