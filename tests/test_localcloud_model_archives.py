"""Model archives a deployment must refuse with a named one-line error (issue 9, findings 12 and 13):
a corrupt model.pt, and a member too large to read into memory."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from unittest import mock

import pytest

from localcloud.sagemaker.modelservers import Object2VecServer
from object2vec import artifact as artifact_module
from object2vec.errors import ArtifactError


def archive(path: Path, weights: bytes) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        members = {
            "model.pt": weights,
            "hyperparameters.json": json.dumps({"enc0_max_seq_len": "1"}).encode(),
            "metadata.json": json.dumps({"format_version": artifact_module.FORMAT_VERSION}).encode(),
        }
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_corrupt_model_pt_is_a_named_one_line_error(tmp_path: Path):
    """It raised pickle's UnpicklingError, a traceback, instead of ArtifactError."""
    path = archive(tmp_path / "model.tar.gz", b"not a pytorch file" * 10)
    with pytest.raises(ArtifactError) as caught:
        Object2VecServer(path, 1)
    message = str(caught.value)
    assert message.startswith(f"{path}: corrupt model artifact (UnpicklingError: ")
    assert "\n" not in message


def test_an_oversize_member_is_refused_before_it_is_read(tmp_path: Path):
    path = archive(tmp_path / "model.tar.gz", b"\0" * 4096)
    with (
        mock.patch.object(artifact_module, "MAX_MEMBER_BYTES", 1024),
        mock.patch.object(tarfile.TarFile, "extractfile", side_effect=AssertionError("read")),
        pytest.raises(ArtifactError, match=r"model\.pt is larger than 1024 bytes"),
    ):
        Object2VecServer(path, 1)
