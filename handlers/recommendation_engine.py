"""Recommendation_Engine_Object2Vec: predicted ratings, recommend-or-not decisions, and top-k movies.

Events (`type` is required and must be one of rating, recommendation, top_k):
- the workshop's `{"data": "{ \\"instances\\": [{\\"in0\\": [789], \\"in1\\": [286]}]}", "type": "rating"}`;
- `{"type": "rating", "user_id": 789, "movie_id": 286}` or `{"type": ..., "pairs": [[789, 286], ...]}`
  (pairs may also be `{"user_id": .., "movie_id": ..}` objects);
- `{"type": "top_k", "user_id": 196, "k": 10, "exclude_rated": true}`.
Every pair is answered (the workshop used only the first), each with the movie's title and the
workshop's sentence; an unknown `type` is a 400 (the workshop sent it to the recommendation model).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from handlers import contract, fields, settings
from handlers.bucket import read_object
from handlers.catalog import Catalog, parse_history, parse_titles
from handlers.endpoint import predict
from handlers.responses import BadRequest, Body, ConfigurationError, api_handler

Parsed = TypeVar("Parsed")

TYPES = ("rating", "recommendation", "top_k")
PAIR_FORMS = ("data", "pairs", "user_id")
PAIR_KEYS = {"type", "data", "pairs", "user_id", "movie_id"}
TOP_K_KEYS = {"type", "user_id", "k", "exclude_rated"}
MAX_PAIRS = 1000
# The workshop's sentences, kept verbatim for callers that parsed them.
RECOMMEND = "We recommend the user this movie."
DO_NOT_RECOMMEND = "We DO NOT recommend the user this movie."


@dataclass(frozen=True)
class Pair:
    user_id: int
    movie_id: int

    def instance(self) -> dict[str, list[int]]:
        return {"in0": [self.user_id], "in1": [self.movie_id]}


@dataclass(frozen=True)
class TopKRequest:
    user_id: int
    k: int
    exclude_rated: bool


def parse_event(event: Any) -> tuple[str, list[Pair] | TopKRequest]:
    event = fields.as_object(event)
    kind = fields.choice(event, "type", TYPES)
    fields.only_known(event, TOP_K_KEYS if kind == "top_k" else PAIR_KEYS, f" for type {kind}")
    if kind == "top_k":
        user, k = fields.required_id(event, "user_id"), fields.top_k(event)
        return kind, TopKRequest(user, k, fields.boolean(event, "exclude_rated", default=True))
    return kind, parse_pairs(event)


def parse_pairs(event: Any) -> list[Pair]:
    forms = [form for form in PAIR_FORMS if form in event]
    if len(forms) != 1:
        raise BadRequest(
            "give exactly one of 'data' (the workshop's form), 'pairs' or 'user_id' + 'movie_id'"
        )
    if forms[0] == "data":
        pairs = _pairs_from_data(event["data"])
    elif forms[0] == "pairs":
        pairs = _pairs_from_list(event["pairs"])
    else:
        pairs = [Pair(fields.required_id(event, "user_id"), fields.required_id(event, "movie_id"))]
    _check_count(len(pairs))
    return pairs


def _check_count(count: int) -> None:
    """Checked before any pair is parsed: a million pairs are refused, not read."""
    if not 1 <= count <= MAX_PAIRS:
        raise BadRequest(f"between 1 and {MAX_PAIRS} pairs may be asked at once, got {count}")


def _pairs_from_data(data: Any) -> list[Pair]:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as err:
            raise BadRequest(f"'data' is not valid JSON: {err.msg} at column {err.colno}") from None
        except RecursionError:
            raise BadRequest("'data' nests JSON too deeply to be an Object2Vec request") from None
    instances = data.get("instances") if isinstance(data, dict) else None
    if not isinstance(instances, list):
        raise BadRequest("'data' must hold a JSON object with an 'instances' list")
    _check_count(len(instances))
    pairs = []
    for i, instance in enumerate(instances):
        where = f"data.instances[{i}]"
        pairs.append(Pair(_single_token(instance, "in0", where), _single_token(instance, "in1", where)))
    return pairs


def _single_token(instance: Any, key: str, where: str) -> int:
    value = instance.get(key) if isinstance(instance, dict) else None
    if not isinstance(value, list) or len(value) != 1:
        got = fields.shown(value)
        raise BadRequest(f"{where}.{key} must be a list holding one positive integer id, got {got}")
    return fields.positive_int(value[0], f"{where}.{key}[0]")


def _pairs_from_list(pairs: Any) -> list[Pair]:
    if not isinstance(pairs, list):
        raise BadRequest(f"'pairs' must be a list, got {type(pairs).__name__}")
    _check_count(len(pairs))
    parsed = []
    for i, pair in enumerate(pairs):
        where = f"pairs[{i}]"
        if isinstance(pair, list) and len(pair) == 2:
            user, movie = (
                fields.positive_int(pair[0], f"{where}[0]"),
                fields.positive_int(pair[1], f"{where}[1]"),
            )
        elif isinstance(pair, dict):
            user = fields.required_id(pair, "user_id", f"{where}.user_id")
            movie = fields.required_id(pair, "movie_id", f"{where}.movie_id")
        else:
            raise BadRequest(f"{where} must be [user_id, movie_id] or an object with user_id and movie_id")
        parsed.append(Pair(user, movie))
    return parsed


@dataclass(frozen=True)
class RatingScale:
    """The release's scale (`RATING_MIN`..`RATING_MAX`): a regressor's raw score can fall outside it."""

    dataset: str
    low: float
    high: float

    def clip(self, raw: float) -> float:
        return min(self.high, max(self.low, raw))

    def explain(self, raw: float) -> str:
        rating = self.clip(raw)
        clipped = "" if rating == raw else f", the model's {raw:.2f} clipped to the scale"
        scale = f"{self.dataset}'s scale of {self.low:g} to {self.high:g} stars"
        return f"predicted {rating:.2f} on {scale}{clipped}"


def rating_scale() -> RatingScale:
    low = settings.env_float(contract.RATING_MIN, contract.DEFAULT_RATING_MIN)
    high = settings.env_float(contract.RATING_MAX, contract.DEFAULT_RATING_MAX)
    if not 0 <= low < high:
        raise ConfigurationError(f"RATING_MIN ({low:g}) must be at least 0 and below RATING_MAX ({high:g})")
    return RatingScale(settings.env(contract.DATASET, default=contract.DEFAULT_DATASET), low, high)


def rating_answer(pair: Pair, scores: list[float], title: str, scale: RatingScale) -> dict[str, Any]:
    raw = float(scores[0])
    return {
        "user_id": pair.user_id,
        "movie_id": pair.movie_id,
        "title": title,
        "rating": scale.clip(raw),
        "raw_score": raw,
        "scale": [scale.low, scale.high],
        "explanation": scale.explain(raw),
        "sentence": "The User will likely rate this movie to " + str([raw]),
    }


def recommendation_answer(pair: Pair, scores: list[float], title: str) -> dict[str, Any]:
    probability = float(scores[1])
    recommend = probability > 0.5
    return {
        "user_id": pair.user_id,
        "movie_id": pair.movie_id,
        "title": title,
        "recommend": recommend,
        "probability": probability,
        "sentence": RECOMMEND if recommend else DO_NOT_RECOMMEND,
    }


def rank_movies(candidates: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Highest score first; ties go to the lower movie id."""
    order = np.lexsort((candidates, -scores))[:k]
    return [(int(candidates[i]), float(scores[i])) for i in order]


@functools.cache
def data_file(bucket: str, name: str, parse: Callable[[bytes], Parsed]) -> Parsed:
    """A workshop file (`u.item`, `ua.base`) under `DATA_PREFIX`, parsed at first use and kept for the
    container's lifetime. A failed read is not kept: the next invocation tries again."""
    prefix = settings.env(contract.DATA_PREFIX, default=contract.DEFAULT_DATA_PREFIX)
    return parse(read_object(settings.client("s3"), bucket, contract.data_key(prefix, name)))


def parse_catalog(raw: bytes) -> Catalog:
    """u.item in the encoding the function is configured with (ISO-8859-1 for the workshop's own file)."""
    return parse_titles(raw, settings.env(contract.TITLES_ENCODING, default=contract.DEFAULT_TITLES_ENCODING))


def answer_pairs(kind: str, pairs: list[Pair], bucket: str) -> Body:
    endpoint = settings.env(contract.ENDPOINT_NAME_RATING if kind == "rating" else contract.ENDPOINT_NAME_REC)
    catalog = data_file(bucket, contract.TITLES_FILE, parse_catalog)
    titles = [catalog.title(pair.movie_id) for pair in pairs]
    instances = [pair.instance() for pair in pairs]
    # A rating model answers one score, a recommendation model two (softmax).
    lengths = (1,) if kind == "rating" else (2,)
    scores = predict(settings.client("sagemaker-runtime"), endpoint, instances, scores=lengths)
    answered = zip(pairs, scores, titles, strict=True)
    if kind == "rating":
        scale = rating_scale()
        answers = [rating_answer(p, s, t, scale) for p, s, t in answered]
    else:
        answers = [recommendation_answer(p, s, t) for p, s, t in answered]
    return {"type": kind, "endpoint": endpoint, "predictions": answers, "message": answers[0]["sentence"]}


def answer_top_k(request: TopKRequest, bucket: str) -> Body:
    endpoint = settings.env(contract.ENDPOINT_NAME_TOPN)
    catalog = data_file(bucket, contract.TITLES_FILE, parse_catalog)
    history = data_file(bucket, contract.RATINGS_FILE, parse_history)
    rated = history.rated(request.user_id)
    candidates = history.trained_movies
    if request.exclude_rated:
        candidates = np.setdiff1d(candidates, rated)
    instances = [Pair(request.user_id, int(m)).instance() for m in candidates]
    # A classifier's scores are [p(0), p(1)]: rank by p(1). A regressor has one score.
    answered = predict(settings.client("sagemaker-runtime"), endpoint, instances, scores=(1, 2))
    scores = np.array([pair_scores[-1] for pair_scores in answered], dtype=np.float64)
    ranked = rank_movies(candidates, scores, request.k)
    recommendations = [
        {"rank": rank, "movie_id": movie, "title": catalog.title(movie), "score": score}
        for rank, (movie, score) in enumerate(ranked, start=1)
    ]
    titles = ", ".join(item["title"] for item in recommendations)
    return {
        "type": "top_k",
        "endpoint": endpoint,
        "user_id": request.user_id,
        "k": request.k,
        "exclude_rated": request.exclude_rated,
        "recommendations": recommendations,
        "message": f"Top {len(recommendations)} movies for user {request.user_id}: {titles}",
    }


@api_handler
def lambda_handler(event: Any, context: Any) -> Body:
    bucket = settings.env(contract.BUCKET_NAME)
    kind, request = parse_event(event)
    if isinstance(request, TopKRequest):
        return answer_top_k(request, bucket)
    return answer_pairs(kind, request, bucket)
