"""Channels: parsing (fast path and json fallback), one-line file:line errors, negatives, batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from object2vec_testdata import TINY, checkerboard, write_channel

from object2vec import ChannelError, Hyperparameters
from object2vec.data import Batches, Sequences, parse_jsonlines, read_channel, with_negatives
from object2vec.model import PAD

torch.set_num_threads(1)

HP = Hyperparameters.from_dict(TINY)
HP_SOFTMAX = HP.with_overrides({"output_layer": "softmax", "num_classes": "3"})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c" / "data.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_fast_path_equals_json_path(tmp_path: Path) -> None:
    records = checkerboard(200, 0)
    fast = parse_jsonlines(write(tmp_path, "".join(json.dumps(r) + "\n" for r in records)))
    # A blank line forces the per-line json path; the records are the same.
    slow = parse_jsonlines(
        write(tmp_path, json.dumps(records[0]) + "\n\n" + "".join(json.dumps(r) + "\n" for r in records[1:]))
    )
    for a, b in zip(fast[:3], slow[:3], strict=True):
        if isinstance(a, Sequences):
            assert np.array_equal(a.values, b.values)
            assert np.array_equal(a.offsets, b.offsets)
        else:
            assert np.array_equal(a, b)
    assert fast[3][1] == 2
    assert slow[3][1] == 3


def test_fast_path_takes_any_key_order(tmp_path: Path) -> None:
    text = '{"label": 4, "in1": [7], "in0": [3]}\n{"label": -1.5e-1, "in1": [0], "in0": [12]}'
    path = write(tmp_path, text)
    in0, in1, labels, _ = parse_jsonlines(path)
    assert labels.tolist() == [4.0, -0.15]
    assert in0.values.tolist() == [3, 12]
    assert in1.values.tolist() == [7, 0]


def test_sequences_and_truncation(tmp_path: Path) -> None:
    write(
        tmp_path,
        '{"in0": [1, 2, 3, 4, 5, 6], "in1": [2], "label": 1}\n{"in0": [7], "in1": [3, 4], "label": 2}\n',
    )
    data = read_channel(tmp_path / "c", HP, "train")  # enc0_max_seq_len=4
    assert data.in0.padded().tolist() == [[1, 2, 3, 4], [7, PAD, PAD, PAD]]
    assert data.in1.padded().tolist() == [[2, PAD], [3, 4]]
    assert data.labels.dtype == np.float32


def test_every_file_of_a_channel_folder_is_read(tmp_path: Path) -> None:
    write_channel(tmp_path / "c", checkerboard(5, 0), "part-1.jsonl")
    write_channel(tmp_path / "c", checkerboard(7, 1), "part-2.jsonl")
    (tmp_path / "c" / ".hidden").write_text("not data")
    assert len(read_channel(tmp_path / "c", HP, "train")) == 12


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"in0": [1], "in1": [2], "label": 1}\n{"in0": [1], "in1": [2]', r"data.jsonl:2: not valid JSON"),
        ('{"in0": [1], "in1": [2], "label": 1}\n[1, 2]\n', r"data.jsonl:2: expected a JSON object, got list"),
        ('{"in1": [2], "label": 1}\n', r"data.jsonl:1: in0 is missing"),
        ('{"in0": [], "in1": [2], "label": 1}\n', r"data.jsonl:1: in0 must be a non-empty list of"),
        ('{"in0": [1.5], "in1": [2], "label": 1}\n', r"data.jsonl:1: in0 must be a non-empty list"),
        ('{"in0": ["7"], "in1": [2], "label": 1}\n', r"data.jsonl:1: in0 must be a non-empty list"),
        ('{"in0": [1], "in1": [2]}\n', r"data.jsonl:1: label is missing"),
        ('{"in0": [1], "in1": [2], "label": "5"}\n', r"data.jsonl:1: label must be a number"),
        ('{"in0": [1], "in1": [2], "label": 1}\n' * 3 + '{"in0": [40], "in1": [2], "label": 1}\n',
         r"data.jsonl:4: in0 token 40 is outside the vocabulary 0..39 \(enc0_vocab_size=40\)"),
        ('{"in0": [1], "in1": [2, -1], "label": 1}\n', r"data.jsonl:1: in1 token -1 is outside the"),
        ('{"in0": [1], "in1": [2], "label": NaN}\n', r"data.jsonl:1: label nan is not a finite number"),
    ],
)  # fmt: skip
def test_bad_lines_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ChannelError, match=message) as e:
        read_channel(tmp_path / "c", HP, "train")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("label", ["3", "-1", "1.5"])
def test_softmax_labels_must_be_class_ids(tmp_path: Path, label: str) -> None:
    write(
        tmp_path, '{"in0": [1], "in1": [2], "label": 0}\n' + f'{{"in0": [1], "in1": [2], "label": {label}}}\n'
    )
    with pytest.raises(
        ChannelError, match=rf"data.jsonl:2: label {label} is not a class id in 0..2 \(num_classes=3"
    ):
        read_channel(tmp_path / "c", HP_SOFTMAX, "train")


def test_softmax_labels_accept_integral_floats(tmp_path: Path) -> None:
    write(tmp_path, '{"in0": [1], "in1": [2], "label": 2.0}\n')
    assert read_channel(tmp_path / "c", HP_SOFTMAX, "train").labels.tolist() == [2]


def test_missing_or_empty_channel(tmp_path: Path) -> None:
    with pytest.raises(ChannelError, match=r"channel 'train': .* does not exist"):
        read_channel(tmp_path / "nope", HP, "train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ChannelError, match="channel 'train': no files in"):
        read_channel(tmp_path / "empty", HP, "train")
    write(tmp_path, "\n")
    with pytest.raises(ChannelError, match=r"channel 'validation': .* holds no records"):
        read_channel(tmp_path / "c", HP, "validation")


# ---- negative sampling -------------------------------------------------------------------------------------


def small_dataset(tmp_path: Path, sequences: bool = False) -> object:
    write_channel(tmp_path / "pos", checkerboard(50, 0, classes=True, sequences=sequences))
    return read_channel(tmp_path / "pos", HP_SOFTMAX, "train")


@pytest.mark.parametrize("sequences", [False, True])
def test_negative_sampling_counts_labels_and_pairs(tmp_path: Path, sequences: bool) -> None:
    data = small_dataset(tmp_path, sequences)
    out = with_negatives(data, 3, np.random.default_rng(0))
    positives = np.flatnonzero(data.labels != 0)
    assert 0 < len(positives) < 50  # the checkerboard has both classes: only positives anchor negatives
    assert len(out) == 50 + 3 * len(positives)
    assert np.array_equal(out.labels[:50], data.labels)
    assert (out.labels[50:] == 0).all()
    # Negative k of positive p keeps p's in0 and takes the in1 of some training record.
    made = np.arange(50, len(out))
    assert out.in0.take(made).padded().tolist() == data.in0.take(np.repeat(positives, 3)).padded().tolist()
    training_in1 = {tuple(r) for r in data.in1.padded().tolist()}
    assert {tuple(r) for r in out.in1.take(made).padded().tolist()} <= training_in1


def test_negative_sampling_is_seeded(tmp_path: Path) -> None:
    data = small_dataset(tmp_path)
    a, b = (with_negatives(data, 2, np.random.default_rng(7)) for _ in range(2))
    c = with_negatives(data, 2, np.random.default_rng(8))
    assert np.array_equal(a.in1.values, b.in1.values)
    assert not np.array_equal(a.in1.values, c.in1.values)
    assert with_negatives(data, 0, np.random.default_rng(0)) is data


# ---- batches -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sequences", "bucket_width"), [(False, 0), (True, 0), (True, 1), (True, 2)])
def test_batches_cover_every_record_once(tmp_path: Path, sequences: bool, bucket_width: int) -> None:
    data = small_dataset(tmp_path, sequences)
    batches = Batches(data, 8, np.random.default_rng(0), bucket_width)
    seen = []
    for in0, in1, labels in batches:
        assert in0.dtype == torch.int64
        assert len(in0) == len(in1) == len(labels) <= 8
        assert ((in0 != PAD).sum(1) >= 1).all()
        seen += [tuple(t for t in row if t != PAD) for row in in0.tolist()]
    assert len(seen) == len(data) == 50
    assert sorted(seen) == sorted(
        tuple(r)
        for r in (
            data.in0.values[a:b].tolist()
            for a, b in zip(data.in0.offsets[:-1], data.in0.offsets[1:], strict=True)
        )
    )


def test_buckets_group_similar_lengths(tmp_path: Path) -> None:
    data = small_dataset(tmp_path, sequences=True)
    for in0, in1, _ in Batches(data, 8, np.random.default_rng(0), bucket_width=1):
        assert len(set((in0 != PAD).sum(1).tolist())) == 1
        assert len(set((in1 != PAD).sum(1).tolist())) == 1
