"""Local training of a named profile on a task folder written by `o2v data prepare`.

A task folder holds `manifest.json` (read with `jobs.channels.read_manifest`) and one sub-folder per channel.
The profile's hyperparameters get the manifest's vocab sizes, then the `--hp` overrides, and
`object2vec.train` writes `<out>/model.tar.gz`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from jobs.channels import ChannelManifest, Vocab, read_manifest
from object2vec import Hyperparameters, TrainResult, profile_hyperparameters, train

MODELS_DIR = Path(".work/models")


def default_output_dir(profile: str, manifest: ChannelManifest) -> Path:
    return MODELS_DIR / f"{profile}-{manifest.protocol}"


def manifest_channels(manifest: ChannelManifest) -> dict[str, Path]:
    """Channel name -> the folder holding its jsonl file (SageMaker channels are folders)."""
    return {name: manifest.channel_path(name).parent for name in manifest.channels}


def profile_with_overrides(profile: str, vocab: Vocab, overrides: Mapping[str, str]) -> dict[str, str]:
    """The profile's hyperparameters for `vocab`, the overrides on top; local and SageMaker jobs alike."""
    return {**profile_hyperparameters(profile, asdict(vocab)), **overrides}


def profile_for(profile: str, manifest: ChannelManifest, overrides: dict[str, str]) -> Hyperparameters:
    """The profile's hyperparameters with the manifest's vocab sizes and the overrides, validated."""
    return Hyperparameters.from_dict(profile_with_overrides(profile, manifest.vocab, overrides))


def train_profile(
    profile: str,
    task_dir: Path,
    out_dir: Path | None = None,
    overrides: dict[str, str] | None = None,
    *,
    seed: int = 0,
    threads: int = 1,
    progress: bool = True,
) -> TrainResult:
    """Train `profile` on the task folder's channels; writes `<out_dir>/model.tar.gz`."""
    manifest = read_manifest(task_dir)
    hp = profile_for(profile, manifest, overrides or {})
    out = out_dir or default_output_dir(profile, manifest)
    return train(hp, manifest_channels(manifest), out, seed=seed, threads=threads, progress=progress)
