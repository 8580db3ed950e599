"""Tiny synthetic Object2Vec data with a known answer, shared by the tests/test_object2vec_*.py modules.

Checkerboard: even users like even items and odd users like odd items (rating 4.5 / class 1), and dislike the
other parity (rating 1.5 / class 0). A model that learns the parity beats the mean baseline by far.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

USERS, ITEMS = 40, 30

TINY = {  # small and fast, valid for every test that does not care about the architecture
    "enc0_max_seq_len": "4",
    "enc0_vocab_size": str(USERS),
    "enc1_vocab_size": str(ITEMS),
    "enc1_max_seq_len": "4",
    "enc0_network": "pooled_embedding",
    "enc1_network": "enc0",
    "enc0_token_embedding_dim": "8",
    "enc1_token_embedding_dim": "8",
    "enc_dim": "8",
    "mlp_layers": "1",
    "mlp_dim": "8",
    "mlp_activation": "tanh",
    "mini_batch_size": "32",
    "epochs": "1",
    "learning_rate": "0.01",
    "optimizer": "adam",
    "output_layer": "mean_squared_error",
}


def checkerboard(n: int, seed: int, *, classes: bool = False, sequences: bool = False) -> list[dict]:
    """n records; with sequences, in0/in1 are 1-4 tokens of one parity (the first token decides)."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(n):
        u, i = int(rng.integers(USERS)), int(rng.integers(ITEMS))
        like = u % 2 == i % 2
        label: float | int = int(like) if classes else (4.5 if like else 1.5) + float(rng.normal(0, 0.3))
        in0, in1 = [u], [i]
        if sequences:
            in0 += [int(x) for x in rng.integers(0, USERS // 2, int(rng.integers(0, 4))) * 2 + u % 2]
            in1 += [int(x) for x in rng.integers(0, ITEMS // 2, int(rng.integers(0, 4))) * 2 + i % 2]
        records.append({"in0": in0, "in1": in1, "label": label})
    return records


def write_channel(folder: Path, records: list[dict], name: str = "data.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def write_channels(
    root: Path, *, classes: bool = False, sequences: bool = False, n: int = 600, test: bool = True
) -> dict[str, Path]:
    """train / validation (/ test) channel folders of checkerboard records."""
    channels = {
        "train": write_channel(root / "train", checkerboard(n, 1, classes=classes, sequences=sequences)),
        "validation": write_channel(
            root / "validation", checkerboard(n // 4, 2, classes=classes, sequences=sequences)
        ),
    }
    if test:
        channels["test"] = write_channel(
            root / "test", checkerboard(n // 4, 3, classes=classes, sequences=sequences)
        )
    return channels
