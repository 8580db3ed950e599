"""`o2v object2vec`: the bare algorithm on this machine, no cloud: train a profile, query a trained model,
list the profiles."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from jobs.cli.shared import one_line_errors
from jobs.local_training import train_profile
from jobs.movielens.errors import DataError
from object2vec import PROFILES, Object2VecError, Predictor
from object2vec.profiles import WORKSHOP_PROFILES


@click.group()
def object2vec() -> None:
    """Train Object2Vec models on this machine, with no cloud, and query them."""


def _parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--hp")
        overrides[key.strip()] = value.strip()
    return overrides


@object2vec.command("train")
@click.option("--profile", required=True, type=click.Choice(list(PROFILES)), help="Hyperparameter profile.")
@click.option(
    "--channels",
    "task_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Task folder with manifest.json and train/validation/test sub-folders.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder for model.tar.gz  [default: .work/models/<profile>-<protocol>]",
)
@click.option(
    "--hp", "hp", multiple=True, metavar="KEY=VALUE", help="Override one hyperparameter (repeatable)."
)
@click.option(
    "--refit/--no-refit",
    default=True,
    show_default=True,
    help="Train again on train + validation for the epochs validation chose (protocols with a test channel).",
)
@click.option("--seed", default=0, show_default=True, help="Seed for initialisation, shuffles and negatives.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256), help="torch threads.")
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="Show a progress bar per epoch."
)
def train_command(
    profile: str,
    task_dir: Path,
    out: Path | None,
    hp: tuple[str, ...],
    refit: bool,
    seed: int,
    threads: int,
    progress: bool,
) -> None:
    """Train a profile on a task folder and write model.tar.gz.

    Per-epoch metrics are logged as SageMaker does (`#quality_metric: ...`). On a folder with a test
    channel, the epochs the validation channel chose are then run again on train + validation (as `make
    train` does), and that model is written; --no-refit keeps the first run's.

    \b
    Example:
      o2v object2vec train --profile rating --channels .work/channels/ml-100k/holdout/rating
      o2v object2vec train --profile workshop-rating --channels .work/channels/ml-100k/workshop/rating \\
          --hp epochs=5 --threads 2
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with one_line_errors(Object2VecError, DataError):
        run = train_profile(
            profile,
            task_dir,
            out,
            _parse_overrides(hp),
            refit=refit,
            seed=seed,
            threads=threads,
            progress=progress,
        )
    chosen = run.selection
    click.echo(f"model: {run.final.model_path}")
    click.echo(
        f"epochs: {chosen.epochs_run} (best {chosen.best_epoch}"
        f"{', stopped early' if chosen.stopped_early else ''}), {chosen.seconds:.1f} s"
    )
    if run.refit:
        click.echo(f"refit on train + validation: {run.final.epochs_run} epochs, {run.final.seconds:.1f} s")
    chosen_by = {k: v for k, v in chosen.metrics.items() if k.startswith("validation:")}
    for name, value in {**chosen_by, **run.final.metrics}.items():
        click.echo(f"{name}: {value:.4f}")


@object2vec.command("predict")
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="model.tar.gz (or the folder it was extracted into).",
)
@click.option("--body", required=True, help="Request body; '@FILE' reads a file, '-' reads stdin.")
@click.option("--content-type", default="application/json", show_default=True, help="Request content type.")
@click.option(
    "--accept", default=None, help="Response type: application/json (default) or application/jsonlines."
)
def predict_command(model_path: Path, body: str, content_type: str, accept: str | None) -> None:
    """Send one request body to a trained model, as InvokeEndpoint would, and print the response.

    \b
    Example:
      o2v object2vec predict --model .work/models/rating-holdout/model.tar.gz \\
          --body '{"instances": [{"in0": [789], "in1": [286]}]}'
      o2v object2vec predict --model .work/models/recommendation-holdout/model.tar.gz \\
          --body '{"instances": [{"in1": [195]}]}'
    """
    if body == "-":
        data = sys.stdin.buffer.read()
    elif body.startswith("@"):
        data = Path(body[1:]).read_bytes()
    else:
        data = body.encode()
    with one_line_errors(Object2VecError):
        response, _ = Predictor.load(model_path).invoke(data, content_type, accept)
    click.echo(response.decode().rstrip("\n"))


@object2vec.command("profiles")
def profiles_command() -> None:
    """List the hyperparameter profiles.

    The workshop-* profiles are the notebook's exact settings; the others are our tuned CPU defaults and take
    enc0_vocab_size/enc1_vocab_size from the dataset manifest.

    \b
    Example:
      o2v object2vec profiles
    """
    for name, values in PROFILES.items():
        note = (
            "the workshop notebook's hyperparameters" if name in WORKSHOP_PROFILES else "vocab from manifest"
        )
        click.echo(f"{name}  ({note})")
        for key, value in values.items():
            click.echo(f"  {key}={value}")
