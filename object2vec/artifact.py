"""model.tar.gz: the weights, the full hyperparameters (as strings), vocab sizes, metrics, a format version.

Members: `model.pt` (a state_dict, read back with `torch.load(weights_only=True)`: tensors only, no pickle of
code), `hyperparameters.json` and `metadata.json`. The archive is written under a temporary name in the same
folder and renamed into place, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from object2vec.errors import ArtifactError

FORMAT_VERSION = 1
ARTIFACT_NAME = "model.tar.gz"
# No member of a model archive is read if it is larger (the largest real model.pt is a few MB).
MAX_MEMBER_BYTES = 1024 * 1024 * 1024
WEIGHTS, HYPERPARAMETERS, METADATA = "model.pt", "hyperparameters.json", "metadata.json"


@dataclass(frozen=True)
class Artifact:
    hyperparameters: dict[str, str]
    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any]  # format_version, vocab, metrics, history, torch version


def save_artifact(
    path: Path, state_dict: dict[str, torch.Tensor], hyperparameters: dict[str, str], metadata: dict[str, Any]
) -> Path:
    weights = io.BytesIO()
    torch.save(state_dict, weights)
    members = {
        WEIGHTS: weights.getvalue(),
        HYPERPARAMETERS: json.dumps(hyperparameters, indent=2, sort_keys=True).encode(),
        METADATA: json.dumps({"format_version": FORMAT_VERSION, **metadata}, indent=2).encode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # Level 1: float weights barely compress, and level 6 takes seconds on the workshop's 40 MB models.
        with open(tmp, "wb") as file:
            with tarfile.open(fileobj=file, mode="w:gz", compresslevel=1) as tar:
                for name, data in members.items():
                    info = tarfile.TarInfo(name)
                    info.size, info.mode = len(data), 0o644
                    tar.addfile(info, io.BytesIO(data))
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename, so a power cut cannot leave an empty model
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_artifact(path: Path) -> Artifact:
    """Read a model.tar.gz, or the folder it was extracted into."""
    path = Path(path)
    members = _read_dir(path) if path.is_dir() else _read_tar(path)
    try:
        metadata = json.loads(members[METADATA])
        hyperparameters = json.loads(members[HYPERPARAMETERS])
        state_dict = torch.load(io.BytesIO(members[WEIGHTS]), map_location="cpu", weights_only=True)
    except (ValueError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0]
        raise ArtifactError(f"{path}: corrupt model artifact ({type(e).__name__}: {first})") from None
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format_version {metadata.get('format_version')!r} is not {FORMAT_VERSION} "
            "(retrain the model with this version)"
        )
    return Artifact(hyperparameters, state_dict, metadata)


def _read_tar(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise ArtifactError(f"{path}: no such model artifact")
    try:
        with tarfile.open(path, "r:gz") as tar:
            found = {m.name.removeprefix("./"): m for m in tar.getmembers() if m.isfile()}
            missing = [n for n in (WEIGHTS, HYPERPARAMETERS, METADATA) if n not in found]
            if missing:
                raise ArtifactError(f"{path}: not an object2vec model artifact (no {missing[0]})")
            oversize = [n for n in (WEIGHTS, HYPERPARAMETERS, METADATA) if found[n].size > MAX_MEMBER_BYTES]
            if oversize:  # checked before reading: a hostile archive must not fill the memory
                raise ArtifactError(f"{path}: {oversize[0]} is larger than {MAX_MEMBER_BYTES} bytes")
            # Read only the three known members into memory: nothing is extracted to disk.
            return {n: tar.extractfile(found[n]).read() for n in (WEIGHTS, HYPERPARAMETERS, METADATA)}  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ArtifactError(f"{path}: not a readable model.tar.gz ({e})") from None


def _read_dir(path: Path) -> dict[str, bytes]:
    missing = [n for n in (WEIGHTS, HYPERPARAMETERS, METADATA) if not (path / n).is_file()]
    if missing:
        raise ArtifactError(f"{path}: not an extracted object2vec model (no {missing[0]})")
    return {n: (path / n).read_bytes() for n in (WEIGHTS, HYPERPARAMETERS, METADATA)}
