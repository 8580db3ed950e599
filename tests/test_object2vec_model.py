"""The network: encoder and comparator shapes, padding, output layers, tied tables."""

from __future__ import annotations

import pytest
import torch

from object2vec import Hyperparameters
from object2vec.model import PAD, Comparator, Object2Vec

torch.set_num_threads(1)

BASE = {"enc0_max_seq_len": "6", "enc0_vocab_size": "20", "enc_dim": "12", "enc0_token_embedding_dim": "5",
        "enc1_token_embedding_dim": "7", "mlp_dim": "9", "mlp_layers": "2"}  # fmt: skip
TOKENS = torch.tensor([[1, 2, 3, PAD, PAD], [4, PAD, PAD, PAD, PAD], [5, 6, 7, 8, 9]])  # (3, 5) ragged


def build(**changes: str) -> Object2Vec:
    torch.manual_seed(0)
    return Object2Vec(Hyperparameters.from_dict({**BASE, **changes})).eval()


@pytest.mark.parametrize("network", ["pooled_embedding", "bilstm", "hcnn"])
@pytest.mark.parametrize("side", [0, 1])
def test_encoder_shape_and_padding(network: str, side: int) -> None:
    model = build(enc0_network=network, enc0_layers="2")
    encoded = model.encode(side, TOKENS)
    assert encoded.shape == (3, 12)
    # More padding on the right changes nothing: padding is masked, not a token.
    wider = torch.cat([TOKENS, torch.full((3, 3), PAD)], dim=1)
    torch.testing.assert_close(model.encode(side, wider), encoded)
    # A row encodes the same alone as in a batch of longer sequences.
    alone = model.encode(side, torch.tensor([[4]]))
    torch.testing.assert_close(alone, encoded[1:2])


@pytest.mark.parametrize("network", ["pooled_embedding", "bilstm", "hcnn"])
def test_encoders_see_every_token(network: str) -> None:
    model = build(enc0_network=network)
    a = model.encode(0, torch.tensor([[1, 2, 3]]))
    b = model.encode(0, torch.tensor([[1, 2, 4]]))
    assert not torch.equal(a, b)


def test_pooled_embedding_is_projected_mean() -> None:
    model = build(enc0_network="pooled_embedding")
    table, proj = model.enc0.embedding.weight, model.enc0.proj
    expected = proj(table[[1, 2, 3]].mean(0, keepdim=True))
    torch.testing.assert_close(model.encode(0, torch.tensor([[1, 2, 3, PAD]])), expected)


def test_enc1_enc0_has_same_architecture_but_own_parameters() -> None:
    model = build(enc0_network="hcnn", enc0_layers="3")
    assert type(model.enc1) is type(model.enc0)
    assert len(model.enc1.convs) == 3
    assert model.enc1.embedding is not model.enc0.embedding
    assert model.enc1.embedding.embedding_dim == 7  # token dims stay per side


def test_tied_token_embedding_weight_shares_one_table() -> None:
    model = build(tied_token_embedding_weight="True", enc1_token_embedding_dim="5")
    assert model.enc0.embedding is model.enc1.embedding
    assert len(model.token_embeddings()) == 1


@pytest.mark.parametrize(
    ("ops", "width"),
    [
        ("hadamard", 4),
        ("concat", 8),
        ("abs_diff", 4),
        ("hadamard, concat, abs_diff", 16),
        ("abs_diff, hadamard", 8),
    ],
)
def test_comparator_shape_and_order(ops: str, width: int) -> None:
    comparator = Comparator(tuple(op.strip() for op in ops.split(",")))
    u, v = torch.tensor([[1.0, -2.0, 3.0, 0.5]]), torch.tensor([[2.0, 1.0, -1.0, 0.5]])
    out = comparator(u, v)
    assert out.shape == (1, width) == (1, comparator.out_dim(4))
    expected = {"hadamard": [u * v], "concat": [u, v], "abs_diff": [(u - v).abs()]}
    torch.testing.assert_close(out, torch.cat([t for op in comparator.ops for t in expected[op]], dim=1))


def test_softmax_output_and_cross_entropy() -> None:
    model = build(output_layer="softmax", num_classes="4")
    output, loss = model(TOKENS, TOKENS, torch.tensor([0, 3, 1]))
    assert output.shape == (3, 4)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(output, torch.tensor([0, 3, 1])))
    torch.testing.assert_close(model.scores(output).sum(1), torch.ones(3))


def test_mean_squared_error_output() -> None:
    model = build(output_layer="mean_squared_error")
    labels = torch.tensor([1.0, 2.0, 5.0])
    output, loss = model(TOKENS, TOKENS, labels)
    assert output.shape == (3, 1)
    torch.testing.assert_close(loss, ((output[:, 0] - labels) ** 2).mean())
    assert model(TOKENS, TOKENS)[1] is None


@pytest.mark.parametrize(("activation", "kind"), [("tanh", torch.nn.Tanh), ("relu", torch.nn.ReLU)])
def test_mlp_layers_and_activation(activation: str, kind: type) -> None:
    model = build(mlp_activation=activation, mlp_layers="3")
    assert sum(isinstance(m, torch.nn.Linear) for m in model.mlp) == 3
    assert sum(isinstance(m, kind) for m in model.mlp) == 3
    assert len(build(mlp_layers="0").mlp) == 0


def test_dropout_only_in_training() -> None:
    model = build(dropout="0.5")
    a, _ = model(TOKENS, TOKENS)
    torch.testing.assert_close(model(TOKENS, TOKENS)[0], a)  # eval: deterministic
    model.train()
    assert not torch.equal(model(TOKENS, TOKENS)[0], model(TOKENS, TOKENS)[0])


def test_row_sparse_tables_have_sparse_gradients() -> None:
    model = build(token_embedding_storage_type="row_sparse").train()
    _, loss = model(TOKENS, TOKENS, torch.tensor([0, 1, 0]))
    loss.backward()
    grad = model.enc0.embedding.weight.grad
    assert grad.is_sparse
    assert set(grad.coalesce().indices()[0].tolist()) == {1, 2, 3, 4, 5, 6, 7, 8, 9}  # never the padding


@pytest.mark.parametrize("ops", ["hadamard, concat, abs_diff", "concat", "abs_diff, hadamard"])
@pytest.mark.parametrize("mlp_layers", ["0", "2"])
def test_repeated_token_pairs_take_the_shortcut_to_the_same_function(ops: str, mlp_layers: str) -> None:
    model = build(comparator_list=ops, mlp_layers=mlp_layers, output_layer="softmax", num_classes="3")
    generator = torch.Generator().manual_seed(0)
    in0, in1 = (
        torch.randint(0, 5, (200, 1), generator=generator),
        torch.randint(0, 5, (200, 1), generator=generator),
    )
    assert model._first_layer_of_token_pairs(in0[:, 0], in1[:, 0], [*model.mlp, model.output][0]) is not None
    output, _ = model(in0, in1)
    reference = model.comparator(model.encode(0, in0), model.encode(1, in1))
    for layer in [*model.mlp, model.output]:
        reference = layer(reference)
    torch.testing.assert_close(output, reference)
    # Few repeats (one pair): the plain path.
    assert model._first_layer_of_token_pairs(in0[:1, 0], in1[:1, 0], model.output) is None
