"""Both handlers' events under hostile input (issue 9, finding 8): every event is an answer, a 400 names
what was wrong in a message of bounded size, and limits are checked before the work they limit.

The property tests generate events (JSON values, biased towards each handler's own keys) and check the
parsing step each handler runs first: it returns a request or raises a HandlerError (a 4xx), never
anything else, and never answers with more than a bounded message.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import movie_retrieval, recommendation_engine
from handlers.responses import HandlerError

MAX_MESSAGE = 500  # characters: a bad event's answer never grows with the event


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BUCKET_NAME", "hostile-bucket")
    return "hostile-bucket"


def answer(event: Any) -> tuple[int, str]:
    response = recommendation_engine.lambda_handler(event, None)
    return response["statusCode"], json.loads(response["body"])["message"]


def test_an_id_of_thousands_of_digits_is_a_400(bucket: str) -> None:
    """int() of 4,301+ digits raised ValueError (Python's digit limit): a 500."""
    status, message = answer({"type": "rating", "user_id": "9" * 5000, "movie_id": 1})
    assert status == 400
    assert message.startswith("'user_id' must be a positive integer up to 9223372036854775807, got '9999")
    assert len(message) < MAX_MESSAGE


def test_an_integer_id_beyond_64_bits_is_a_400(bucket: str) -> None:
    status, message = answer({"type": "rating", "user_id": 2**70, "movie_id": 1})
    assert status == 400
    assert "got an integer of 71 bits" in message


def test_data_nested_thousands_deep_is_a_400(bucket: str) -> None:
    """json.loads of a 3,000-deep `data` raised RecursionError: a 500."""
    status, message = answer({"type": "rating", "data": "[" * 3000 + "]" * 3000})
    assert (status, message) == (400, "'data' nests JSON too deeply to be an Object2Vec request")


def test_a_huge_bad_value_is_not_echoed(bucket: str) -> None:
    """A 6 MB bad event gave a 9.3 MB 400 (Lambda turns that into ResponseSizeTooLarge)."""
    huge = "x" * 6_000_000
    for event in (
        {"type": "rating", "user_id": huge, "movie_id": 1},
        {"type": huge},
        {"type": "rating", "pairs": [[huge, 1]]},
        {"type": "rating", "data": {"instances": [{"in0": [huge], "in1": [1]}]}},
        {"type": "top_k", "user_id": 1, "k": [huge]},
        {"type": "rating", **{f"unknown{i}": 1 for i in range(100_000)}},
    ):
        response = recommendation_engine.lambda_handler(event, None)
        assert response["statusCode"] == 400
        assert len(response["body"]) < MAX_MESSAGE + 100
    with pytest.raises(HandlerError) as caught:
        movie_retrieval.RetrievalRequest.from_event({"bucket_name": huge, "movie_id": 1}, bucket)
    assert (caught.value.status, len(caught.value.message) < MAX_MESSAGE) == (403, True)


def test_too_many_pairs_are_refused_before_any_is_parsed(bucket: str) -> None:
    """A million pairs were parsed before the 1,000 limit was checked (here: the bad one came first)."""
    pairs: list[Any] = [[1, 1]] * 1000 + [["not an id", 1]] * 999_001
    started = time.perf_counter()
    status, message = answer({"type": "rating", "pairs": pairs})
    assert (status, message) == (400, "between 1 and 1000 pairs may be asked at once, got 1000001")
    assert time.perf_counter() - started < 1.0  # the count, not a million parses (a generous bound)
    instances = [{"in0": ["bad"], "in1": [1]}] * 1001
    status, message = answer({"type": "rating", "data": {"instances": instances}})
    assert (status, message) == (400, "between 1 and 1000 pairs may be asked at once, got 1001")


# -- property tests -------------------------------------------------------------------------------------

KEYS = sorted(
    recommendation_engine.PAIR_KEYS
    | recommendation_engine.TOP_K_KEYS
    | movie_retrieval.ALLOWED_KEYS
    | {"in0", "in1", "instances", "scores"}
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["rating", "recommendation", "top_k", "cosine", "euclidean", "1", "0", "-1", " 7 "])
    | st.text(alphabet="0123456789", min_size=18, max_size=5000)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
events = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6) | json_values
data_strings = st.builds(json.dumps, json_values) | st.text(alphabet='[]{}"0123456789,: ', max_size=200)
FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None)


def _parses_or_4xx(parse: Any, event: Any) -> None:
    refused: HandlerError | None = None
    try:
        parse(event)
    except HandlerError as err:
        refused = err
    if refused is not None:
        assert 400 <= refused.status < 500
        assert len(refused.message) < MAX_MESSAGE


@FUZZ
@given(events)
def test_recommendation_events_parse_or_are_a_4xx(event: Any) -> None:
    _parses_or_4xx(recommendation_engine.parse_event, event)


@FUZZ
@given(data_strings, st.sampled_from(["rating", "recommendation"]))
def test_workshop_data_strings_parse_or_are_a_4xx(data: str, kind: str) -> None:
    _parses_or_4xx(recommendation_engine.parse_event, {"type": kind, "data": data})


@settings(FUZZ, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_retrieval_events_parse_or_are_a_4xx(event: Any) -> None:
    _parses_or_4xx(lambda e: movie_retrieval.RetrievalRequest.from_event(e, "hostile-bucket"), event)
