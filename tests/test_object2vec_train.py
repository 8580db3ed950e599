"""Training: learns the checkerboard, every hyperparameter is wired, early stopping, reproducibility,
artifacts."""

from __future__ import annotations

import logging
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from object2vec_testdata import TINY, checkerboard, write_channel, write_channels

from object2vec import (
    ChannelError,
    HyperparameterError,
    Hyperparameters,
    NonFiniteLossError,
    Predictor,
    train,
)
from object2vec.artifact import load_artifact, save_artifact
from object2vec.data import read_channel
from object2vec.model import Object2Vec

torch.set_num_threads(1)


def fit(tmp_path: Path, channels: dict[str, Path], **changes: str) -> object:
    return train({**TINY, **changes}, channels, tmp_path / "out", progress=False)


def predictions(model_path: Path, channel: Path) -> np.ndarray:
    predictor = Predictor.load(model_path)
    data = read_channel(channel, predictor.hp, "validation")
    return predictor.predict(data.in0, data.in1)


def test_learns_the_checkerboard_regression(tmp_path: Path) -> None:
    channels = write_channels(tmp_path / "data")
    result = fit(tmp_path, channels, epochs="15")
    labels = read_channel(channels["test"], Hyperparameters.from_dict(TINY), "test").labels
    baseline = float(((labels - labels.mean()) ** 2).mean())  # predicting the mean: about 2.3
    assert result.metrics["test:mean_squared_error"] < 0.25 * baseline
    assert result.model_path == tmp_path / "out" / "model.tar.gz"
    assert result.model_path.is_file()


def test_learns_the_checkerboard_classification(tmp_path: Path) -> None:
    channels = write_channels(tmp_path / "data", classes=True)
    result = fit(tmp_path, channels, epochs="15", output_layer="softmax")
    labels = read_channel(channels["test"], Hyperparameters.from_dict(TINY), "test").labels
    majority = float(max(labels.mean(), 1 - labels.mean()))  # always answering the commoner class: ~0.5
    assert result.metrics["test:accuracy"] > majority + 0.3
    assert set(result.metrics) == {
        f"{c}:{m}" for c in ("train", "validation", "test") for m in ("cross_entropy", "accuracy")
    }


@pytest.fixture(scope="module")
def sequence_channels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_channels(tmp_path_factory.mktemp("seq"), sequences=True, n=300, test=False)


@pytest.fixture(scope="module")
def class_channels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_channels(tmp_path_factory.mktemp("cls"), classes=True, sequences=True, n=300, test=False)


# (base changes, the one hyperparameter changed): one epoch on a fixed seed must give other predictions.
WIRED = [
    ({}, {"bucket_width": "1"}),
    ({}, {"comparator_list": "hadamard, abs_diff"}),
    ({}, {"dropout": "0.3"}),
    ({}, {"enc_dim": "6"}),
    ({}, {"enc0_network": "hcnn"}),
    ({}, {"enc0_network": "bilstm"}),
    ({"enc0_network": "hcnn"}, {"enc0_cnn_filter_width": "2"}),
    ({"enc0_network": "hcnn"}, {"enc0_layers": "2"}),
    ({"enc0_network": "bilstm"}, {"enc0_layers": "2"}),
    ({}, {"enc1_network": "bilstm"}),
    ({"enc1_network": "hcnn"}, {"enc1_cnn_filter_width": "2"}),
    ({"enc1_network": "hcnn"}, {"enc1_layers": "3"}),
    ({}, {"enc0_token_embedding_dim": "6"}),
    ({}, {"enc1_token_embedding_dim": "6"}),
    ({}, {"enc0_max_seq_len": "2"}),
    ({}, {"enc1_max_seq_len": "2"}),
    ({}, {"enc0_vocab_size": "41"}),
    ({}, {"enc1_vocab_size": "31"}),
    ({}, {"epochs": "2"}),
    ({}, {"learning_rate": "0.02"}),
    ({}, {"mini_batch_size": "16"}),
    ({}, {"mlp_activation": "relu"}),
    ({}, {"mlp_dim": "6"}),
    ({}, {"mlp_layers": "2"}),
    ({}, {"negative_sampling_rate": "1"}),
    ({}, {"optimizer": "adagrad"}),
    ({}, {"optimizer": "adadelta"}),
    ({}, {"optimizer": "sgd"}),
    ({}, {"optimizer": "rmsprop"}),
    ({"enc1_vocab_size": "40"}, {"tied_token_embedding_weight": "True"}),
    ({}, {"token_embedding_storage_type": "row_sparse"}),
    ({}, {"weight_decay": "0.01"}),
    ({"token_embedding_storage_type": "row_sparse"}, {"weight_decay": "0.01"}),
    ({"token_embedding_storage_type": "row_sparse"}, {"optimizer": "adagrad"}),
    ({"token_embedding_storage_type": "row_sparse"}, {"optimizer": "adadelta"}),
    ({"token_embedding_storage_type": "row_sparse"}, {"optimizer": "sgd"}),
    ({"token_embedding_storage_type": "row_sparse"}, {"optimizer": "rmsprop"}),
]
WIRED_CLASSES = [
    ({"output_layer": "mean_squared_error"}, {"output_layer": "softmax"}),
    ({"output_layer": "softmax"}, {"num_classes": "3"}),
]


@pytest.mark.parametrize(
    ("base", "change"), WIRED + WIRED_CLASSES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())
)
def test_every_hyperparameter_is_wired(
    tmp_path: Path, sequence_channels: dict, class_channels: dict, base: dict, change: dict
) -> None:
    channels = class_channels if (base, change) in WIRED_CLASSES else sequence_channels
    probe = channels["validation"]
    before = predictions(fit(tmp_path / "a", channels, **base).model_path, probe)
    after = predictions(fit(tmp_path / "b", channels, **{**base, **change}).model_path, probe)
    assert before.shape != after.shape or not np.array_equal(before, after)


def test_same_seed_same_weights(tmp_path: Path, sequence_channels: dict) -> None:
    runs = [
        train({**TINY, "dropout": "0.2", "negative_sampling_rate": "1"}, sequence_channels, tmp_path / str(k),
              seed=seed, progress=False)
        for k, seed in enumerate((3, 3, 4))
    ]  # fmt: skip
    a, b, c = (load_artifact(r.model_path).state_dict for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_early_stopping_stops_and_keeps_the_best_epoch(tmp_path: Path) -> None:
    # Validation labels are noise the model cannot learn: it soon stops improving by more than the tolerance.
    rng = np.random.default_rng(0)
    noise = [{**r, "label": float(rng.normal(3, 1))} for r in checkerboard(150, 5)]
    channels = {"train": write_channel(tmp_path / "train", checkerboard(600, 1)),
                "validation": write_channel(tmp_path / "validation", noise)}  # fmt: skip
    result = fit(tmp_path, channels, epochs="30", learning_rate="0.03", early_stopping_patience="2",
                 early_stopping_tolerance="0.1")  # fmt: skip
    assert result.stopped_early
    assert result.epochs_run < 30
    losses = [h["validation:mean_squared_error"] for h in result.history]
    assert result.best_epoch == 1 + int(np.argmin(losses))
    assert result.metrics["validation:mean_squared_error"] == min(losses)
    kept = predictions(result.model_path, channels["validation"])[:, 0]
    labels = read_channel(channels["validation"], Hyperparameters.from_dict(TINY), "v").labels
    assert float(((kept - labels) ** 2).mean()) == pytest.approx(min(losses), rel=1e-5)


def sagemaker_stop_epoch(losses: list[float], patience: int, tolerance: float) -> int:
    """The epoch SageMaker's rule stops at: `patience` epochs in a row without improving by > tolerance."""
    best, stale = float("inf"), 0
    for epoch, loss in enumerate(losses, 1):
        stale = 0 if loss < best - tolerance else stale + 1
        best = min(best, loss)
        if stale >= patience:
            return epoch
    return len(losses)


@pytest.mark.parametrize(("patience", "tolerance"), [(1, 0.1), (3, 0.1), (2, 0.000001)])
def test_patience_and_tolerance_follow_sagemaker(tmp_path: Path, patience: int, tolerance: float) -> None:
    channels = write_channels(tmp_path / "data", test=False)
    full = fit(
        tmp_path / "all", channels, epochs="25", early_stopping_patience="5", early_stopping_tolerance="0.1"
    )
    run = fit(tmp_path / "run", channels, epochs="25", early_stopping_patience=str(patience),
              early_stopping_tolerance=str(tolerance))  # fmt: skip
    losses = [h["validation:mean_squared_error"] for h in run.history]
    assert losses == [h["validation:mean_squared_error"] for h in full.history][: len(losses)]  # same seed
    assert run.stopped_early
    assert run.epochs_run < 25
    # Padding with ever-better losses: the rule must fire exactly at the epoch training stopped, not later.
    assert run.epochs_run == sagemaker_stop_epoch(
        losses + [-float(k) for k in range(99)], patience, tolerance
    )


def test_without_validation_every_epoch_runs(tmp_path: Path) -> None:
    result = fit(tmp_path, {"train": write_channel(tmp_path / "train", checkerboard(100, 0))}, epochs="3")
    assert result.epochs_run == 3
    assert result.best_epoch == 3
    assert not result.stopped_early
    assert set(result.metrics) == {"train:mean_squared_error"}


def test_metric_lines_use_sagemaker_names(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="object2vec")
    result = fit(tmp_path, write_channels(tmp_path / "data"), epochs="2")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("#quality_metric")]
    assert lines[0].startswith("#quality_metric: host=algo-1, epoch=1, train mean_squared_error <loss>=")
    assert lines[1].startswith("#quality_metric: host=algo-1, epoch=1, validation mean_squared_error <loss>=")
    assert lines[-1].startswith("#quality_metric: host=algo-1, test mean_squared_error <loss>=")
    assert len(lines) == 5
    assert len(result.history) == 2


def test_nan_loss_is_a_named_error_and_saves_nothing(tmp_path: Path) -> None:
    huge = [{**r, "label": 1e30} for r in checkerboard(64, 0)]
    with pytest.raises(
        NonFiniteLossError, match=r"^epoch 1, batch 1: training loss is inf; nothing was saved"
    ):
        fit(tmp_path, {"train": write_channel(tmp_path / "train", huge)})
    assert not (tmp_path / "out" / "model.tar.gz").exists()


def test_invalid_input_fails_before_training(tmp_path: Path) -> None:
    channels = {"train": write_channel(tmp_path / "train", checkerboard(10, 0))}
    with pytest.raises(HyperparameterError, match=r"^enc_dim: 2 is outside 4\.\.10000$"):
        fit(tmp_path, channels, enc_dim="2")
    with pytest.raises(ChannelError, match=r"^channels: the train channel is required"):
        fit(tmp_path, {"validation": channels["train"]})
    with pytest.raises(ChannelError, match=r"^channels: unknown channel 'valid'"):
        fit(tmp_path, {**channels, "valid": channels["train"]})


def test_threads_are_restored(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    train(
        TINY,
        {"train": write_channel(tmp_path / "train", checkerboard(50, 0))},
        tmp_path,
        threads=2,
        progress=False,
    )
    assert torch.get_num_threads() == 1


def test_row_sparse_touches_only_looked_up_rows(tmp_path: Path) -> None:
    only_low_users = [r for r in checkerboard(400, 0) if r["in0"][0] < 20]
    channels = {"train": write_channel(tmp_path / "train", only_low_users)}

    def user_table(storage: str) -> torch.Tensor:
        result = fit(tmp_path / storage, channels, token_embedding_storage_type=storage, weight_decay="0.1")
        return load_artifact(result.model_path).state_dict["enc0.embedding.weight"]

    with torch.random.fork_rng():
        torch.manual_seed(0)
        initial = Object2Vec(Hyperparameters.from_dict(TINY)).enc0.embedding.weight.detach()
    sparse, dense = user_table("row_sparse"), user_table("dense")
    assert torch.equal(sparse[20:], initial[20:])  # never looked up: no update, no decay
    assert not torch.equal(sparse[:20], initial[:20])
    assert not torch.equal(dense[20:], initial[20:])  # dense: every row decays every step


# ---- artifacts ---------------------------------------------------------------------------------------------


def test_save_load_gives_bit_identical_predictions(tmp_path: Path) -> None:
    hp = Hyperparameters.from_dict(
        {**TINY, "output_layer": "softmax", "num_classes": "3", "enc0_network": "hcnn"}
    )
    torch.manual_seed(0)
    model = Object2Vec(hp)
    path = save_artifact(tmp_path / "model.tar.gz", model.state_dict(), hp.to_strings(), {"metrics": {}})
    body = b'{"instances": [{"in0": [1, 2], "in1": [3]}, {"in0": [39], "in1": [0, 29, 5]}]}'
    expected = Predictor(model, hp).invoke(body, "application/json")
    assert Predictor.load(path).invoke(body, "application/json") == expected
    extracted = tmp_path / "extracted"
    with tarfile.open(path) as tar:
        tar.extractall(extracted, filter="data")
    assert Predictor.load(extracted).invoke(body, "application/json") == expected
    assert Predictor.load(path).hyperparameters == hp.to_strings()


def test_artifact_contents(tmp_path: Path) -> None:
    result = fit(tmp_path, write_channels(tmp_path / "data"), epochs="2")
    with tarfile.open(result.model_path) as tar:
        assert sorted(tar.getnames()) == ["hyperparameters.json", "metadata.json", "model.pt"]
    artifact = load_artifact(result.model_path)
    assert artifact.hyperparameters == result.hyperparameters
    assert artifact.metadata["format_version"] == 1
    assert artifact.metadata["vocab"] == {"enc0_vocab_size": 40, "enc1_vocab_size": 30}
    assert artifact.metadata["metrics"] == result.metrics
    assert not list((tmp_path / "out").glob(".*tmp"))  # the temporary name was renamed into place


def test_corrupt_artifacts_are_named_errors(tmp_path: Path) -> None:
    from object2vec import ArtifactError

    (tmp_path / "bad.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(ArtifactError, match=r"bad.tar.gz: not a readable model.tar.gz"):
        Predictor.load(tmp_path / "bad.tar.gz")
    with pytest.raises(ArtifactError, match=r"missing.tar.gz: no such model artifact"):
        Predictor.load(tmp_path / "missing.tar.gz")
    with pytest.raises(ArtifactError, match=r"not an extracted object2vec model \(no model.pt\)"):
        Predictor.load(tmp_path)


# ---- pretrained embeddings ---------------------------------------------------------------------------------


def test_pretrained_embeddings_frozen_and_trainable(tmp_path: Path) -> None:
    aux = tmp_path / "aux"
    aux.mkdir()
    vectors = {3: [0.5] * 8, 7: [-0.25] * 8}
    (aux / "users.txt").write_text(
        "".join(f"{t} " + " ".join(map(str, v)) + "\n" for t, v in vectors.items())
    )
    (aux / "items.txt").write_text(
        "apple " + " ".join(["1.0"] * 8) + "\nzebra " + " ".join(["2.0"] * 8) + "\n"
    )
    (aux / "item_vocab.txt").write_text("pad\napple\nbanana\n")  # line i is token id i; zebra is not in it
    channels = {**write_channels(tmp_path / "data", test=False), "auxiliary": aux}
    frozen = fit(tmp_path / "f", channels, enc0_pretrained_embedding_file="users.txt", epochs="2",
                 enc1_pretrained_embedding_file="items.txt", enc1_vocab_file="item_vocab.txt")  # fmt: skip
    state = load_artifact(frozen.model_path).state_dict
    assert torch.equal(state["enc0.embedding.weight"][3], torch.full((8,), 0.5))
    assert torch.equal(state["enc0.embedding.weight"][7], torch.full((8,), -0.25))
    assert torch.equal(state["enc1.embedding.weight"][1], torch.full((8,), 1.0))
    trainable = fit(tmp_path / "t", channels, enc0_pretrained_embedding_file="users.txt",
                    enc0_freeze_pretrained_embedding="False", epochs="2")  # fmt: skip
    assert not torch.equal(load_artifact(trainable.model_path).state_dict["enc0.embedding.weight"][3],
                           torch.full((8,), 0.5))  # fmt: skip


def test_pretrained_file_errors(tmp_path: Path) -> None:
    aux = tmp_path / "aux"
    aux.mkdir()
    (aux / "short.txt").write_text("3 0.1 0.2\n")
    channels = write_channels(tmp_path / "data", test=False)
    with pytest.raises(ChannelError, match="needs an auxiliary channel"):
        fit(tmp_path, channels, enc0_pretrained_embedding_file="short.txt")
    with pytest.raises(ChannelError, match=r"short.txt:1: 2 values, expected enc0_token_embedding_dim=8"):
        fit(tmp_path, {**channels, "auxiliary": aux}, enc0_pretrained_embedding_file="short.txt")
    with pytest.raises(ChannelError, match=r"absent.txt does not exist in the auxiliary channel"):
        fit(tmp_path, {**channels, "auxiliary": aux}, enc0_pretrained_embedding_file="absent.txt")
