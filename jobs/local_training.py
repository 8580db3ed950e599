"""Training a profile on this machine, with no cloud at all (`o2v object2vec train`).

The channels are a task folder written by `o2v data prepare` (`manifest.json` plus one sub-folder per
channel); `object2vec.train` writes `<out>/model.tar.gz`, by default under `<repo>/.work/models/`.
"""

from __future__ import annotations

from pathlib import Path

from jobs.channels import ChannelManifest, read_manifest
from jobs.paths import models_dir
from jobs.profiles import profile_for
from object2vec import TrainResult, train


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
    seed: int = 0,
    threads: int = 1,
    progress: bool = True,
) -> TrainResult:
    """Train `profile` on the task folder's channels; writes `<out_dir>/model.tar.gz`."""
    manifest = read_manifest(task_dir)
    hp = profile_for(profile, manifest, overrides or {})
    out = out_dir or default_output_dir(profile, manifest)
    return train(hp, manifest_channels(manifest), out, seed=seed, threads=threads, progress=progress)
