"""Training cost follows the data (compact token tables), and ranking models stop on validation HR@10."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from object2vec_testdata import TINY, checkerboard, write_channel

from object2vec import Hyperparameters, Predictor, train
from object2vec.artifact import load_artifact
from object2vec.compact import IdMap, compact_model
from object2vec.data import read_channel
from object2vec.model import Object2Vec
from object2vec.ranking import METRIC, HitRate

torch.set_num_threads(1)

BIG_VOCAB = {"enc0_vocab_size": "200000", "enc1_vocab_size": "150000"}


def low_user_channels(root: Path) -> dict[str, Path]:
    """Only users 0..19 and items 0..29 occur, so rows 20.. of the user table are never looked up."""
    records = [r for r in checkerboard(500, 0) if r["in0"][0] < 20]
    return {
        "train": write_channel(root / "train", records[:200]),
        "validation": write_channel(root / "validation", records[200:]),
    }


def test_the_trained_tables_hold_only_the_ids_the_channels_hold(tmp_path: Path) -> None:
    channels = low_user_channels(tmp_path)
    hp = Hyperparameters.from_dict({**TINY, **BIG_VOCAB})
    data = [read_channel(channels[name], hp, name) for name in ("train", "validation")]
    ids = IdMap.of(hp, data)
    assert ids.ids[0].tolist() == sorted({int(u) for d in data for u in d.in0.values})
    model = compact_model(Object2Vec(hp), ids)
    assert model.enc0.embedding.num_embeddings == len(ids.ids[0]) <= 20  # not 200,000 rows per step
    assert model.enc1.embedding.num_embeddings == len(ids.ids[1]) <= 30
    renumbered = ids.renumber(data[0])
    assert renumbered.in0.values.max() < len(ids.ids[0])
    assert np.array_equal(ids.ids[0][renumbered.in0.values], data[0].in0.values)  # order kept, nothing lost


@pytest.mark.parametrize("storage", ["dense", "row_sparse"])
def test_compact_training_equals_full_table_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str
) -> None:
    channels = low_user_channels(tmp_path / "data")
    changes = {**TINY, "epochs": "3", "weight_decay": "0.01", "token_embedding_storage_type": storage}
    compact = train(changes, channels, tmp_path / "compact", progress=False)
    # Full-table training, as before: every id of the vocabulary is "held", so nothing is compacted.
    monkeypatch.setattr(
        IdMap,
        "of",
        classmethod(
            lambda cls, hp, data: cls((np.arange(hp.enc0_vocab_size), np.arange(hp.enc1_vocab_size)))
        ),
    )
    full = train(changes, channels, tmp_path / "full", progress=False)
    a, b = load_artifact(compact.model_path).state_dict, load_artifact(full.model_path).state_dict
    assert a.keys() == b.keys()
    for name in a:
        if name == "enc0.embedding.weight":
            torch.testing.assert_close(a[name][:20], b[name][:20])  # every user that occurs
            if storage == "row_sparse":  # never looked up: the initial rows, exactly
                assert torch.equal(a[name][20:], b[name][20:])
            else:  # full-table decay drives them towards 0; compact training puts them there
                assert torch.equal(a[name][20:], torch.zeros_like(a[name][20:]))
                with torch.random.fork_rng():
                    torch.manual_seed(0)  # the trainer's seed: the same initial table
                    initial = Object2Vec(Hyperparameters.from_dict(changes)).enc0.embedding.weight.detach()
                assert float(b[name][20:].norm()) < 0.7 * float(initial[20:].norm())
        else:
            torch.testing.assert_close(a[name], b[name])
    assert compact.metrics["validation:mean_squared_error"] == pytest.approx(
        full.metrics["validation:mean_squared_error"], rel=1e-5
    )


def test_huge_id_ranges_train_and_serve(tmp_path: Path) -> None:
    scattered = [
        {**r, "in0": [r["in0"][0] * 4999 + 7], "in1": [r["in1"][0] * 4999 + 3]} for r in checkerboard(600, 1)
    ]
    channels = {"train": write_channel(tmp_path / "train", scattered)}
    result = train({**TINY, **BIG_VOCAB, "epochs": "8"}, channels, tmp_path / "out", progress=False)
    predictor = Predictor.load(result.model_path)
    assert predictor.model.enc0.embedding.num_embeddings == 200000  # the artifact keeps SageMaker's shape
    body = b'{"instances": [{"in0": [7], "in1": [3]}, {"in0": [7], "in1": [5002]}]}'
    scores, _ = predictor.invoke(body, "application/json")
    even_even, even_odd = (p["scores"][0] for p in json.loads(scores)["predictions"])
    assert even_even > even_odd + 1.0  # user 0 likes item 0 (same parity), not item 1


# ---- HR@10 early stopping ----------------------------------------------------------------------------------


def implicit_channels(root: Path) -> dict[str, Path]:
    """Positives only: user u meets items of its parity; validation holds other positives of the same kind."""
    positives = [{**r, "label": 1} for r in checkerboard(1200, 1) if r["in0"][0] % 2 == r["in1"][0] % 2]
    return {
        "train": write_channel(root / "train", positives[:450]),
        "validation": write_channel(root / "validation", positives[450:]),
    }


def test_negative_sampling_stops_on_validation_hit_rate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    changes = {**TINY, "negative_sampling_rate": "3", "epochs": "6", "early_stopping_patience": "2"}
    with caplog.at_level(logging.INFO, logger="object2vec"):
        result = train(changes, implicit_channels(tmp_path), tmp_path / "out", progress=False)
    rates = [h[f"validation:{METRIC}"] for h in result.history]
    assert all(0.0 <= r <= 1.0 for r in rates)
    assert result.best_epoch == 1 + int(np.argmax(rates))  # the kept epoch is the best ranking, not loss
    assert result.metrics[f"validation:{METRIC}"] == max(rates)
    assert any(f"validation {METRIC} <score>=" in m for m in caplog.messages)


def test_hit_rate_ranks_only_what_the_user_has_not_met(tmp_path: Path) -> None:
    channels = implicit_channels(tmp_path)
    hp = Hyperparameters.from_dict({**TINY, "negative_sampling_rate": "1"})
    train_data = read_channel(channels["train"], hp, "train")
    validation = read_channel(channels["validation"], hp, "validation")
    rate = HitRate(train_data, validation)
    assert not (rate.seen & rate.relevant).any()
    for k, user in enumerate(rate.users):
        met = set(train_data.in1.values[train_data.in0.values == user].tolist())
        assert set(rate.items[rate.seen[k]].tolist()) == met
    torch.manual_seed(0)
    value = rate(Object2Vec(hp))
    assert 0.0 <= value <= 1.0


@pytest.mark.parametrize(
    "changes",
    [
        {"comparator_list": "hadamard, concat", "mlp_layers": "0"},
        {"comparator_list": "hadamard, concat, abs_diff", "mlp_layers": "1"},
        {"comparator_list": "concat", "mlp_layers": "2", "output_layer": "softmax", "num_classes": "3"},
    ],
)
def test_grid_scores_every_pair_as_forward_does(changes: dict[str, str]) -> None:
    torch.manual_seed(0)
    model = Object2Vec(Hyperparameters.from_dict({**TINY, **changes})).eval()
    users, items = torch.tensor([[1], [2], [5], [39]]), torch.tensor([[3], [7], [29]])
    with torch.inference_mode():
        grid = model.grid(model.encode(0, users), model.encode(1, items))
        pairs = model(users.repeat_interleave(3, 0), items.repeat(4, 1))[0]
    torch.testing.assert_close(grid.flatten(0, 1), pairs)
