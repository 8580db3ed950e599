"""The Object2Vec network: two encoders, a comparator, an MLP and an output layer. No I/O.

    in0 ─► enc0 ─► u (b, enc_dim) ─┐
                                   ├─► comparator ─► MLP ─► output (softmax logits | 1 regression value)
    in1 ─► enc1 ─► v (b, enc_dim) ─┘

Batches are padded with PAD (-1), so every id 0..vocab_size-1 is a real token (MovieLens ids are used raw).
Choices the SageMaker docs leave open:
- pooled_embedding: mean of the token embeddings over the real tokens, then a linear map to enc_dim.
- bilstm: `layers` stacked bidirectional LSTMs with enc_dim//2 units per direction; the last layer's final
  forward and backward states are concatenated and mapped linearly to enc_dim.
- hcnn: `layers` 1-D convolutions of `cnn_filter_width` and enc_dim channels with ReLU; layer i is dilated
  2**i so the receptive field grows hierarchically (1, 2, 4, 8 tokens apart), layers after the first are
  residual, and a max over the real positions gives the (b, enc_dim) encoding.
- dropout is applied to both encodings and after every hidden MLP layer.
- Batches of one-token objects that repeat tokens take an exact shortcut through the first layer (see
  `_first_layer_of_token_pairs`).
- Initialisation: token embeddings N(0, EMBEDDING_INIT_STD²), linear layers PyTorch's default (Kaiming
  uniform); the trainer sets the regression output bias to the mean training label.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from object2vec.hyperparameters import EncoderSpec, Hyperparameters

PAD = -1
GRID_MAX_WIDTH = 64  # first layers up to this wide score user x item grids as matrix products (see grid)
# Small enough that 300-d embeddings and their means stay O(1), large enough for the hadamard term to learn.
EMBEDDING_INIT_STD = 0.1


def embed_tokens(embedding: nn.Embedding, tokens: torch.Tensor) -> torch.Tensor:
    """(b, t) padded ids -> (b, t, d) embeddings; padding positions are zeros and get no gradient (so a
    row_sparse table only ever sees rows that really occur)."""
    mask = tokens != PAD
    if bool(mask.all()):
        return embedding(tokens)
    out = embedding.weight.new_zeros(*tokens.shape, embedding.embedding_dim)
    out[mask] = embedding(tokens[mask])
    return out


class PooledEmbedding(nn.Module):
    def __init__(self, embedding: nn.Embedding, spec: EncoderSpec, enc_dim: int) -> None:
        super().__init__()
        self.embedding = embedding
        self.proj = nn.Linear(spec.token_embedding_dim, enc_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.size(1) == 1:  # one token per object (the CF case): the mean is the embedding itself
            return self.proj(self.embedding(tokens[:, 0]))  # (b, enc_dim)
        x = embed_tokens(self.embedding, tokens)  # (b, t, d)
        counts = (tokens != PAD).sum(1, keepdim=True).clamp(min=1)  # (b, 1)
        return self.proj(x.sum(1) / counts)  # (b, enc_dim)


class BiLSTM(nn.Module):
    def __init__(self, embedding: nn.Embedding, spec: EncoderSpec, enc_dim: int) -> None:
        super().__init__()
        self.embedding = embedding
        hidden = max(1, enc_dim // 2)
        self.lstm = nn.LSTM(
            spec.token_embedding_dim, hidden, num_layers=spec.layers, batch_first=True, bidirectional=True
        )
        self.proj = nn.Linear(2 * hidden, enc_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != PAD).sum(1).clamp(min=1)  # (b,)
        x = embed_tokens(self.embedding, tokens)  # (b, t, d)
        # Packing makes the backward direction start at each sequence's last real token, not at padding.
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h: (layers * 2, b, hidden)
        return self.proj(torch.cat([h[-2], h[-1]], dim=1))  # (b, enc_dim)


class HCNN(nn.Module):
    def __init__(self, embedding: nn.Embedding, spec: EncoderSpec, enc_dim: int) -> None:
        super().__init__()
        self.embedding = embedding
        self.width = spec.cnn_filter_width
        dims = [spec.token_embedding_dim] + [enc_dim] * spec.layers
        self.convs = nn.ModuleList(
            nn.Conv1d(dims[i], dims[i + 1], self.width, dilation=2**i) for i in range(spec.layers)
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != PAD).unsqueeze(1)  # (b, 1, t)
        x = embed_tokens(self.embedding, tokens).transpose(1, 2)  # (b, d, t)
        for i, conv in enumerate(self.convs):
            reach = conv.dilation[0] * (self.width - 1)  # "same" padding, split left/right
            y = F.relu(conv(F.pad(x * mask, (reach // 2, reach - reach // 2))))  # (b, enc_dim, t)
            x = y if i == 0 else x + y
        return x.masked_fill(~mask, float("-inf")).amax(2)  # (b, enc_dim)


ENCODERS: dict[str, type[nn.Module]] = {"pooled_embedding": PooledEmbedding, "bilstm": BiLSTM, "hcnn": HCNN}


class Comparator(nn.Module):
    """The comparator_list terms, concatenated in order: hadamard u*v, concat [u, v], abs_diff |u-v|."""

    def __init__(self, ops: tuple[str, ...]) -> None:
        super().__init__()
        self.ops = ops

    def out_dim(self, enc_dim: int) -> int:
        return enc_dim * sum(2 if op == "concat" else 1 for op in self.ops)

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        terms = {"hadamard": lambda: [u * v], "concat": lambda: [u, v], "abs_diff": lambda: [(u - v).abs()]}
        return torch.cat([t for op in self.ops for t in terms[op]()], dim=1)  # (b, out_dim)


class Dropout(nn.Module):
    """Inverted dropout drawing its mask with torch.rand: the same distribution as nn.Dropout, but about twice
    as fast on CPU, where nn.Dropout's bernoulli_ dominated the step time of small models."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        if keep == 0.0:
            return x * 0.0
        return x * ((torch.rand_like(x) < keep).to(x.dtype) * (1.0 / keep))


ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "linear": nn.Identity}


class Object2Vec(nn.Module):
    def __init__(self, hp: Hyperparameters) -> None:
        super().__init__()
        self.hp = hp
        specs = (hp.encoder(0), hp.encoder(1))
        sparse = hp.token_embedding_storage_type == "row_sparse"  # sparse grads: only looked-up rows update
        emb0 = nn.Embedding(specs[0].vocab_size, specs[0].token_embedding_dim, sparse=sparse)
        emb1 = (
            emb0
            if hp.tied_token_embedding_weight
            else nn.Embedding(specs[1].vocab_size, specs[1].token_embedding_dim, sparse=sparse)
        )
        self.enc0 = ENCODERS[specs[0].network](emb0, specs[0], hp.enc_dim)
        self.enc1 = ENCODERS[specs[1].network](emb1, specs[1], hp.enc_dim)
        self.dropout = Dropout(hp.dropout)
        self.comparator = Comparator(hp.comparator_list)
        width = self.comparator.out_dim(hp.enc_dim)
        layers: list[nn.Module] = []
        for _ in range(hp.mlp_layers):
            layers += [nn.Linear(width, hp.mlp_dim), ACTIVATIONS[hp.mlp_activation](), Dropout(hp.dropout)]
            width = hp.mlp_dim
        self.mlp = nn.Sequential(*layers)
        self.output = nn.Linear(width, 1 if hp.is_regression else hp.num_classes)
        for emb in self.token_embeddings():
            nn.init.normal_(emb.weight, std=EMBEDDING_INIT_STD)

    def token_embeddings(self) -> list[nn.Embedding]:
        """The token tables, once each (one table when tied_token_embedding_weight)."""
        tables = [self.enc0.embedding, self.enc1.embedding]
        return tables[:1] if tables[0] is tables[1] else tables

    def encode(self, side: int, tokens: torch.Tensor) -> torch.Tensor:
        """(b, t) padded token ids of in0 (side 0) or in1 (side 1) -> (b, enc_dim) embeddings."""
        return (self.enc0, self.enc1)[side](tokens)

    def forward(
        self, in0: torch.Tensor, in1: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(b, t0), (b, t1) ids -> output ((b, num_classes) logits or (b, 1) regression values) and loss."""
        layers = [*self.mlp, self.output]  # the first one reads the comparator's vector
        x = None  # the first layer's output, when the shortcut computes it
        if in0.size(1) == 1 and in1.size(1) == 1 and not (self.training and self.dropout.p > 0):
            x = self._first_layer_of_token_pairs(in0[:, 0], in1[:, 0], layers[0])  # (b, width) or None
        if x is None:
            output = self.head(self.dropout(self.enc0(in0)), self.dropout(self.enc1(in1)))
        else:
            for layer in layers[1:]:
                x = layer(x)
            output = x  # (b, num_classes) | (b, 1)
        if labels is None:
            return output, None
        if self.hp.is_regression:
            return output, F.mse_loss(output[:, 0], labels)
        return output, F.cross_entropy(output, labels)

    def head(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """(b, enc_dim) encodings of both sides -> forward's output: comparator, MLP, output layer."""
        x = self.comparator(u, v)  # (b, out_dim)
        for layer in [*self.mlp, self.output]:
            x = layer(x)
        return x  # (b, num_classes) | (b, 1)

    def _first_layer_of_token_pairs(
        self, tok0: torch.Tensor, tok1: torch.Tensor, first: nn.Linear
    ) -> torch.Tensor | None:
        """first(comparator(enc0(tok0), enc1(tok1))) for one token per side, in fewer operations; None when
        the batch has too few repeated tokens for that to pay.

        Why: a batch repeats users and movies (a 2048 batch of ml-100k holds ~850 distinct users), and the
        first layer is linear, so the `concat` blocks of its weight can be applied to each distinct encoding
        once and gathered, and each encoder runs once per distinct token. Same function up to float
        rounding; workshop-recommendation trains ~25% faster. Not used with dropout in training (its masks
        differ per pair), nor when the distinct tokens of both sides outnumber the pairs (batches of 64
        got slower)."""
        ids0, at0 = torch.unique(tok0, return_inverse=True)
        ids1, at1 = torch.unique(tok1, return_inverse=True)
        if len(ids0) + len(ids1) > len(tok0):
            return None
        enc0 = self.enc0(ids0.unsqueeze(1))  # (n0, enc_dim), n0 distinct in0 tokens
        enc1 = self.enc1(ids1.unsqueeze(1))  # (n1, enc_dim)
        return self._first_layer_of_encodings(enc0, at0, enc1, at1, first)

    def grid(self, enc0: torch.Tensor, enc1: torch.Tensor) -> torch.Tensor:
        """(r, enc_dim) in0 encodings and (i, enc_dim) in1 encodings -> (r, i, output) for every pair (eval
        mode): what ranking every item for every user needs.

        Without abs_diff the first layer is bilinear in the two encodings, so it is computed as matrix
        products (its hadamard block: one (r, d) x (d, i) product per output unit; concat blocks: once per
        encoding) instead of materialising r * i comparator vectors; with abs_diff, or a first layer wider
        than GRID_MAX_WIDTH, pairs are compared one by one."""
        layers = [*self.mlp, self.output]
        first: nn.Linear = layers[0]  # type: ignore[assignment]
        if "abs_diff" in self.comparator.ops or first.out_features > GRID_MAX_WIDTH:
            at0 = torch.arange(len(enc0)).repeat_interleave(len(enc1))
            at1 = torch.arange(len(enc1)).repeat(len(enc0))
            x = self._first_layer_of_encodings(enc0, at0, enc1, at1, first).reshape(len(enc0), len(enc1), -1)
        else:
            dim, col, x = enc0.size(1), 0, first.bias.expand(len(enc0), len(enc1), -1)
            for op in self.comparator.ops:
                w = first.weight[:, col : col + (2 * dim if op == "concat" else dim)]
                if op == "concat":
                    x = x + F.linear(enc0, w[:, :dim])[:, None, :] + F.linear(enc1, w[:, dim:])[None, :, :]
                else:  # hadamard: sum_k u_k v_k w_jk = (u * w_j) . v for each output unit j
                    x = x + torch.stack([(enc0 * w[j]) @ enc1.T for j in range(len(w))], dim=2)
                col += w.size(1)
        for layer in layers[1:]:
            x = layer(x)
        return x  # (r, i, num_classes) | (r, i, 1)

    def _first_layer_of_encodings(
        self, enc0: torch.Tensor, at0: torch.Tensor, enc1: torch.Tensor, at1: torch.Tensor, first: nn.Linear
    ) -> torch.Tensor:
        """first(comparator(enc0[at0], enc1[at1])), the concat blocks applied once per distinct encoding."""
        u, v = enc0[at0], enc1[at1]  # (b, enc_dim)
        dim, col, x = enc0.size(1), 0, first.bias
        for op in self.comparator.ops:
            if op == "concat":
                x = x + F.linear(enc0, first.weight[:, col : col + dim])[at0]  # (b, width)
                x = x + F.linear(enc1, first.weight[:, col + dim : col + 2 * dim])[at1]
                col += 2 * dim
            else:
                term = u * v if op == "hadamard" else (u - v).abs()  # (b, enc_dim)
                x = x + F.linear(term, first.weight[:, col : col + dim])
                col += dim
        return x

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        """forward's output -> what the endpoint returns: softmax probabilities, or the regression value."""
        return output if self.hp.is_regression else output.softmax(dim=1)
