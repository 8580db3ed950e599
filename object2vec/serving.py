"""Inference with SageMaker Object2Vec's wire formats.

Requests: Content-Type `application/json` or `application/jsonlines`, optionally with
`; infer_max_seqlens=<in0 length>,<in1 length>`:
    {"instances": [{"in0": [789], "in1": [286]}, ...]}     or one {"in0": [...], "in1": [...]} per line
Both inputs in every instance give scores; only in0 (or only in1) in every instance gives that encoder's
embeddings:
    {"predictions": [{"scores": [3.47]}, ...]}             regression: 1 value, softmax: num_classes values
    {"predictions": [{"embeddings": [0.05, ...]}, ...]}    enc_dim values
Accept `application/json` (the default) or `application/jsonlines` (one {"scores": [...]} per line).
Predictions come back in request order. `infer_max_seqlens` truncates in0 to its first value and in1 to its
second (ints 1..5000); sequences are also truncated to encN_max_seq_len, as in training. Every bad request
raises RequestError with a one-line message (the endpoint turns it into SageMaker's ModelError).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from object2vec.artifact import load_artifact
from object2vec.data import Sequences, first_outside_vocab, offsets_of, outside_vocab_message, row_at
from object2vec.errors import ArtifactError, HyperparameterError, RequestError
from object2vec.hyperparameters import EncoderSpec, Hyperparameters
from object2vec.model import Object2Vec
from object2vec.threads import torch_threads

JSON, JSONLINES = "application/json", "application/jsonlines"
CHUNK = 2048  # instances per forward pass: bounded memory, still one matrix multiply per layer per chunk
INSTANCE_KEYS = {"in0", "in1", "label"}  # "label" is tolerated so test files can be sent as they are


class Predictor:
    """A loaded model answering InvokeEndpoint bodies. Build with `Predictor.load(path)`."""

    def __init__(self, model: Object2Vec, hp: Hyperparameters, *, threads: int = 1) -> None:
        self.model = model.eval()
        self.hp = hp
        self.specs = (hp.encoder(0), hp.encoder(1))  # resolved once, not per request
        self.threads = threads  # used per call (see torch_threads), so the caller's setting is left alone

    @classmethod
    def load(cls, artifact: Path, *, threads: int = 1) -> Predictor:
        """Load a model.tar.gz or the folder it was extracted into."""
        saved = load_artifact(Path(artifact))
        try:
            hp = Hyperparameters.from_dict(saved.hyperparameters)
        except HyperparameterError as e:
            raise ArtifactError(f"{artifact}: stored hyperparameters are invalid ({e})") from None
        model = Object2Vec(hp)
        try:
            model.load_state_dict(saved.state_dict)
        except RuntimeError as e:
            first = str(e).splitlines()[0]
            raise ArtifactError(f"{artifact}: weights do not match the hyperparameters ({first})") from None
        return cls(model, hp, threads=threads)

    @property
    def hyperparameters(self) -> dict[str, str]:
        return self.hp.to_strings()

    # ---- the wire format -----------------------------------------------------------------------------------

    def invoke(self, body: bytes, content_type: str, accept: str | None = None) -> tuple[bytes, str]:
        """(response body, response content type) for one InvokeEndpoint call."""
        media, limits = _content_type(content_type)
        out_media = _accept(accept)
        instances = _instances(body, media)
        kind, in0, in1 = _inputs(instances, self.specs, limits)
        if kind == "scores":
            values = self.predict(in0, in1)  # type: ignore[arg-type]
        else:
            values = self.embed(0 if in0 is not None else 1, in0 if in0 is not None else in1)  # type: ignore[arg-type]
        return _response(kind, values, out_media), out_media

    # ---- the same, as arrays ----------------------------------------------------------------------------

    @torch.inference_mode()
    def predict(self, in0: Sequences, in1: Sequences) -> np.ndarray:
        """(n, 1) regression values or (n, num_classes) probabilities for n (in0, in1) pairs."""
        return self._in_chunks(
            len(in0), lambda idx: self.model.scores(self.model(in0.padded(idx), in1.padded(idx))[0])
        )

    @torch.inference_mode()
    def embed(self, side: int, tokens: Sequences) -> np.ndarray:
        """(n, enc_dim) encodings of n objects by enc0 (side 0) or enc1 (side 1)."""
        return self._in_chunks(len(tokens), lambda idx: self.model.encode(side, tokens.padded(idx)))

    def _in_chunks(self, n: int, forward: Callable[[np.ndarray], torch.Tensor]) -> np.ndarray:
        """forward(row indices) over CHUNK rows at a time, with this predictor's threads, concatenated."""
        with torch_threads(self.threads):
            parts = [forward(np.arange(start, min(start + CHUNK, n))) for start in range(0, n, CHUNK)]
        return torch.cat(parts).numpy()


def _content_type(header: str) -> tuple[str, tuple[int, int] | None]:
    """The request media type and the infer_max_seqlens limits, if given."""
    media, params = _parse_media(header or "", "content type")
    if media not in (JSON, JSONLINES):
        raise RequestError(f"content type {media!r} is not supported (supported: {JSON}, {JSONLINES})")
    limits = None
    for key, value in params.items():
        if key == "charset" and value.lower() in ("utf-8", "utf8"):
            continue
        if key != "infer_max_seqlens":
            raise RequestError(
                f"content type parameter {key}={value} is not supported (supported: infer_max_seqlens)"
            )
        value = re.sub(r"\s+", "", value)
        if not re.fullmatch(r"\d{1,4},\d{1,4}", value) or not all(
            1 <= int(v) <= 5000 for v in value.split(",")
        ):
            raise RequestError(f"infer_max_seqlens={value} must be two integers in 1..5000, e.g. 10,20")
        first, second = (int(v) for v in value.split(","))
        limits = (first, second)
    return media, limits


def _accept(header: str | None) -> str:
    """The response media type: the supported option with the highest q (ties: the first listed)."""
    if not header or not header.strip():
        return JSON
    ranked = []
    for order, option in enumerate(header.split(",")):
        media, params = _parse_media(option, "accept")
        media = JSON if media in ("*/*", "application/*") else media
        if media in (JSON, JSONLINES):
            ranked.append((-_quality(params.get("q", "1"), header), order, media))
    best = min(ranked, default=None)
    if best is None or best[0] == 0:  # q=0 means "not acceptable"
        raise RequestError(f"accept {header!r} is not supported (supported: {JSON}, {JSONLINES})")
    return best[2]


def _quality(value: str, header: str) -> float:
    if not re.fullmatch(r"0(\.\d{0,3})?|1(\.0{0,3})?", value):
        raise RequestError(f"accept {header!r}: q={value} must be a number in 0..1 with up to 3 decimals")
    return float(value)


def _parse_media(header: str, what: str) -> tuple[str, dict[str, str]]:
    media, *rest = (part.strip() for part in header.split(";"))
    params = {}
    for part in filter(None, rest):
        key, sep, value = part.partition("=")
        if not sep:
            raise RequestError(f"{what} parameter {part!r} is not of the form key=value")
        params[key.strip().lower()] = value.strip().strip('"')
    return media.lower(), params


def _instances(body: bytes, media: str) -> list[Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(f"request body is not UTF-8 (byte {e.start})") from None
    if media == JSONLINES:
        instances = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                instances.append(_loads(line, f"line {number}"))
    else:
        request = _loads(text, "request body")
        if not isinstance(request, dict) or "instances" not in request:
            raise RequestError(
                'request body must be a JSON object with "instances": [{"in0": [...], ...}, ...]'
            )
        instances = request["instances"]
        if not isinstance(instances, list):
            raise RequestError(f'"instances" must be a list, got {type(instances).__name__}')
    if not instances:
        raise RequestError("the request holds no instances")
    return instances


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RequestError(f"{where}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None


def _inputs(
    instances: list[Any], specs: tuple[EncoderSpec, EncoderSpec], limits: tuple[int, int] | None
) -> tuple[str, Sequences | None, Sequences | None]:
    """("scores" | "embeddings", in0, in1): the validated token sequences (None for an absent input)."""
    bad = next((k for k, x in enumerate(instances) if type(x) is not dict), None)
    if bad is not None:
        raise RequestError(
            f'instance {bad}: expected an object like {{"in0": [...]}}, got {_short(instances[bad])}'
        )
    extra = next((k for k, x in enumerate(instances) if x.keys() - INSTANCE_KEYS), None)
    if extra is not None:
        key = sorted(instances[extra].keys() - INSTANCE_KEYS)[0]
        raise RequestError(f"instance {extra}: unknown key {key!r} (valid: in0, in1)")
    kinds = [("in0" in x) + 2 * ("in1" in x) for x in instances]  # 1: in0 only, 2: in1 only, 3: both
    if 0 in kinds:
        raise RequestError(f"instance {kinds.index(0)}: has neither in0 nor in1")
    if len(set(kinds)) > 1:
        names = {1: "only in0", 2: "only in1", 3: "in0 and in1"}
        other = next(k for k, c in enumerate(kinds) if c != kinds[0])
        raise RequestError(
            f"mixed inputs: instance 0 has {names[kinds[0]]} but instance {other} has {names[kinds[other]]} "
            "(send pairs for scores, or one input for embeddings, not both in one request)"
        )
    sides = {1: (0,), 2: (1,), 3: (0, 1)}[kinds[0]]
    seqs: dict[int, Sequences] = {}
    for side in sides:
        spec = specs[side]
        limit = spec.max_seq_len if limits is None else min(limits[side], spec.max_seq_len)
        seqs[side] = _tokens([x[f"in{side}"] for x in instances], side, spec.vocab_size).truncate(limit)
    return ("scores" if len(sides) == 2 else "embeddings"), seqs.get(0), seqs.get(1)


def _tokens(values: list[Any], side: int, vocab: int) -> Sequences:
    """One input of every instance as validated Sequences (lists of int ids within the vocabulary)."""
    key = f"in{side}"
    bad = next((k for k, s in enumerate(values) if type(s) is not list or not s), None)
    if bad is not None:
        problem = (
            "is empty"
            if values[bad] == []
            else f"must be a list of integer token ids, got {_short(values[bad])}"
        )
        raise RequestError(f"instance {bad}: {key} {problem}")
    if all(len(s) == 1 for s in values):
        flat: Sequence[Any] = [s[0] for s in values]
        offsets = np.arange(len(values) + 1, dtype=np.int64)  # Sequences.single's
    else:
        flat = [t for s in values for t in s]
        offsets = offsets_of(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))
    if set(map(type, flat)) != {int}:
        pos = next(k for k, t in enumerate(flat) if type(t) is not int)
        row = row_at(offsets, pos)
        raise RequestError(f"instance {row}: {key} token {_short(flat[pos])} is not an integer id")
    try:
        seqs = Sequences(np.array(flat, dtype=np.int64), offsets)
    except OverflowError:  # beyond int64: certainly outside the vocabulary
        pos = next(k for k, t in enumerate(flat) if not -(2**63) <= t < 2**63)
        row = row_at(offsets, pos)
        raise RequestError(f"instance {row}: {outside_vocab_message(side, flat[pos], vocab)}") from None
    found = first_outside_vocab(seqs, vocab)
    if found is not None:
        row, token = found
        raise RequestError(f"instance {row}: {outside_vocab_message(side, token, vocab)}")
    return seqs


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _response(kind: str, values: np.ndarray, media: str) -> bytes:
    rows = values.tolist()
    if media == JSONLINES:
        return "".join(json.dumps({kind: r}) + "\n" for r in rows).encode()
    return json.dumps({"predictions": [{kind: r} for r in rows]}).encode()
