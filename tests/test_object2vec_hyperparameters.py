"""Hyperparameters: SageMaker names, defaults, string forms, validation (one-line errors), profiles."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from object2vec import HyperparameterError, Hyperparameters, profile_hyperparameters
from object2vec.profiles import PROFILES, WORKSHOP_PROFILES

torch.set_num_threads(1)

REQUIRED = {"enc0_max_seq_len": "1", "enc0_vocab_size": "944"}


def parse(**changes: object) -> Hyperparameters:
    return Hyperparameters.from_dict({**REQUIRED, **changes})


def test_documented_defaults() -> None:
    hp = parse()
    assert (hp.enc_dim, hp.epochs, hp.learning_rate, hp.mini_batch_size) == (4096, 30, 0.0004, 32)
    assert (hp.mlp_layers, hp.mlp_dim, hp.mlp_activation, hp.output_layer) == (2, 512, "linear", "softmax")
    assert hp.comparator_list == ("hadamard", "concat", "abs_diff")
    assert (hp.enc0_network, hp.enc1_network, hp.optimizer) == ("hcnn", "enc0", "adam")
    assert (hp.early_stopping_patience, hp.early_stopping_tolerance, hp.dropout, hp.weight_decay) == (
        3,
        0.01,
        0,
        0,
    )
    assert (hp.negative_sampling_rate, hp.num_classes, hp.bucket_width) == (0, 2, 0)
    assert hp.token_embedding_storage_type == "dense"
    assert hp.tied_token_embedding_weight is False


def test_string_forms_as_create_training_job_sends_them() -> None:
    hp = parse(
        enc_dim="1024",
        learning_rate="0.001",
        tied_token_embedding_weight="True",
        enc0_layers="auto",
        enc1_layers="2",
        enc0_freeze_pretrained_embedding="false",
        comparator_list="hadamard,abs_diff",
    )
    assert hp.enc_dim == 1024
    assert hp.learning_rate == 0.001
    assert hp.tied_token_embedding_weight is True
    assert hp.enc0_layers == "auto"
    assert hp.enc1_layers == 2
    assert hp.enc0_freeze_pretrained_embedding is False
    assert hp.comparator_list == ("hadamard", "abs_diff")


def test_typed_values_equal_strings() -> None:
    typed = Hyperparameters.from_dict(
        {"enc0_max_seq_len": 1, "enc0_vocab_size": 944, "dropout": 0.5, "epochs": 3}
    )
    assert typed == parse(dropout="0.5", epochs="3")


@pytest.mark.parametrize("profile", list(PROFILES))
def test_to_strings_round_trips(profile: str) -> None:
    hp = Hyperparameters.from_dict(
        profile_hyperparameters(profile, {"enc0_vocab_size": 944, "enc1_vocab_size": 1683})
    )
    strings = hp.to_strings()
    assert all(isinstance(v, str) for v in strings.values())
    assert Hyperparameters.from_dict(strings) == hp


def test_sagemaker_internal_keys_are_accepted_and_kept() -> None:
    hp = parse(_kvstore="device", _num_gpus="auto", _num_kv_servers="auto")
    assert hp.sagemaker_internal == {"_kvstore": "device", "_num_gpus": "auto", "_num_kv_servers": "auto"}
    assert hp.to_strings()["_kvstore"] == "device"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"enc_dim": "3"}, "enc_dim: 3 is outside 4..10000"),
        ({"enc_dim": 10001}, "enc_dim: 10001 is outside 4..10000"),
        ({"learning_rate": "2"}, "learning_rate: 2 is outside 1e-06..1"),
        ({"dropout": "-0.1"}, "dropout: -0.1 is outside 0..1"),
        ({"early_stopping_patience": "6"}, "early_stopping_patience: 6 is outside 1..5"),
        ({"mlp_layers": "11"}, "mlp_layers: 11 is outside 0..10"),
        ({"num_classes": "31"}, "num_classes: 31 is outside 2..30"),
        ({"enc0_layers": "5"}, "enc0_layers: 5 is outside auto, 1..4"),
        ({"enc0_vocab_size": "1"}, "enc0_vocab_size: 1 is outside 2..3000000"),
        ({"negative_sampling_rate": "101"}, "negative_sampling_rate: 101 is outside 0..100"),
    ],
)
def test_out_of_range(changes: dict, message: str) -> None:
    with pytest.raises(HyperparameterError) as e:
        parse(**changes)
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("changes", "starts"),
    [
        ({"epochs": "twenty"}, "epochs: 'twenty' is not an integer (valid: 1..100)"),
        ({"epochs": "2.5"}, "epochs: '2.5' is not an integer"),
        ({"epochs": True}, "epochs: True is not an integer"),
        ({"enc_dim": [1024]}, "enc_dim: [1024] is not an integer"),
        ({"learning_rate": "fast"}, "learning_rate: 'fast' is not a number"),
        ({"dropout": "nan"}, "dropout: 'nan' is not a number"),
        (
            {"tied_token_embedding_weight": "yes"},
            "tied_token_embedding_weight: 'yes' is not valid (valid: True, False)",
        ),
        (
            {"optimizer": "adamw"},
            "optimizer: 'adamw' is not valid (valid: adadelta, adagrad, adam, sgd, rmsprop)",
        ),
        ({"mlp_activation": "gelu"}, "mlp_activation: 'gelu' is not valid"),
        ({"output_layer": "mse"}, "output_layer: 'mse' is not valid"),
        ({"enc0_network": "transformer"}, "enc0_network: 'transformer' is not valid"),
        ({"enc1_network": "enc1"}, "enc1_network: 'enc1' is not valid"),
        ({"token_embedding_storage_type": "sparse"}, "token_embedding_storage_type: 'sparse' is not valid"),
        ({"enc0_layers": "many"}, "enc0_layers: 'many' is not valid (valid: auto, 1..4)"),
        ({"comparator_list": "hadamard, cosine"}, "comparator_list: 'hadamard, cosine' has unknown 'cosine'"),
        ({"comparator_list": "concat, concat"}, "comparator_list: 'concat, concat' is empty or repeats"),
        ({"comparator_list": ""}, "comparator_list: '' has unknown ''"),
        (
            {"enc0_pretrained_embedding_file": "../glove.txt"},
            "enc0_pretrained_embedding_file: '../glove.txt' is not",
        ),
    ],
)
def test_wrong_types_and_values(changes: dict, starts: str) -> None:
    with pytest.raises(HyperparameterError) as e:
        parse(**changes)
    assert str(e.value).startswith(starts)
    assert "\n" not in str(e.value)


def test_unknown_key_suggests_the_close_name() -> None:
    with pytest.raises(HyperparameterError) as e:
        parse(enc_dims="64")
    assert (
        str(e.value) == "enc_dims: '64' is an unknown hyperparameter; did you mean enc_dim (valid: 4..10000)?"
    )
    with pytest.raises(HyperparameterError, match=r"^_num_cpus: '2' is an unknown hyperparameter; "):
        parse(_num_cpus="2")
    with pytest.raises(
        HyperparameterError, match=r"^xyzzy: 1 is an unknown hyperparameter; not one of SageM"
    ):
        parse(xyzzy=1)


@pytest.mark.parametrize("name", ["enc_dim", "dropout", "enc0_network", "comparator_list", "mlp_layers"])
def test_none_is_refused_where_there_is_a_default(name: str) -> None:
    with pytest.raises(HyperparameterError, match=rf"^{name}: None is not valid \(valid: "):
        parse(**{name: None})


@pytest.mark.parametrize("missing", ["enc0_max_seq_len", "enc0_vocab_size"])
def test_required(missing: str) -> None:
    values = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(HyperparameterError, match=rf"^{missing}: required hyperparameter is missing"):
        Hyperparameters.from_dict(values)


def test_enc1_copies_enc0_when_symmetric() -> None:
    hp = parse(enc0_network="hcnn", enc0_layers="2", enc0_cnn_filter_width="5", enc1_layers="4")
    assert (hp.enc1_vocab_size, hp.enc1_max_seq_len) == (944, 1)
    spec = hp.encoder(1)
    assert (spec.network, spec.layers, spec.cnn_filter_width) == ("hcnn", 2, 5)  # enc1_layers is ignored
    assert hp.encoder(0).layers == 2


def test_layers_auto() -> None:
    assert parse(enc0_network="hcnn").encoder(0).layers == 4
    assert parse(enc0_network="bilstm").encoder(0).layers == 1


def test_asymmetric_encoders_need_enc1_sizes() -> None:
    with pytest.raises(HyperparameterError, match=r"^enc1_vocab_size: required when enc1_network=bilstm"):
        parse(enc1_network="bilstm")
    hp = parse(enc1_network="bilstm", enc1_vocab_size="50", enc1_max_seq_len="7")
    assert hp.encoder(1).vocab_size == 50
    assert hp.encoder(1).network == "bilstm"


def test_tied_embeddings_need_equal_vocab_and_dims() -> None:
    with pytest.raises(HyperparameterError, match=r"enc0_vocab_size == enc1_vocab_size \(944 != 1684\)"):
        parse(tied_token_embedding_weight="True", enc1_vocab_size="1684")
    with pytest.raises(HyperparameterError, match=r"enc0_token_embedding_dim == enc1_token_embedding_dim"):
        parse(tied_token_embedding_weight="True", enc1_token_embedding_dim="16")
    assert parse(tied_token_embedding_weight="True").encoder(1).vocab_size == 944


def test_vocab_file_needs_a_pretrained_file() -> None:
    with pytest.raises(HyperparameterError, match=r"^enc0_vocab_file: only used"):
        parse(enc0_vocab_file="vocab.txt")


def test_with_overrides_validates() -> None:
    hp = parse().with_overrides({"enc_dim": "64"})
    assert hp.enc_dim == 64
    with pytest.raises(HyperparameterError, match=r"^epochs: 0 is outside 1\.\.100$"):
        hp.with_overrides({"epochs": "0"})


def test_constructor_validates_too() -> None:
    with pytest.raises(HyperparameterError, match=r"^mlp_dim: 1 is outside 2\.\.10000$"):
        dataclasses.replace(parse(), mlp_dim=1)


# ---- profiles ----------------------------------------------------------------------------------------------

NOTEBOOK_TABLE = {  # workshop-facts.md §1.5, as the notebook sends it
    "workshop-rating": {
        "enc_dim": "1024", "mlp_dim": "256", "mlp_activation": "tanh", "mini_batch_size": "64",
        "output_layer": "mean_squared_error",
    },
    "workshop-recommendation": {
        "enc_dim": "2048", "mlp_dim": "1024", "mlp_activation": "relu", "mini_batch_size": "2048",
        "output_layer": "softmax", "enc1_cnn_filter_width": "3",
    },
}  # fmt: skip
NOTEBOOK_COMMON = {
    "_kvstore": "device", "_num_gpus": "auto", "_num_kv_servers": "auto", "bucket_width": "0",
    "early_stopping_patience": "3", "early_stopping_tolerance": "0.01", "enc0_cnn_filter_width": "3",
    "enc0_layers": "auto", "enc0_max_seq_len": "1", "enc0_network": "pooled_embedding",
    "enc0_token_embedding_dim": "300", "enc0_vocab_size": "944", "enc1_layers": "auto",
    "enc1_max_seq_len": "1", "enc1_network": "pooled_embedding", "enc1_token_embedding_dim": "300",
    "enc1_vocab_size": "1684", "epochs": "20", "learning_rate": "0.001", "mlp_layers": "1",
    "num_classes": "2", "optimizer": "adam",
}  # fmt: skip


@pytest.mark.parametrize("profile", WORKSHOP_PROFILES)
def test_workshop_profiles_are_the_notebook_table(profile: str) -> None:
    assert profile_hyperparameters(profile) == {**NOTEBOOK_COMMON, **NOTEBOOK_TABLE[profile]}
    ml100k = profile_hyperparameters(profile, {"enc0_vocab_size": 944, "enc1_vocab_size": 1683})
    assert (ml100k["enc0_vocab_size"], ml100k["enc1_vocab_size"]) == ("944", "1684")
    ml1m = profile_hyperparameters(profile, {"enc0_vocab_size": 6041, "enc1_vocab_size": 3953})
    assert (ml1m["enc0_vocab_size"], ml1m["enc1_vocab_size"]) == ("6041", "3953")


def test_tuned_profiles_take_the_manifest_vocab() -> None:
    hp = profile_hyperparameters("rating", {"enc0_vocab_size": 944, "enc1_vocab_size": 1683})
    assert (hp["enc0_vocab_size"], hp["enc1_vocab_size"]) == ("944", "1683")
    with pytest.raises(HyperparameterError, match=r"^profile 'rating' needs enc0_vocab_size"):
        profile_hyperparameters("rating", None)
    with pytest.raises(HyperparameterError, match=r"^profile 'ratings' does not exist"):
        profile_hyperparameters("ratings", None)
