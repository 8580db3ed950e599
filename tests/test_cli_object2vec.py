"""`o2v object2vec train|predict|profiles` through click's CliRunner: output, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import torch
from click.testing import CliRunner
from object2vec_testdata import write_channels

from jobs import paths
from jobs.channels import ChannelFile, ChannelManifest, LabelSpec, SourceRecord, Vocab, write_manifest
from jobs.cli.main import cli
from object2vec import PROFILES

torch.set_num_threads(1)

SMALL = ["--hp", "enc_dim=8", "--hp", "enc0_token_embedding_dim=8", "--hp", "enc1_token_embedding_dim=8",
         "--hp", "mlp_dim=8", "--hp", "epochs=2", "--no-progress"]  # fmt: skip


def run(*args: str, input: str | None = None) -> click.testing.Result:
    return CliRunner().invoke(cli, ["object2vec", *args], input=input)


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A task folder as `o2v data prepare` writes it: channel folders plus manifest.json."""
    folder = tmp_path_factory.mktemp("rating")
    channels = write_channels(folder)
    files = {}
    for name, path in channels.items():
        target = path / f"{name}.jsonl"
        (path / "data.jsonl").rename(target)
        files[name] = ChannelFile(f"{name}/{name}.jsonl", len(target.read_text().splitlines()), "0" * 64)
    write_manifest(ChannelManifest(
        format_version=1, dataset="synthetic", layout="synthetic", task="rating", protocol="holdout", seed=0,
        split={}, source=SourceRecord("synthetic", "test", {}), channels=files,
        vocab=Vocab(enc0_vocab_size=40, enc1_vocab_size=30), label=LabelSpec("float", (1.0, 5.0)),
        folder=folder,
    ))  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def trained(task_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
    result = run("train", "--profile", "rating", "--channels", str(task_dir), "--out", str(out), *SMALL)
    assert result.exit_code == 0, result.output
    return out / "model.tar.gz"


def test_profiles_lists_every_profile() -> None:
    result = run("profiles")
    assert result.exit_code == 0
    for name in PROFILES:
        assert f"{name}  (" in result.output
    assert "  enc_dim=2048" in result.output
    assert "  _kvstore=device" in result.output


def test_train_writes_the_model_and_prints_metrics(trained: Path) -> None:
    assert trained.is_file()


def test_train_default_out_is_under_the_repositorys_work_models(
    task_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The repository's .work/, whatever the working directory (it used to be relative to it).
    monkeypatch.setattr(paths, "work_dir", lambda: tmp_path / "repo" / ".work")
    monkeypatch.chdir(tmp_path)
    result = run("train", "--profile", "rating", "--channels", str(task_dir), *SMALL)
    assert result.exit_code == 0, result.output
    expected = tmp_path / "repo/.work/models/rating-holdout/model.tar.gz"
    assert f"model: {expected}" in result.output
    assert "test:mean_squared_error: " in result.output
    assert "validation:mean_squared_error: " in result.output  # the figure that chose the epochs
    assert "refit on train + validation: " in result.output
    assert expected.is_file()
    assert (expected.parent / "selection" / "model.tar.gz").is_file()
    assert not (tmp_path / ".work").exists()


def test_train_domain_errors_are_one_line(task_dir: Path, tmp_path: Path) -> None:
    result = run("train", "--profile", "rating", "--channels", str(task_dir), "--out", str(tmp_path),
                 "--hp", "enc_dim=2")  # fmt: skip
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: enc_dim: 2 is outside 4..10000"]
    result = run("train", "--profile", "rating", "--channels", str(tmp_path), "--no-progress")
    assert result.exit_code == 1
    assert "manifest" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = run("train", "--profile", "rating", "--channels", str(task_dir), "--hp", "epochs")
    assert result.exit_code == 2
    assert "'epochs' is not KEY=VALUE" in result.output


def test_predict_prints_the_response(trained: Path, tmp_path: Path) -> None:
    body = '{"instances": [{"in0": [3], "in1": [5]}, {"in1": [7]}]}'
    result = run("predict", "--model", str(trained), "--body", '{"instances": [{"in0": [3], "in1": [5]}]}')
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.output)["predictions"][0]) == ["scores"]
    (tmp_path / "body.json").write_text('{"instances": [{"in1": [7]}]}')
    from_file = run("predict", "--model", str(trained), "--body", f"@{tmp_path / 'body.json'}")
    from_stdin = run("predict", "--model", str(trained), "--body", "-", input='{"instances": [{"in1": [7]}]}')
    assert from_file.output == from_stdin.output
    assert "embeddings" in from_file.output
    two = '{"in0": [1], "in1": [2]}\n{"in0": [3], "in1": [4]}'
    lines = run("predict", "--model", str(trained), "--body", two,
                "--content-type", "application/jsonlines", "--accept", "application/jsonlines")  # fmt: skip
    assert len(lines.output.strip().splitlines()) == 2
    bad = run("predict", "--model", str(trained), "--body", body)
    assert bad.exit_code == 1
    assert (
        bad.output.strip() == "Error: mixed inputs: instance 0 has in0 and in1 but instance 1 has only in1 "
        "(send pairs for scores, or one input for embeddings, not both in one request)"
    )
