"""SageMaker Object2Vec hyperparameters: the documented names, defaults and valid ranges.

`Hyperparameters.from_dict` accepts what `CreateTrainingJob` sends (every value a string: "300", "True",
"auto", "hadamard, concat, abs_diff") or typed Python values, validates everything before any training starts,
and `to_strings()` gives the same dict back (`from_dict(hp.to_strings()) == hp`).

Rules where the docs are silent (see also `EncoderSpec`):
- `enc1_network=enc0` makes enc1 copy enc0's *architecture* (`network`, `layers`, `cnn_filter_width`); enc1
  still has its own parameters (the docs: symmetric encoders never share weights unless
  `tied_token_embedding_weight`). `enc1_layers`/`enc1_cnn_filter_width` are then ignored, as the docs'
  "Conditional" marks them.
- Token-side settings stay per encoder: `encN_token_embedding_dim`, `encN_vocab_size`, `encN_max_seq_len`,
  pretrained file, vocab file, freeze flag (users and movies have different vocabularies).
- `enc1_vocab_size` and `enc1_max_seq_len` default to enc0's values when the encoders are symmetric
  (`enc1_network=enc0`) or share one token table (`tied_token_embedding_weight=True`); otherwise they are
  required.
- `encN_layers=auto` means 4 for hcnn and 1 for bilstm; pooled_embedding has no layers.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from object2vec.errors import HyperparameterError

COMPARATORS = ("hadamard", "concat", "abs_diff")
NETWORKS = ("hcnn", "bilstm", "pooled_embedding")
OPTIMIZERS = ("adadelta", "adagrad", "adam", "sgd", "rmsprop")

# Keys the workshop notebook sends that tune MXNet's multi-GPU parameter server (kvstore type, GPU count,
# server count). A single-process PyTorch trainer has no parameter server, so they are accepted, kept (so a
# hyperparameter dict round-trips unchanged) and otherwise ignored.
SAGEMAKER_INTERNAL_KEYS = ("_kvstore", "_num_gpus", "_num_kv_servers")

_FILENAME = re.compile(r"[A-Za-z0-9._]*")


def _int(default: int | None, lo: int, hi: int) -> Any:
    return field(default=default, metadata={"kind": "int", "range": (lo, hi)})


def _float(default: float, lo: float, hi: float) -> Any:
    return field(default=default, metadata={"kind": "float", "range": (lo, hi)})


def _choice(default: str, *choices: str) -> Any:
    return field(default=default, metadata={"kind": "choice", "choices": choices})


def _bool(default: bool) -> Any:
    return field(default=default, metadata={"kind": "bool"})


def _layers() -> Any:
    return field(default="auto", metadata={"kind": "layers", "range": (1, 4)})


def _filename() -> Any:
    return field(default="", metadata={"kind": "filename"})


@dataclass(frozen=True)
class EncoderSpec:
    """One encoder's resolved settings (enc1_network=enc0 and layers=auto already applied)."""

    network: str  # hcnn | bilstm | pooled_embedding
    layers: int
    cnn_filter_width: int
    token_embedding_dim: int
    vocab_size: int
    max_seq_len: int
    pretrained_embedding_file: str
    vocab_file: str
    freeze_pretrained_embedding: bool


@dataclass(frozen=True)
class Hyperparameters:
    """Object2Vec hyperparameters, named exactly as SageMaker names them (docs table, defaults included)."""

    enc0_max_seq_len: int | None = _int(None, 1, 5000)  # required
    enc0_vocab_size: int | None = _int(None, 2, 3_000_000)  # required
    bucket_width: int = _int(0, 0, 100)
    comparator_list: tuple[str, ...] = field(default=COMPARATORS, metadata={"kind": "comparators"})
    dropout: float = _float(0.0, 0.0, 1.0)
    early_stopping_patience: int = _int(3, 1, 5)
    early_stopping_tolerance: float = _float(0.01, 1e-6, 0.1)
    enc_dim: int = _int(4096, 4, 10000)
    enc0_network: str = _choice("hcnn", *NETWORKS)
    enc0_cnn_filter_width: int = _int(3, 1, 9)
    enc0_freeze_pretrained_embedding: bool = _bool(True)
    enc0_layers: int | str = _layers()
    enc0_pretrained_embedding_file: str = _filename()
    enc0_token_embedding_dim: int = _int(300, 2, 1000)
    enc0_vocab_file: str = _filename()
    enc1_network: str = _choice("enc0", "enc0", *NETWORKS)
    enc1_cnn_filter_width: int = _int(3, 1, 9)
    enc1_freeze_pretrained_embedding: bool = _bool(True)
    enc1_layers: int | str = _layers()
    enc1_max_seq_len: int | None = _int(None, 1, 5000)
    enc1_pretrained_embedding_file: str = _filename()
    enc1_token_embedding_dim: int = _int(300, 2, 1000)
    enc1_vocab_file: str = _filename()
    enc1_vocab_size: int | None = _int(None, 2, 3_000_000)
    epochs: int = _int(30, 1, 100)
    learning_rate: float = _float(0.0004, 1e-6, 1.0)
    mini_batch_size: int = _int(32, 1, 10000)
    mlp_activation: str = _choice("linear", "tanh", "relu", "linear")
    mlp_dim: int = _int(512, 2, 10000)
    mlp_layers: int = _int(2, 0, 10)
    negative_sampling_rate: int = _int(0, 0, 100)
    num_classes: int = _int(2, 2, 30)
    optimizer: str = _choice("adam", *OPTIMIZERS)
    output_layer: str = _choice("softmax", "softmax", "mean_squared_error")
    tied_token_embedding_weight: bool = _bool(False)
    token_embedding_storage_type: str = _choice("dense", "dense", "row_sparse")
    weight_decay: float = _float(0.0, 0.0, 10000.0)
    # `_kvstore` & co., kept verbatim for the round trip (see SAGEMAKER_INTERNAL_KEYS).
    sagemaker_internal: dict[str, str] = field(default_factory=dict, metadata={"kind": "internal"})

    def __post_init__(self) -> None:
        for f in _PUBLIC_FIELDS:
            object.__setattr__(self, f.name, _parse(f, getattr(self, f.name)))
        self._check_required()
        self._fill_enc1_defaults()
        self._check_cross_field()

    # ---- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> Hyperparameters:
        """Validate SageMaker-style hyperparameters (strings or typed values); unknown keys are an error."""
        kwargs: dict[str, Any] = {}
        internal: dict[str, str] = {}
        for key, value in values.items():
            if key in SAGEMAKER_INTERNAL_KEYS:
                internal[key] = str(value)
            elif key in _PUBLIC_NAMES:
                kwargs[key] = value
            else:
                close = difflib.get_close_matches(str(key), sorted(_PUBLIC_NAMES), n=1)
                hint = (
                    f"did you mean {close[0]} (valid: {valid_values(close[0])})?"
                    if close
                    else ("not one of SageMaker's Object2Vec hyperparameters")
                )
                raise HyperparameterError(f"{key}: {value!r} is an unknown hyperparameter; {hint}")
        return cls(**kwargs, sagemaker_internal=internal)

    def with_overrides(self, values: Mapping[str, object]) -> Hyperparameters:
        """A copy with some hyperparameters replaced (strings or typed values), validated like `from_dict`."""
        merged: dict[str, object] = dict(self.to_strings())
        merged.update(values)
        return Hyperparameters.from_dict(merged)

    def to_strings(self) -> dict[str, str]:
        """Every hyperparameter as the string `CreateTrainingJob` would send (resolved defaults included)."""
        out = {f.name: _format(getattr(self, f.name)) for f in _PUBLIC_FIELDS}
        out.update(self.sagemaker_internal)
        return dict(sorted(out.items()))

    # ---- resolved views the model and trainer use ----------------------------------------------------------

    def encoder(self, side: int) -> EncoderSpec:
        """enc0's or enc1's resolved settings."""
        if side not in (0, 1):
            raise ValueError(f"side must be 0 or 1, not {side}")
        arch = 0 if side == 1 and self.enc1_network == "enc0" else side
        network = str(getattr(self, f"enc{arch}_network"))
        layers = getattr(self, f"enc{arch}_layers")
        if layers == "auto":
            layers = 4 if network == "hcnn" else 1
        token_side = 0 if side == 1 and self.tied_token_embedding_weight else side
        return EncoderSpec(
            network=network,
            layers=int(layers),
            cnn_filter_width=int(getattr(self, f"enc{arch}_cnn_filter_width")),
            token_embedding_dim=int(getattr(self, f"enc{token_side}_token_embedding_dim")),
            vocab_size=int(getattr(self, f"enc{token_side}_vocab_size")),
            max_seq_len=int(getattr(self, f"enc{side}_max_seq_len")),
            pretrained_embedding_file=str(getattr(self, f"enc{token_side}_pretrained_embedding_file")),
            vocab_file=str(getattr(self, f"enc{token_side}_vocab_file")),
            freeze_pretrained_embedding=bool(getattr(self, f"enc{token_side}_freeze_pretrained_embedding")),
        )

    @property
    def is_regression(self) -> bool:
        return self.output_layer == "mean_squared_error"

    # ---- validation --------------------------------------------------------------------------------------

    def _check_required(self) -> None:
        for name in ("enc0_max_seq_len", "enc0_vocab_size"):
            if getattr(self, name) is None:
                lo, hi = _FIELDS[name].metadata["range"]
                raise HyperparameterError(f"{name}: required hyperparameter is missing (valid: {lo}..{hi})")

    def _fill_enc1_defaults(self) -> None:
        symmetric = self.enc1_network == "enc0" or self.tied_token_embedding_weight
        for name in ("vocab_size", "max_seq_len"):
            if getattr(self, f"enc1_{name}") is not None:
                continue
            if not symmetric:
                raise HyperparameterError(
                    f"enc1_{name}: required when enc1_network={self.enc1_network} "
                    f"(only enc1_network=enc0 or tied_token_embedding_weight=True copy enc0_{name})"
                )
            object.__setattr__(self, f"enc1_{name}", getattr(self, f"enc0_{name}"))

    def _check_cross_field(self) -> None:
        if self.tied_token_embedding_weight:
            for name in ("vocab_size", "token_embedding_dim"):
                a, b = getattr(self, f"enc0_{name}"), getattr(self, f"enc1_{name}")
                if a != b:
                    raise HyperparameterError(
                        f"tied_token_embedding_weight: True needs enc0_{name} == enc1_{name} ({a} != {b})"
                    )
            a, b = self.enc0_pretrained_embedding_file, self.enc1_pretrained_embedding_file
            if a and b and a != b:
                raise HyperparameterError(
                    f"enc1_pretrained_embedding_file: {b!r} differs from enc0's {a!r} but "
                    "tied_token_embedding_weight=True shares one token table"
                )
        for side in (0, 1):
            vocab_file = getattr(self, f"enc{side}_vocab_file")
            if vocab_file and not getattr(self, f"enc{side}_pretrained_embedding_file"):
                raise HyperparameterError(
                    f"enc{side}_vocab_file: only used to map enc{side}_pretrained_embedding_file's words to "
                    "ids, which is not set"
                )


# Every construction parses every field and every error message looks fields up by name: both computed once.
_PUBLIC_FIELDS: tuple[dataclasses.Field[Any], ...] = tuple(
    f for f in dataclasses.fields(Hyperparameters) if f.metadata.get("kind") != "internal"
)
_PUBLIC_NAMES = frozenset(f.name for f in _PUBLIC_FIELDS)
_FIELDS = {f.name: f for f in dataclasses.fields(Hyperparameters)}


def valid_values(name: str) -> str:
    """Human-readable valid values of one hyperparameter, e.g. '4..10000' or 'tanh, relu, linear'."""
    f = _FIELDS[name]
    kind = f.metadata["kind"]
    if kind in ("int", "float"):
        lo, hi = f.metadata["range"]
        return f"{lo:g}..{hi:g}" if kind == "float" else f"{lo}..{hi}"
    if kind == "choice":
        return ", ".join(dict.fromkeys(f.metadata["choices"]))
    if kind == "bool":
        return "True, False"
    if kind == "layers":
        return "auto, 1..4"
    if kind == "comparators":
        return "a comma-separated combination of " + ", ".join(COMPARATORS)
    return "a file name of letters, digits, '.' and '_'"


def _parse(f: dataclasses.Field[Any], value: Any) -> Any:
    """One hyperparameter from a string or typed value to its typed, range-checked value."""
    name, kind = f.name, f.metadata["kind"]
    if value is None:
        if f.default is None:  # the required/conditional ones: checked after parsing
            return None
        raise _invalid(name, value)
    if kind == "int":
        number = _to_int(value)
        if number is None:
            raise HyperparameterError(f"{name}: {value!r} is not an integer (valid: {valid_values(name)})")
        return _in_range(name, number, f.metadata["range"])
    if kind == "float":
        number_f = _to_float(value)
        if number_f is None:
            raise HyperparameterError(f"{name}: {value!r} is not a number (valid: {valid_values(name)})")
        return _in_range(name, number_f, f.metadata["range"])
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _invalid(name, value)
    if kind == "choice":
        text = value.strip() if isinstance(value, str) else value
        if text not in f.metadata["choices"]:
            raise _invalid(name, value)
        return text
    if kind == "layers":
        if isinstance(value, str) and value.strip() == "auto":
            return "auto"
        number = _to_int(value)
        if number is None:
            raise _invalid(name, value)
        return _in_range(name, number, f.metadata["range"])
    if kind == "comparators":
        return _parse_comparators(name, value)
    if not isinstance(value, str) or not _FILENAME.fullmatch(value):
        raise _invalid(name, value)
    return value


def _invalid(name: str, value: Any) -> HyperparameterError:
    return HyperparameterError(f"{name}: {value!r} is not valid (valid: {valid_values(name)})")


def _parse_comparators(name: str, value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise _invalid(name, value)
    ops = tuple(i.strip() for i in items)
    unknown = [op for op in ops if op not in COMPARATORS]
    if not ops or unknown or len(set(ops)) != len(ops):
        problem = f"has unknown {unknown[0]!r}" if unknown else "is empty or repeats a comparator"
        raise HyperparameterError(f"{name}: {value!r} {problem} (valid: {valid_values(name)})")
    return ops


def _to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return None


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _in_range(name: str, value: float, bounds: tuple[float, float]) -> Any:
    lo, hi = bounds
    if not lo <= value <= hi:
        shown = str(value) if isinstance(value, int) else f"{value:g}"
        raise HyperparameterError(f"{name}: {shown} is outside {valid_values(name)}")
    return value


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)
