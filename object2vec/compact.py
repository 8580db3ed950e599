"""Train on the ids the channels hold, not on the whole vocabulary.

MovieLens ids are used raw, so a vocabulary is as large as the largest id (ml-25m: 209,171 movie ids for
59,047 movies), and a dense token table costs every optimizer step and every weight-averaging step one pass
over all its rows. The trainer therefore works on a compact copy of the model whose tables hold only the ids
some channel holds (renumbered 0..n-1 in id order), and writes the full-size tables back into the artifact
at the end: per-epoch time depends on the number of records and of distinct ids, not on the largest id.

The compact model computes what the full one would for every id that occurs: a row's embedding, its
gradient and its optimizer state only ever depend on that row, and the renumbering keeps id order (so the
distinct-token shortcut in the model batches identically). Rows of ids no channel holds get what full-table
training would leave in them: their initial value when nothing would have touched them (row_sparse storage,
no weight_decay, or a frozen pretrained table), and zero with dense storage and weight_decay, where every
step would have decayed them towards zero.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from object2vec.data import Dataset, Sequences
from object2vec.hyperparameters import Hyperparameters
from object2vec.model import Object2Vec

MIN_VOCAB = 2  # the smallest encN_vocab_size SageMaker accepts


@dataclass(frozen=True)
class IdMap:
    """The distinct ids of each side's token table, sorted: compact id k is ids[side][k]."""

    ids: tuple[np.ndarray, np.ndarray]  # (in0's table ids, in1's table ids); the same array when tied

    @classmethod
    def of(cls, hp: Hyperparameters, datasets: list[Dataset]) -> IdMap:
        seen = [np.unique(np.concatenate([d.in0.values for d in datasets])),
                np.unique(np.concatenate([d.in1.values for d in datasets]))]  # fmt: skip
        if hp.tied_token_embedding_weight:
            both = np.union1d(seen[0], seen[1])
            return cls((both, both))
        return cls((seen[0], seen[1]))

    def vocab_sizes(self) -> dict[str, str]:
        return {f"enc{side}_vocab_size": str(max(MIN_VOCAB, len(ids))) for side, ids in enumerate(self.ids)}

    def renumber(self, data: Dataset) -> Dataset:
        """The same records with every token replaced by its compact id."""
        return replace(data, in0=self._renumber(data.in0, 0), in1=self._renumber(data.in1, 1))

    def _renumber(self, seqs: Sequences, side: int) -> Sequences:
        return Sequences(np.searchsorted(self.ids[side], seqs.values).astype(np.int64), seqs.offsets)


def compact_model(full: Object2Vec, ids: IdMap) -> Object2Vec:
    """A model with the full one's weights whose token tables hold only the rows of `ids`."""
    hp = full.hp.with_overrides(ids.vocab_sizes())
    with torch.random.fork_rng(devices=[]):  # the trainer's random stream stays what it was without this
        model = Object2Vec(hp)
    state = full.state_dict()
    for name, rows in _table_rows(full, ids).items():
        table = state[name]
        small = table.new_zeros(int(ids.vocab_sizes()[_vocab_key(name)]), table.size(1))
        small[: len(rows)] = table[torch.from_numpy(rows)]
        state[name] = small
    model.load_state_dict(state)
    for big, small in zip(full.token_embeddings(), model.token_embeddings(), strict=True):
        small.weight.requires_grad_(big.weight.requires_grad)
    return model


def full_state(
    full: Object2Vec, compact_state: dict[str, torch.Tensor], ids: IdMap
) -> dict[str, torch.Tensor]:
    """The full model's state dict holding the compact model's weights (see the module doc for the rows of
    ids no channel holds)."""
    hp = full.hp
    state = dict(compact_state)
    for name, rows in _table_rows(full, ids).items():
        table = full.state_dict()[name].detach().clone()
        trained = full.get_submodule(name.removesuffix(".weight")).weight.requires_grad
        if trained and hp.token_embedding_storage_type == "dense" and hp.weight_decay > 0:
            table.zero_()
        table[torch.from_numpy(rows)] = compact_state[name][: len(rows)]
        state[name] = table
    return state


def _table_rows(model: Object2Vec, ids: IdMap) -> dict[str, np.ndarray]:
    """State-dict name of each token table (both names of a tied one) -> the ids of its compact rows."""
    return {"enc0.embedding.weight": ids.ids[0], "enc1.embedding.weight": ids.ids[1]}


def _vocab_key(name: str) -> str:
    return "enc0_vocab_size" if name.startswith("enc0.") else "enc1_vocab_size"
