"""Training a profile on this machine, with no cloud at all (`o2v object2vec train`).

The channels are a task folder written by `o2v data prepare` (`manifest.json` plus one sub-folder per
channel); `object2vec.train` writes `<out>/model.tar.gz`, by default under `<repo>/.work/models/`. Where the
folder's protocol refits (see jobs.refit), the model written there is the refit; the run that chose its
epochs is kept in `<out>/selection/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jobs.channels import ChannelManifest, read_manifest
from jobs.paths import models_dir
from jobs.profiles import profile_for
from jobs.refit import refit_channels, refit_hyperparameters, refits
from object2vec import Hyperparameters, TrainResult, train

SELECTION_FOLDER = "selection"


@dataclass(frozen=True)
class ProfileRun:
    """The model to use (`final`) and the run whose validation channel chose its epochs (`selection`):
    one run when there is no refit."""

    selection: TrainResult
    final: TrainResult

    @property
    def refit(self) -> bool:
        return self.final is not self.selection

    @property
    def seconds(self) -> float:
        return self.selection.seconds + (self.final.seconds if self.refit else 0.0)


def default_output_dir(profile: str, manifest: ChannelManifest) -> Path:
    return models_dir() / f"{profile}-{manifest.protocol}"


def manifest_channels(manifest: ChannelManifest) -> dict[str, Path]:
    """Channel name -> the folder holding its jsonl file (SageMaker channels are folders)."""
    return {name: manifest.channel_path(name).parent for name in manifest.channels}


def train_profile(
    profile: str,
    task_dir: Path,
    out_dir: Path | None = None,
    overrides: dict[str, str] | None = None,
    *,
    refit: bool = True,
    seed: int = 0,
    threads: int = 1,
    progress: bool = True,
) -> ProfileRun:
    """Train `profile` on the task folder's channels, then (with `refit`, where the protocol refits) again
    on train + validation for the epochs the first run kept; writes `<out_dir>/model.tar.gz`."""
    manifest = read_manifest(task_dir)
    hp = profile_for(profile, manifest, overrides or {})
    out = out_dir or default_output_dir(profile, manifest)
    channels = manifest_channels(manifest)
    if not (refit and refits(manifest)):
        result = train(hp, channels, out, seed=seed, threads=threads, progress=progress)
        return ProfileRun(result, result)
    selection = train(hp, channels, out / SELECTION_FOLDER, seed=seed, threads=threads, progress=progress)
    final_hp = Hyperparameters.from_dict(refit_hyperparameters(hp.to_strings(), selection.best_epoch))
    final = train(final_hp, refit_channels(manifest), out, seed=seed, threads=threads, progress=progress)
    return ProfileRun(selection, final)
