"""Pretrained token embeddings from the `auxiliary` channel.

Format (GloVe-style text, UTF-8): one token per line, `token v1 v2 ... vd`, separated by spaces, with d equal
to encN_token_embedding_dim. Without `encN_vocab_file`, `token` is the integer token id. With it, `token` is a
word and the vocab file (one word per line; line i is token id i) maps words to ids; words absent from the
vocabulary are skipped, as with any GloVe file that covers more words than the vocabulary. Rows without a
pretrained vector keep their random initialisation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from object2vec.errors import ChannelError
from object2vec.hyperparameters import EncoderSpec


def read_vocab_file(path: Path) -> dict[str, int]:
    words = path.read_text(encoding="utf-8").splitlines()
    return {w.strip(): i for i, w in enumerate(words) if w.strip()}


def read_pretrained(auxiliary: Path, spec: EncoderSpec, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows (k,) token ids, vectors (k, token_embedding_dim) float32) from the encoder's pretrained file."""
    path = auxiliary / spec.pretrained_embedding_file
    if not path.is_file():
        raise ChannelError(
            f"enc{side}_pretrained_embedding_file: {path} does not exist in the auxiliary channel"
        )
    if spec.vocab_file and not (auxiliary / spec.vocab_file).is_file():
        raise ChannelError(f"enc{side}_vocab_file: {auxiliary / spec.vocab_file} does not exist")
    vocab = read_vocab_file(auxiliary / spec.vocab_file) if spec.vocab_file else None
    rows: list[int] = []
    vectors: list[list[float]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != spec.token_embedding_dim + 1:
            raise ChannelError(
                f"{path}:{number}: {len(parts) - 1} values, expected enc{side}_token_embedding_dim="
                f"{spec.token_embedding_dim}"
            )
        if vocab is not None:
            if parts[0] not in vocab:
                continue
            token = vocab[parts[0]]
        else:
            try:
                token = int(parts[0])
            except ValueError:
                raise ChannelError(
                    f"{path}:{number}: token {parts[0]!r} is not an integer id (no vocab file)"
                ) from None
        if not 0 <= token < spec.vocab_size:
            raise ChannelError(f"{path}:{number}: token id {token} is outside 0..{spec.vocab_size - 1}")
        try:
            vectors.append([float(x) for x in parts[1:]])
        except ValueError:
            raise ChannelError(f"{path}:{number}: values must be numbers") from None
        rows.append(token)
    return np.array(rows, dtype=np.int64), np.array(vectors, dtype=np.float32).reshape(
        -1, spec.token_embedding_dim
    )
