"""`o2v data`: fetch MovieLens (checksummed), print its statistics, write Object2Vec channels.

Each command validates its arguments, calls one library function and turns a `DataError` (and any
`OSError` the library let through) into a one-line `click.ClickException` (exit status 1).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import click

from jobs.channels import (
    PROTOCOLS,
    TASKS,
    ChannelManifest,
    PrepareConfig,
    PrepareResult,
    default_out_dir,
    prepare_channels,
)
from jobs.cli.shared import one_line_errors, source_option
from jobs.movielens import (
    ALL_RATING_FILES,
    DATASET_NAMES,
    DEFAULT_DATASET,
    DataError,
    SourceSettings,
    describe_dataset,
    format_stats,
    resolve_source,
)
from jobs.movielens.errors import os_reason

F = TypeVar("F", bound=Callable[..., Any])


def _source_options(command: F) -> F:
    """--source, --dataset and --no-verify, shared by every command."""
    options = (
        source_option,
        click.option(
            "--dataset",
            type=click.Choice(DATASET_NAMES),
            default=DEFAULT_DATASET,
            show_default=True,
            help="Which MovieLens release.",
        ),
        click.option(
            "--no-verify",
            is_flag=True,
            help="Accept a zip or ml-100k files whose SHA-256 differs from the published one "
            "(an edited or re-packed copy).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _settings(no_verify: bool) -> SourceSettings:
    """Settings from the environment; progress bars only when a person is watching."""
    return dataclasses.replace(SourceSettings.from_env(), verify=not no_verify, progress=sys.stderr.isatty())


def _one_line_errors() -> AbstractContextManager[None]:
    """Report data and OS errors as one line (`Error: ...`, exit status 1), never a traceback."""
    return one_line_errors(DataError, OSError, message=_data_message)


def _data_message(error: Exception) -> str:
    if not isinstance(error, OSError):
        return str(error)
    # The library names its paths; an OSError getting here is the safety net.
    where = f"{error.filename}: " if error.filename is not None else ""
    return f"{where}{os_reason(error)}"


def _split_list(
    choices: tuple[str, ...],
) -> Callable[[click.Context, click.Parameter, str | None], tuple[str, ...] | None]:
    """A callback parsing `a,b,c` into a tuple, each item one of `choices`."""

    def parse(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        items = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        unknown = [item for item in items if item not in choices]
        if unknown or not items:
            raise click.BadParameter(
                f"{', '.join(unknown) or 'nothing given'}; choose from {','.join(choices)}"
            )
        return items

    return parse


@click.group()
def data() -> None:
    """Fetch MovieLens, print its statistics and write Object2Vec channels.

    \b
    Example:
        o2v data prepare
    """


@data.command()
@_source_options
def fetch(source: Path | None, dataset: str, no_verify: bool) -> None:
    """Find (or download) and verify a MovieLens release, then print its folder.

    The shared copy beside the repository is used in place; otherwise the cache
    ($MOVIELENS_CACHE or ~/.cache/object2vec-recommender) or a checksummed download.

    \b
    Example:
        o2v data fetch --dataset ml-100k
    """
    with _one_line_errors():
        resolved = resolve_source(dataset, source, _settings(no_verify))
    checked = f", {len(resolved.verified)} files match their published SHA-256" if resolved.verified else ""
    click.echo(
        f"{resolved.dataset}: {resolved.origin} copy, {resolved.layout.name} layout{checked}", err=True
    )
    click.echo(str(resolved.folder))


@data.command()
@_source_options
@click.option(
    "--file",
    "file_name",
    type=click.Choice(ALL_RATING_FILES),
    default=None,
    help="Training file to describe [default: ua.base when the release has it, else all ratings].",
)
def stats(source: Path | None, dataset: str, no_verify: bool, file_name: str | None) -> None:
    """Print statistics of the training file and of all ratings, as a table.

    \b
    Example:
        o2v data stats --file ua.base
    """
    with _one_line_errors():
        report = describe_dataset(dataset, source, file_name, _settings(no_verify))
    click.echo(format_stats(report))


@data.command()
@_source_options
@click.option(
    "--tasks",
    default=",".join(TASKS),
    show_default=True,
    callback=_split_list(TASKS),
    help="Comma-separated tasks: rating (float label), recommendation (rating > 3), implicit (all 1).",
)
@click.option(
    "--protocols",
    default=None,
    callback=_split_list(PROTOCOLS),
    help="Comma-separated protocols: holdout (untouched test set) and/or workshop (the notebook's split)."
    "  [default: holdout,workshop; holdout only for releases without ua.base/ua.test]",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every split and shuffle.")
@click.option(
    "--validation-per-user",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Ratings per user carved out of the training data for validation (holdout protocol).",
)
@click.option(
    "--test-per-user",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Test ratings per user for holdout on releases without ua.test (ml-1m, CSV), as mku.sh does.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_out_dir,
    show_default=".work/channels",
    help="Output folder; channels go to <out>/<dataset>/<protocol>/<task>/.",
)
def prepare(
    source: Path | None,
    dataset: str,
    no_verify: bool,
    tasks: tuple[str, ...],
    protocols: tuple[str, ...] | None,
    seed: int,
    validation_per_user: int,
    test_per_user: int,
    out_dir: Path,
) -> None:
    """Write the train/validation/test jsonlines channels and a manifest per task and protocol.

    \b
    Examples:
        o2v data prepare
        o2v data prepare --tasks rating --protocols workshop --seed 1 --out /tmp/channels
    """
    settings = _settings(no_verify)
    config = PrepareConfig(
        dataset=dataset,
        source=source,
        tasks=tasks,
        protocols=protocols,
        seed=seed,
        validation_per_user=validation_per_user,
        test_per_user=test_per_user,
        out_dir=out_dir,
        progress=settings.progress,
    )
    with _one_line_errors():
        result = prepare_channels(config, settings)
    click.echo(_summary(result))
    click.echo()
    click.echo(format_stats(result.stats))


def _rows(manifest: ChannelManifest, channel: str) -> str:
    rows = f"{manifest.channels[channel].rows:,}"
    if channel == "train" and manifest.genre_users:
        return f"{rows} ({manifest.genre_users.rows:,} of them genre pseudo-users)"
    return rows


def _summary(result: PrepareResult) -> str:
    """One line per protocol and task: rows per channel and where they were written."""
    lines = [f"{result.dataset} from {result.source_folder}"]
    for manifest in result.manifests:
        counts = ", ".join(f"{name} {_rows(manifest, name)}" for name in manifest.channels)
        lines.append(f"  {manifest.protocol:<8} {manifest.task:<14} {counts}  -> {manifest.folder}")
    return "\n".join(lines)
