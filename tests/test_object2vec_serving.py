"""Inference wire formats: SageMaker's JSON / JSON Lines requests and responses, every bad-request class."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from object2vec_testdata import ITEMS, TINY, USERS

from object2vec import Hyperparameters, Predictor, RequestError
from object2vec.model import Object2Vec

torch.set_num_threads(1)

JSON, JSONL = "application/json", "application/jsonlines"


def predictor(**changes: str) -> Predictor:
    hp = Hyperparameters.from_dict({**TINY, **changes})
    torch.manual_seed(0)
    return Predictor(Object2Vec(hp), hp)


@pytest.fixture(scope="module")
def regression() -> Predictor:
    return predictor()


@pytest.fixture(scope="module")
def classifier() -> Predictor:
    return predictor(output_layer="softmax", num_classes="3")


def ask(
    p: Predictor, instances: list, content_type: str = JSON, accept: str | None = None
) -> tuple[list, str]:
    """Send instances, return the parsed predictions list and the response content type."""
    if content_type.startswith(JSONL):
        body = "".join(json.dumps(i) + "\n" for i in instances).encode()
    else:
        body = json.dumps({"instances": instances}).encode()
    response, media = p.invoke(body, content_type, accept)
    if media == JSONL:
        return [json.loads(line) for line in response.decode().splitlines()], media
    return json.loads(response)["predictions"], media


def direct_scores(p: Predictor, in0: list[int], in1: list[int]) -> list[float]:
    with torch.inference_mode():
        output, _ = p.model(torch.tensor([in0]), torch.tensor([in1]))
        return p.model.scores(output)[0].tolist()


def test_regression_scores(regression: Predictor) -> None:
    predictions, media = ask(regression, [{"in0": [7], "in1": [3]}, {"in0": [1, 2], "in1": [4, 5, 6]}])
    assert media == JSON
    first, second = direct_scores(regression, [7], [3]), direct_scores(regression, [1, 2], [4, 5, 6])
    assert predictions == [
        {"scores": pytest.approx(first, rel=1e-5)},
        {"scores": pytest.approx(second, rel=1e-5)},
    ]
    assert len(predictions[0]["scores"]) == 1


def test_classification_scores_are_probabilities(classifier: Predictor) -> None:
    predictions, _ = ask(classifier, [{"in0": [7], "in1": [3]}])
    scores = predictions[0]["scores"]
    assert len(scores) == 3
    assert sum(scores) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("content_type", "accept"), [(JSON, JSONL), (JSONL, JSON), (JSONL, JSONL), (JSON, None)]
)
def test_json_and_jsonlines_both_ways(classifier: Predictor, content_type: str, accept: str | None) -> None:
    instances = [{"in0": [u], "in1": [u % ITEMS]} for u in range(10)]
    predictions, media = ask(classifier, instances, content_type, accept)
    assert media == (accept or JSON)
    # Batched and one-by-one matrix products round differently in the last bits: compare closely, not exactly.
    assert [p["scores"] for p in predictions] == [
        pytest.approx(direct_scores(classifier, [u], [u % ITEMS]), rel=1e-5) for u in range(10)
    ]


def test_jsonlines_response_is_one_object_per_line(regression: Predictor) -> None:
    body, media = regression.invoke(b'{"in0": [1], "in1": [2]}\n{"in0": [3], "in1": [4]}\n', JSONL, JSONL)
    lines = body.decode().splitlines()
    assert media == JSONL
    assert len(lines) == 2
    assert list(json.loads(lines[0])) == ["scores"]


@pytest.mark.parametrize("side", [0, 1])
def test_one_input_gives_that_encoders_embeddings(regression: Predictor, side: int) -> None:
    tokens = [[5], [1, 2, 3], [0]]
    predictions, _ = ask(regression, [{f"in{side}": t} for t in tokens])
    assert [list(p) for p in predictions] == [["embeddings"]] * 3
    with torch.inference_mode():
        expected = [regression.model.encode(side, torch.tensor([t]))[0].tolist() for t in tokens]
    assert [p["embeddings"] for p in predictions] == [pytest.approx(e, rel=1e-5, abs=1e-7) for e in expected]
    assert len(expected[0]) == 8  # enc_dim


def test_embeddings_jsonlines(regression: Predictor) -> None:
    body, _ = regression.invoke(b'{"in1": [4]}\n{"in1": [5]}', JSONL, JSONL)
    assert [list(json.loads(line)) for line in body.decode().splitlines()] == [["embeddings"], ["embeddings"]]


def test_thousands_of_instances_in_request_order(classifier: Predictor) -> None:
    rng = np.random.default_rng(0)
    pairs = [
        (int(u), int(i))
        for u, i in zip(rng.integers(0, USERS, 5000), rng.integers(0, ITEMS, 5000), strict=True)
    ]
    predictions, _ = ask(classifier, [{"in0": [u], "in1": [i]} for u, i in pairs])
    assert len(predictions) == 5000
    for k in (0, 1, 2047, 2048, 4999):  # across chunk borders
        assert predictions[k]["scores"] == pytest.approx(
            direct_scores(classifier, [pairs[k][0]], [pairs[k][1]]), rel=1e-5
        )
    embeddings, _ = ask(classifier, [{"in1": [i % ITEMS]} for i in range(3000)])
    assert embeddings[2999]["embeddings"] == pytest.approx(
        embeddings[2999 % ITEMS]["embeddings"], rel=1e-5, abs=1e-7
    )


def test_infer_max_seqlens_truncates(regression: Predictor) -> None:
    long = [{"in0": [1, 2, 3, 4], "in1": [5, 6, 7]}]
    truncated, _ = ask(regression, long, f"{JSON}; infer_max_seqlens=1,2")
    short, _ = ask(regression, [{"in0": [1], "in1": [5, 6]}])
    assert truncated == short
    assert ask(regression, long, f"{JSON};infer_max_seqlens=5000,5000")[0] == ask(regression, long)[0]


def test_content_type_parameters_and_accept_variants(regression: Predictor) -> None:
    instances = [{"in0": [1], "in1": [2]}]
    expected, _ = ask(regression, instances)
    assert ask(regression, instances, "application/json; charset=utf-8")[0] == expected
    assert ask(regression, instances, JSON, "*/*")[1] == JSON
    assert ask(regression, instances, JSON, "text/csv, application/jsonlines")[1] == JSONL
    assert ask(regression, instances, JSON, f"{JSONL};q=0.1, {JSON}")[1] == JSON  # q ranks, not order
    assert ask(regression, instances, JSON, f"{JSONL};q=0.5, */*;q=0.4")[1] == JSONL
    assert ask(regression, instances, JSON, f"{JSON};q=0, {JSONL}")[1] == JSONL


def test_embeddings_and_truncation_across_formats(regression: Predictor) -> None:
    as_json, _ = ask(regression, [{"in1": [4]}, {"in1": [5, 6]}], JSONL, JSON)
    body, media = regression.invoke(
        b'{"in1": [4]}\n{"in1": [5, 6, 7]}\n', f"{JSONL}; infer_max_seqlens=1, 2", JSONL
    )
    assert media == JSONL
    assert [json.loads(line) for line in body.decode().splitlines()] == as_json


def test_label_in_instances_is_tolerated(regression: Predictor) -> None:
    with_label, _ = ask(regression, [{"in0": [1], "in1": [2], "label": 4.0}])
    assert with_label == ask(regression, [{"in0": [1], "in1": [2]}])[0]


def wrap(instances: str) -> bytes:
    return ('{"instances": ' + instances + "}").encode()


ONE = wrap('[{"in0": [1]}]')
BAD = [  # (body, content type, accept, message start)
    (b'{"instances": [{"in0": [1], "in1": [2]}', JSON, None, "request body: not valid JSON"),
    (b"[1, 2]", JSON, None, 'request body must be a JSON object with "instances"'),
    (b'{"instance": []}', JSON, None, 'request body must be a JSON object with "instances"'),
    (wrap('{"in0": [1]}'), JSON, None, '"instances" must be a list, got dict'),
    (wrap("[]"), JSON, None, "the request holds no instances"),
    (b"\n\n", JSONL, None, "the request holds no instances"),
    (b'{"in0": [1]}\n{"in0": [2}\n', JSONL, None, "line 2: not valid JSON"),
    (wrap("[[1, 2]]"), JSON, None, "instance 0: expected an object like"),
    (wrap('[{"in0": [1]}, {}]'), JSON, None, "instance 1: has neither in0 nor in1"),
    (wrap('[{"in0": [1], "in1": [2]}, {"in1": [2]}]'), JSON, None,
     "mixed inputs: instance 0 has in0 and in1 but instance 1 has only in1"),
    (wrap('[{"in0": [1], "in_1": [2]}]'), JSON, None, "instance 0: unknown key 'in_1' (valid: in0, in1)"),
    (wrap('[{"in0": [1], "in1": [2]}, {"in0": [1], "in1": [30]}]'), JSON, None,
     "instance 1: in1 token 30 is outside the vocabulary 0..29 (enc1_vocab_size=30)"),
    (wrap('[{"in0": [-1], "in1": [2]}]'), JSON, None, "instance 0: in0 token -1 is outside the vocabulary"),
    (wrap('[{"in0": [1, 99999999999999999999999], "in1": [2]}]'), JSON, None,
     "instance 0: in0 token 99999999999999999999999 is outside the vocabulary"),
    (wrap('[{"in0": ["1"], "in1": [2]}]'), JSON, None, 'instance 0: in0 token "1" is not an integer id'),
    (wrap('[{"in0": [1], "in1": [2.0]}]'), JSON, None, "instance 0: in1 token 2.0 is not an integer id"),
    (wrap('[{"in0": [1], "in1": [2]}, {"in0": [1, [2]], "in1": [2]}]'), JSON, None,
     "instance 1: in0 token [2] is not an integer id"),
    (wrap('[{"in0": [true], "in1": [2]}]'), JSON, None, "instance 0: in0 token true is not an integer id"),
    (wrap('[{"in0": 1, "in1": [2]}]'), JSON, None, "instance 0: in0 must be a list of integer token ids"),
    (wrap('[{"in0": [], "in1": [2]}]'), JSON, None, "instance 0: in0 is empty"),
    (ONE, "text/csv", None, "content type 'text/csv' is not supported"),
    (ONE, "", None, "content type '' is not supported"),
    (ONE, JSON, "text/csv", "accept 'text/csv' is not supported"),
    (ONE, JSON, f"{JSON};q=0", "accept 'application/json;q=0' is not supported"),
    (ONE, JSON, f"{JSON};q=2", "accept 'application/json;q=2': q=2 must be a number in 0..1"),
    (ONE, f"{JSON}; infer_max_seqlens=0,5", None, "infer_max_seqlens=0,5 must be"),
    (ONE, f"{JSON}; infer_max_seqlens=5001,5", None, "infer_max_seqlens=5001,5 must"),
    (ONE, f"{JSON}; infer_max_seqlens=5", None, "infer_max_seqlens=5 must be two"),
    (ONE, f"{JSON}; infer_max_seqlens=a,b", None, "infer_max_seqlens=a,b must be"),
    (ONE, f"{JSON}; verbose=true", None, "content type parameter verbose=true is not"),
    (ONE, f"{JSON}; infer_max_seqlens", None, "content type parameter"),
    (b'\xff{"instances": []}', JSON, None, "request body is not UTF-8 (byte 0)"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "content_type", "accept", "message"), BAD, ids=[b[3][:40] for b in BAD])
def test_bad_requests_are_one_line_request_errors(
    regression: Predictor, body: bytes, content_type: str, accept: str | None, message: str
) -> None:
    with pytest.raises(RequestError) as e:
        regression.invoke(body, content_type, accept)
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_predictor_uses_its_threads_and_leaves_the_callers_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    hp = Hyperparameters.from_dict(TINY)
    seen: list[int] = []
    forward = Object2Vec.forward

    def spy(self: Object2Vec, *args: object, **kwargs: object) -> object:
        seen.append(torch.get_num_threads())
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(Object2Vec, "forward", spy)
    p = Predictor(Object2Vec(hp), hp, threads=2)
    assert torch.get_num_threads() == 1
    ask(p, [{"in0": [1], "in1": [2]}])
    assert (seen, torch.get_num_threads()) == ([2], 1)
