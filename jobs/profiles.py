"""A profile's hyperparameters for one dataset's channels: the profile's values, the manifest's vocabulary
sizes, then any overrides. `o2v object2vec train` and the stack's training jobs send exactly this."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from jobs.channels import ChannelManifest, Vocab
from object2vec import Hyperparameters, profile_hyperparameters


def profile_with_overrides(profile: str, vocab: Vocab, overrides: Mapping[str, str]) -> dict[str, str]:
    """The profile's hyperparameters for `vocab`, the overrides on top, as SageMaker's strings."""
    return {**profile_hyperparameters(profile, asdict(vocab)), **overrides}


def profile_for(profile: str, manifest: ChannelManifest, overrides: Mapping[str, str]) -> Hyperparameters:
    """The same, validated and typed."""
    return Hyperparameters.from_dict(profile_with_overrides(profile, manifest.vocab, overrides))
