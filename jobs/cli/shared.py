"""What every command group shares: one-line domain errors, `export` lines and the `--source` option."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import click

from jobs.movielens import ENV_SOURCE


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


source_option = click.option(
    "--source",
    type=click.Path(exists=True, path_type=Path),
    envvar=ENV_SOURCE,
    show_envvar=True,
    help="A MovieLens folder or .zip to use instead of the shared copy, the cache or a download.",
)
