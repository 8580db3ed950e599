"""The refit (jobs.refit): which protocols refit, which epoch the first job kept, the refit's hyperparameters
and its local train channel; and `train_profile`'s two runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from object2vec_testdata import write_channels

from jobs.channels import ChannelFile, ChannelManifest, LabelSpec, SourceRecord, Vocab, write_manifest
from jobs.local_training import SELECTION_FOLDER, train_profile
from jobs.refit import RefitError, chosen_epochs, refit_channels, refit_files, refit_hyperparameters, refits
from jobs.reports import parse_metric_lines
from object2vec.data import read_channel
from object2vec.hyperparameters import Hyperparameters

torch.set_num_threads(1)

SMALL = {"enc_dim": "8", "enc0_token_embedding_dim": "8", "enc1_token_embedding_dim": "8", "epochs": "3"}


def curves(*lines: str):
    return parse_metric_lines([f"#quality_metric: host=algo-1, {line}" for line in lines])


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    """A holdout task folder as `o2v data prepare` writes it."""
    folder = tmp_path / "rating"
    files = {}
    for name, path in write_channels(folder).items():
        target = path / f"{name}.jsonl"
        (path / "data.jsonl").rename(target)
        files[name] = ChannelFile(f"{name}/{name}.jsonl", len(target.read_text().splitlines()), "0" * 64)
    write_manifest(manifest(folder, files))
    return folder


def manifest(folder: Path, files: dict[str, ChannelFile], protocol: str = "holdout") -> ChannelManifest:
    return ChannelManifest(
        format_version=1, dataset="synthetic", layout="synthetic", task="rating", protocol=protocol, seed=0,
        split={}, source=SourceRecord("synthetic", "test", {}), channels=files,
        vocab=Vocab(enc0_vocab_size=40, enc1_vocab_size=30), label=LabelSpec("float", (1.0, 5.0)),
        folder=folder,
    )  # fmt: skip


def test_the_kept_epoch_is_the_first_with_the_lowest_validation_loss():
    lines = [
        f"epoch={e}, validation mean_squared_error <loss>={v}"
        for e, v in [(1, 1.2), (2, 0.9), (3, 0.9), (4, 1.0)]
    ]
    lines.append("epoch=4, train mean_squared_error <loss>=0.1")  # the train curve does not choose
    assert chosen_epochs(curves(*lines), "job") == 2
    assert (
        chosen_epochs(
            curves(
                "epoch=1, validation cross_entropy <loss>=0.7", "epoch=2, validation cross_entropy <loss>=0.6"
            ),
            "job",
        )
        == 2
    )


def test_a_ranking_model_keeps_the_epoch_of_its_best_hit_rate_not_of_its_loss():
    found = curves(
        "epoch=1, validation mean_squared_error <loss>=0.30",
        "epoch=1, validation hit_rate@10 <score>=0.61",
        "epoch=2, validation mean_squared_error <loss>=0.20",
        "epoch=2, validation hit_rate@10 <score>=0.64",
        "epoch=3, validation mean_squared_error <loss>=0.10",
        "epoch=3, validation hit_rate@10 <score>=0.62",
    )
    assert chosen_epochs(found, "job") == 2


def test_no_validation_curve_is_a_one_line_error_naming_the_job():
    with pytest.raises(RefitError, match=r"^training job rating-1: its log has no validation metric"):
        chosen_epochs(
            curves("epoch=1, train mean_squared_error <loss>=1.0", "test mean_squared_error <loss>=0.9"),
            "rating-1",
        )


def test_refit_hyperparameters_change_only_the_epochs():
    first = {"epochs": "60", "early_stopping_patience": "5", "enc_dim": "64"}
    assert refit_hyperparameters(first, 26) == {**first, "epochs": "26"}
    assert first["epochs"] == "60"


def test_only_protocols_with_their_own_test_channel_refit(task_dir: Path):
    holdout = manifest(
        task_dir, {c: ChannelFile(f"{c}/{c}.jsonl", 1, "0" * 64) for c in ("train", "validation", "test")}
    )
    assert refits(holdout)
    workshop = dataclasses.replace(
        holdout, protocol="workshop", channels={c: holdout.channels[c] for c in ("train", "validation")}
    )
    assert not refits(workshop)  # its validation is ua.test itself


def test_the_local_refit_channel_links_both_files_and_reads_as_their_rows(task_dir: Path):
    found = manifest(
        task_dir, {c: ChannelFile(f"{c}/{c}.jsonl", 1, "0" * 64) for c in ("train", "validation", "test")}
    )
    channels = refit_channels(found)
    assert channels["test"] == task_dir / "test"
    assert sorted(p.name for p in channels["train"].iterdir()) == [
        "train-train.jsonl",
        "validation-validation.jsonl",
    ]
    assert refit_channels(found) == channels  # idempotent
    hp = Hyperparameters.from_dict(
        {
            "enc0_vocab_size": "40",
            "enc1_vocab_size": "30",
            "enc0_max_seq_len": "1",
            "enc1_max_seq_len": "1",
            "output_layer": "mean_squared_error",
        }
    )
    rows = sum(len(read_channel(path.parent, hp, name)) for name, path in refit_files(found).items())
    assert len(read_channel(channels["train"], hp, "train")) == rows


def test_train_profile_refits_for_the_epochs_the_first_run_kept(task_dir: Path, tmp_path: Path):
    run = train_profile("rating", task_dir, tmp_path / "out", SMALL, progress=False)
    assert run.refit
    assert run.final.model_path == tmp_path / "out" / "model.tar.gz"
    assert run.selection.model_path == tmp_path / "out" / SELECTION_FOLDER / "model.tar.gz"
    assert run.final.epochs_run == run.selection.best_epoch
    assert run.final.hyperparameters["epochs"] == str(run.selection.best_epoch)
    assert not any(name.startswith("validation:") for name in run.final.metrics)
    assert any(name.startswith("test:") for name in run.final.metrics)
    assert run.seconds == pytest.approx(run.selection.seconds + run.final.seconds)
    once = train_profile("rating", task_dir, tmp_path / "once", SMALL, refit=False, progress=False)
    assert not once.refit
    assert once.final is once.selection
    assert once.final.model_path == tmp_path / "once" / "model.tar.gz"
