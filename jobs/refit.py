"""Refit: once early stopping has chosen the number of epochs on the validation channel, train again on
train + validation for that many epochs, and deploy that model.

Why: the holdout protocol carves 5 ratings per user out of ua.base for validation. For a user with 10
ratings in ua.base that is half of what the model could learn about them, and the classical peers fit on
all of ua.base. Training the chosen number of epochs on both channels gave, on ml-100k (seed 0, one
thread): RMSE 0.9361 -> 0.9288, accuracy 0.7073 -> 0.7115, HR@10 0.8394 -> 0.8458.

It is two SageMaker training jobs: the first (train + validation + test channels) chooses the epochs, the
second (the `refit` folder, train and validation files together, as its train channel; test) runs them
with no validation channel, so it keeps its last epoch. The profile is otherwise unchanged, so both jobs are
valid requests to SageMaker's built-in algorithm. Only protocols with a test channel of their own refit:
the workshop protocol's validation channel is ua.test itself, which must stay unseen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from jobs.channels import ChannelManifest
from jobs.reports import LearningCurves

REFIT_FOLDER = "refit"  # beside the channel folders, locally and under the task's S3 input prefix
REFIT_SOURCES = ("train", "validation")  # the channels the refit's train channel holds
# The metric early stopping watched, looked for in this order, and whether its best is the max or the min:
# ranking models stop on HR@10 (their logs also hold a loss), the others on SageMaker's validation loss.
WATCHED = (("hit_rate@10", max), ("mean_squared_error", min), ("cross_entropy", min))


class RefitError(ValueError):
    """The first job's log holds no validation curve to choose the epochs from."""


def refits(manifest: ChannelManifest) -> bool:
    """Whether this task folder's models are refit: it has a validation channel and a separate test."""
    return all(channel in manifest.channels for channel in (*REFIT_SOURCES, "test"))


def chosen_epochs(curves: LearningCurves, job: str) -> int:
    """The epoch the first job kept: the first with the best value of the metric early stopping watched
    (read from its `#quality_metric` lines, so the same on AWS and locally)."""
    for metric, best in WATCHED:
        points = curves.per_epoch.get(metric, {}).get("validation")
        if points:
            value = best(v for _, v in points)
            return next(epoch for epoch, v in points if v == value)
    raise RefitError(f"training job {job}: its log has no validation metric to choose the epochs from")


def refit_hyperparameters(hyperparameters: Mapping[str, str], epochs: int) -> dict[str, str]:
    """The first job's hyperparameters, running `epochs` epochs (early stopping has nothing to watch)."""
    return {**hyperparameters, "epochs": str(epochs)}


def refit_files(manifest: ChannelManifest) -> dict[str, Path]:
    """The files the refit's train channel holds, by their name in its folder: the train and validation
    channels' own (`train-train.jsonl`, `validation-validation.jsonl`)."""
    return {f"{c}-{manifest.channel_path(c).name}": manifest.channel_path(c) for c in REFIT_SOURCES}


def refit_channels(manifest: ChannelManifest) -> dict[str, Path]:
    """Channel name -> folder for a local refit: `refit/` (links to the train and validation files, made
    once) as train, and the test channel."""
    folder = manifest.folder / REFIT_FOLDER
    folder.mkdir(exist_ok=True)
    for name, source in refit_files(manifest).items():
        link, target = folder / name, os.path.relpath(source, folder)
        if not link.is_symlink() or os.readlink(link) != target:
            temporary = folder / f".{name}.tmp"
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(target)
            temporary.replace(link)
    return {"train": folder, "test": manifest.channel_path("test").parent}
