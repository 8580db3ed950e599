"""Event parsing and the pure computations of the handlers (no AWS calls).

The same handlers are exercised end to end through `lambda.invoke` on the local cloud in
test_stack_e2e.py; these tests pin each bad-event class to its exact 400 message.
"""

import io
import json

import numpy as np
import pytest

from handlers import recommendation_engine as engine
from handlers.catalog import parse_history, parse_titles
from handlers.embedding_index import load_index, nearest
from handlers.movie_retrieval import RetrievalRequest
from handlers.responses import BadRequest, ConfigurationError, Forbidden, NotFound, api_handler

WORKSHOP_RATING = {"data": '{ "instances": [{"in0": [789], "in1": [286]}]}', "type": "rating"}


def test_workshop_event_parses_to_one_pair():
    # GIVEN the workshop's console test event, verbatim
    # WHEN it is parsed
    kind, pairs = engine.parse_event(WORKSHOP_RATING)
    # THEN it is one (user, movie) pair for the rating model
    assert kind == "rating"
    assert pairs == [engine.Pair(789, 286)]


def test_every_instance_of_the_workshop_data_is_kept():
    data = json.dumps({"instances": [{"in0": [1], "in1": [2]}, {"in0": [3], "in1": [4]}]})
    _, pairs = engine.parse_event({"type": "recommendation", "data": data})
    assert pairs == [engine.Pair(1, 2), engine.Pair(3, 4)]


@pytest.mark.parametrize(
    "event",
    [
        {"type": "rating", "user_id": 789, "movie_id": 286},
        {"type": "rating", "user_id": "789", "movie_id": "286"},
        {"type": "rating", "pairs": [[789, 286]]},
        {"type": "rating", "pairs": [{"user_id": 789, "movie_id": 286}]},
        {"type": "rating", "data": {"instances": [{"in0": [789], "in1": [286]}]}},
    ],
)
def test_structured_forms_parse_to_the_same_pair(event):
    assert engine.parse_event(event) == ("rating", [engine.Pair(789, 286)])


def test_top_k_defaults():
    kind, request = engine.parse_event({"type": "top_k", "user_id": 196})
    assert kind == "top_k"
    assert request == engine.TopKRequest(user_id=196, k=10, exclude_rated=True)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([1, 2], "event must be a JSON object, got list"),
        ("rating", "event must be a JSON object, got str"),
        ({"data": "{}"}, "missing required field 'type' (one of rating, recommendation, top_k)"),
        (
            {"type": "ratings", "user_id": 1, "movie_id": 2},
            "'type' must be one of rating, recommendation, top_k, got 'ratings'",
        ),
        (
            {"type": "rating"},
            "give exactly one of 'data' (the workshop's form), 'pairs' or 'user_id' + 'movie_id'",
        ),
        (
            {"type": "rating", "user_id": 1, "movie_id": 2, "pairs": []},
            "give exactly one of 'data' (the workshop's form), 'pairs' or 'user_id' + 'movie_id'",
        ),
        ({"type": "rating", "user_id": 1}, "missing required field 'movie_id'"),
        (
            {"type": "top_k", "user_id": 1, "exclude_ratd": False},
            "unknown field(s) 'exclude_ratd' for type top_k; allowed: exclude_rated, k, type, user_id",
        ),
        (
            {"type": "rating", "user_id": 1, "movie_id": 2, "k": 5},
            "unknown field(s) 'k' for type rating; allowed: data, movie_id, pairs, type, user_id",
        ),
        ({"type": "rating", "user_id": 0, "movie_id": 2}, "'user_id' must be a positive integer, got 0"),
        (
            {"type": "rating", "user_id": True, "movie_id": 2},
            "'user_id' must be a positive integer, got True",
        ),
        ({"type": "rating", "user_id": 1.5, "movie_id": 2}, "'user_id' must be a positive integer, got 1.5"),
        (
            {"type": "rating", "data": "{not json"},
            "'data' is not valid JSON: Expecting property name enclosed in double quotes at column 2",
        ),
        (
            {"type": "rating", "data": '{"rows": []}'},
            "'data' must hold a JSON object with an 'instances' list",
        ),
        (
            {"type": "rating", "data": '{"instances": [{"in0": [1, 2], "in1": [3]}]}'},
            "data.instances[0].in0 must be a list holding one positive integer id, got [1, 2]",
        ),
        (
            {"type": "rating", "data": '{"instances": [{"in0": [1]}]}'},
            "data.instances[0].in1 must be a list holding one positive integer id, got None",
        ),
        (
            {"type": "rating", "data": '{"instances": []}'},
            "between 1 and 1000 pairs may be asked at once, got 0",
        ),
        ({"type": "rating", "pairs": "1,2"}, "'pairs' must be a list, got str"),
        (
            {"type": "rating", "pairs": [[1, 2, 3]]},
            "pairs[0] must be [user_id, movie_id] or an object with user_id and movie_id",
        ),
        ({"type": "rating", "pairs": [[1, -2]]}, "'pairs[0][1]' must be a positive integer, got -2"),
        (
            {"type": "rating", "pairs": [[1, 2]] * 1001},
            "between 1 and 1000 pairs may be asked at once, got 1001",
        ),
        ({"type": "top_k"}, "missing required field 'user_id'"),
        ({"type": "top_k", "user_id": 1, "k": 0}, "'k' must be an integer in 1..100, got 0"),
        ({"type": "top_k", "user_id": 1, "k": "5"}, "'k' must be an integer in 1..100, got '5'"),
        (
            {"type": "top_k", "user_id": 1, "exclude_rated": "yes"},
            "'exclude_rated' must be true or false, got 'yes'",
        ),
    ],
)
def test_bad_recommendation_events_name_the_field(event, message):
    with pytest.raises(BadRequest) as raised:
        engine.parse_event(event)
    assert raised.value.message == message


WHOLE_STARS = engine.RatingScale("ml-100k", 1.0, 5.0)
HALF_STARS = engine.RatingScale("ml-latest-small", 0.5, 5.0)


def test_rating_answer_clips_but_keeps_the_raw_value_and_the_workshop_sentence():
    answer = engine.rating_answer(engine.Pair(1, 2), [5.4], "Toy Story (1995)", WHOLE_STARS)
    assert answer["rating"] == 5.0
    assert answer["raw_score"] == 5.4
    assert answer["scale"] == [1.0, 5.0]
    assert answer["explanation"] == (
        "predicted 5.00 on ml-100k's scale of 1 to 5 stars, the model's 5.40 clipped to the scale"
    )
    assert answer["sentence"] == "The User will likely rate this movie to [5.4]"


@pytest.mark.parametrize(
    ("scale", "raw", "rating"),
    [(WHOLE_STARS, 0.7, 1.0), (HALF_STARS, 0.7, 0.7), (HALF_STARS, 0.2, 0.5), (HALF_STARS, 3.25, 3.25)],
)
def test_ratings_are_clipped_to_the_releases_own_scale(scale, raw, rating):
    answer = engine.rating_answer(engine.Pair(1, 2), [raw], "T", scale)
    assert answer["rating"] == rating
    assert answer["explanation"].startswith(
        f"predicted {rating:.2f} on {scale.dataset}'s scale of {scale.low:g}"
    )


def test_the_scale_comes_from_the_functions_configuration(monkeypatch):
    monkeypatch.setenv("RATING_MIN", "0.5")
    monkeypatch.setenv("RATING_MAX", "5")
    monkeypatch.setenv("DATASET", "ml-25m")
    assert engine.rating_scale() == engine.RatingScale("ml-25m", 0.5, 5.0)
    monkeypatch.setenv("RATING_MIN", "5")
    with pytest.raises(
        ConfigurationError, match=r"RATING_MIN \(5\) must be at least 0 and below RATING_MAX \(5\)"
    ):
        engine.rating_scale()


def test_without_configuration_the_scale_is_the_workshops(monkeypatch):
    for name in ("RATING_MIN", "RATING_MAX", "DATASET"):
        monkeypatch.delenv(name, raising=False)
    assert engine.rating_scale() == WHOLE_STARS


@pytest.mark.parametrize(("p1", "recommend"), [(0.51, True), (0.5, False), (0.1, False)])
def test_recommendation_threshold_is_the_workshops(p1, recommend):
    answer = engine.recommendation_answer(engine.Pair(1, 2), [1 - p1, p1], "T")
    assert answer["recommend"] is recommend
    assert answer["sentence"] == (engine.RECOMMEND if recommend else engine.DO_NOT_RECOMMEND)


def test_rank_movies_breaks_ties_by_movie_id():
    ranked = engine.rank_movies(np.array([30, 10, 20]), np.array([0.5, 0.9, 0.9]), k=2)
    assert ranked == [(10, 0.9), (20, 0.9)]


def test_titles_written_for_another_release_are_read_as_utf8():
    catalog = parse_titles("7|Amélie (2001)\n8|千と千尋の神隠し (2001)\n".encode(), "utf-8")
    assert catalog.title(8) == "千と千尋の神隠し (2001)"


@pytest.mark.parametrize(
    ("raw", "encoding", "message"),
    [
        (b"1|T\n2|\xe9t\xe9\n", "utf-8", r"the catalog is not utf-8 text: byte 6 \(line 2\)"),
        (b"1|T\n", "klingon", "TITLES_ENCODING names no known encoding: 'klingon'"),
    ],
)
def test_a_catalog_in_another_encoding_is_a_configuration_error(raw, encoding, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_titles(raw, encoding)


def test_titles_are_read_as_latin1():
    catalog = parse_titles("1|Toy Story (1995)|x\n2|Misérables, Les (1995)|y\n".encode("iso-8859-1"))
    assert catalog.title(2) == "Misérables, Les (1995)"
    with pytest.raises(NotFound, match="movie 3 is not in the catalog"):
        catalog.title(3)


def test_history_groups_ratings_by_user():
    history = parse_history(b"2\t30\t4\t9\n1\t20\t3\t9\n1\t10\t5\t9\n")
    assert history.rated(1).tolist() == [10, 20]
    assert history.trained_movies.tolist() == [10, 20, 30]
    with pytest.raises(NotFound, match="user 9 has no ratings in the training data"):
        history.rated(9)


def _index(embeddings, movie_ids=(1, 2, 3, 4)):
    buffer = io.BytesIO()
    np.savez(
        buffer,
        movie_ids=np.array(movie_ids, dtype=np.int32),
        embeddings=np.array(embeddings, dtype=np.float32),
        catalog_ids=np.array([1, 2, 3, 4, 5], dtype=np.int32),
        catalog_titles=np.array(["A", "B", "C", "D", "E"]),
    )
    return load_index(buffer.getvalue(), "v1")


def test_nearest_by_euclidean_and_cosine():
    index = _index([[1, 0], [10, 0], [0, 1], [1.1, 0]])
    assert [n.movie_id for n in nearest(index, 1, k=3, metric="euclidean")] == [4, 3, 2]
    # By angle, movie 2 points exactly the same way as movie 1 and 4.
    cosine = nearest(index, 1, k=3, metric="cosine")
    assert [n.movie_id for n in cosine] == [2, 4, 3]
    assert cosine[0].distance == pytest.approx(0.0, abs=1e-6)


def test_nearest_excludes_the_query_and_caps_k():
    index = _index([[0, 0], [1, 0], [2, 0], [3, 0]])
    assert [n.movie_id for n in nearest(index, 1, k=100, metric="euclidean")] == [2, 3, 4]


def test_movie_without_embedding_and_unknown_movie_are_not_found():
    index = _index([[0, 0], [1, 0], [2, 0], [3, 0]])
    with pytest.raises(
        NotFound, match=r"movie 5 \(E\) has no embedding: it has no ratings in the training data"
    ):
        nearest(index, 5, k=1, metric="euclidean")
    with pytest.raises(NotFound, match="movie 99 is not in the catalog"):
        nearest(index, 99, k=1, metric="euclidean")


def test_retrieval_accepts_the_workshop_event_with_its_own_bucket():
    request = RetrievalRequest.from_event(
        {"bucket_name": "mine", "movie_id_to_examine": "195"}, bucket="mine"
    )
    assert request == RetrievalRequest(movie_id=195, k=10, metric="euclidean")


def test_structured_retrieval_defaults_to_cosine():
    assert RetrievalRequest.from_event({"movie_id": 195}, bucket="mine").metric == "cosine"


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        (
            {"bucket_name": "theirs", "movie_id_to_examine": 2},
            Forbidden,
            "bucket_name 'theirs' is not this function's bucket; it only reads 'mine'",
        ),
        ({"k": 3}, BadRequest, "give exactly one of 'movie_id' or 'movie_id_to_examine'"),
        (
            {"movie_id": 1, "movie_id_to_examine": 1},
            BadRequest,
            "give exactly one of 'movie_id' or 'movie_id_to_examine'",
        ),
        ({"movie_id": "x"}, BadRequest, "'movie_id' must be a positive integer, got 'x'"),
        (
            {"movie_id": 1, "metric": "manhattan"},
            BadRequest,
            "'metric' must be one of euclidean, cosine, got 'manhattan'",
        ),
        ({"movie_id": 1, "k": 101}, BadRequest, "'k' must be an integer in 1..100, got 101"),
        (
            {"movie_id": 1, "metirc": "cosine"},
            BadRequest,
            "unknown field(s) 'metirc'; allowed: bucket_name, k, metric, movie_id, movie_id_to_examine",
        ),
        (None, BadRequest, "event must be a JSON object, got NoneType"),
    ],
)
def test_bad_retrieval_events(event, error, message):
    with pytest.raises(error) as raised:
        RetrievalRequest.from_event(event, bucket="mine")
    assert raised.value.message == message


def test_api_handler_never_raises():
    @api_handler
    def broken(event, context):
        raise KeyError("boom")

    response = broken({}, None)
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {
        "error": "InternalError",
        "message": "internal error: KeyError: 'boom'",
    }
