"""`make apply train DATASET=...` through the whole stack on small synthetic releases: ml-1m's layout
(channels, training jobs, evaluation on temporary endpoints, the Model Registry, the gate, deployment and
the retrieval index, all from that release's ids and titles) and the CSV layout's half stars (the
functions answer with the release's titles and clip ratings to its 0.5-5 scale)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from localcloud_support import Cloud

from handlers import contract
from jobs.backends.local import LocalBackend
from jobs.stack import lifecycle, registry
from jobs.stack.errors import StackError
from jobs.stack.names import Stack

pytestmark = pytest.mark.slow
USERS, MOVIES, PER_USER = 60, 80, 40
GENRES = ("Action", "Comedy", "Drama", "Horror")


def tastes(high: tuple[float, ...], low: tuple[float, ...]) -> list[tuple[int, int, float, int]]:
    """A learnable release: users of one taste love the movies of one genre (a rating from `high`) and
    dislike the others (from `low`), seeded: (user, movie, rating, timestamp) rows."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(1, USERS + 1):
        for movie in sorted(rng.choice(np.arange(1, MOVIES + 1), PER_USER, replace=False).tolist()):
            rating = float(rng.choice(high if movie % 4 == user % 4 else low))
            rows.append((user, movie, rating, 956700000 + len(rows)))
    return rows


def write_ml1m(folder: Path) -> Path:
    """`::`-separated latin-1 files as ml-1m ships them, whole stars."""
    folder.mkdir(parents=True)
    movies = [f"{m}::Film {m} ({1990 + m % 10})::{GENRES[m % 4]}" for m in range(1, MOVIES + 1)]
    (folder / "movies.dat").write_text("\n".join(movies) + "\n", encoding="latin-1")
    lines = [f"{u}::{m}::{r:g}::{t}" for u, m, r, t in tastes((4, 5), (1, 2))]
    (folder / "ratings.dat").write_text("\n".join(lines) + "\n", encoding="latin-1")
    return folder


def write_csv_release(folder: Path) -> Path:
    """ml-latest-small's layout: quoted UTF-8 titles (some not latin-1), half stars down to 0.5."""
    folder.mkdir(parents=True)
    movies = [f'{m},"Film № {m}, the sequel ({1990 + m % 10})",{GENRES[m % 4]}' for m in range(1, MOVIES + 1)]
    (folder / "movies.csv").write_text("movieId,title,genres\n" + "\n".join(movies) + "\n", encoding="utf-8")
    lines = [f"{u},{m},{r:g},{t}" for u, m, r, t in tastes((4.5, 5), (0.5, 1))]
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "\n".join(lines) + "\n")
    return folder


def invoke(clients, function: str, event: dict) -> dict:
    response = clients.lambda_.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    assert "FunctionError" not in response
    answer = json.loads(response["Payload"].read())
    assert answer["statusCode"] == 200, answer
    return json.loads(answer["body"])


def test_ml1m_trains_registers_and_serves_its_own_ids(cloud: Cloud, tmp_path: Path):
    source = write_ml1m(tmp_path / "ml-1m")
    # Small batches and a larger step, so 3 epochs over 2,400 ratings learn the tastes and beat the baselines.
    fast = {"epochs": "3", "mini_batch_size": "64", "learning_rate": "0.01"}
    stack = Stack(bucket="ml1m-bucket", dataset="ml-1m", training_overrides=fast)
    backend = LocalBackend(stack, cloud.config)
    lifecycle.apply(backend, source=str(source), log=lambda line: None)
    lines: list[str] = []
    report = lifecycle.train(
        backend,
        source=str(source),
        channels_dir=tmp_path / "channels",
        reports_dir=tmp_path / "reports",
        models=["rating", "topN"],
        log=lines.append,
    )
    clients = lifecycle.connect(backend)
    assert [o.record.endpoint for o in report.outcomes] == ["ratingModel", "topNModel"]
    for outcome in report.outcomes:
        record = outcome.record
        assert (record.dataset, record.protocol, record.version) == ("ml-1m", "holdout", 1)
        assert record.held_out == record.held_out  # measured
        assert record.approval == outcome.decision.status
        job = clients.sagemaker.describe_training_job(TrainingJobName=record.training_job)
        uris = [c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]]
        assert all(uri.startswith("s3://ml1m-bucket/object2vec/movielens/input/") for uri in uris)
        assert job["HyperParameters"]["enc1_vocab_size"] == str(MOVIES + 1)  # ml-1m's ids, not ml-100k's
        assert outcome.report.is_file()
    top_n = report.outcomes[1]
    # The taste pattern is learnable: a model this small still ranks far better than popularity.
    assert top_n.decision.approved, top_n.decision.reason
    assert registry.serving(clients.sagemaker, "topNModel").version == 1
    assert report.index is not None
    assert report.index.movies == MOVIES
    raw = clients.s3.get_object(Bucket="ml1m-bucket", Key=report.index.index_key)["Body"].read()
    with np.load(io.BytesIO(raw)) as index:
        ids, names = index[contract.NPZ_CATALOG_IDS].tolist(), index[contract.NPZ_CATALOG_TITLES].tolist()
    titles = dict(zip(ids, names, strict=True))
    assert titles[7] == "Film 7 (1997)"  # the release's own titles
    answer = clients.runtime.invoke_endpoint(
        EndpointName="topNModel",
        ContentType="application/json",
        Body=json.dumps({"instances": [{"in0": [1], "in1": [MOVIES]}]}),
    )
    assert "scores" in json.loads(answer["Body"].read())["predictions"][0]


def test_a_half_star_release_is_served_on_its_own_titles_and_scale(cloud: Cloud, tmp_path: Path):
    source = write_csv_release(tmp_path / "ml-latest-small")
    stack = Stack(bucket="csv-bucket", dataset="ml-latest-small", training_overrides={"epochs": "3"})
    backend = LocalBackend(stack, cloud.config)
    lines: list[str] = []
    clients = lifecycle.apply(backend, source=str(source), log=lines.append)
    assert (
        "uploaded ml-latest-small's u.item to s3://csv-bucket/object2vec/movielens/ml-latest-small/u.item"
        in lines
    )
    function = stack.recommendation_function.name
    variables = clients.lambda_.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    assert {k: variables[k] for k in ("DATASET", "RATING_MIN", "RATING_MAX", "TITLES_ENCODING")} == {
        "DATASET": "ml-latest-small",
        "RATING_MIN": "0.5",
        "RATING_MAX": "5",
        "TITLES_ENCODING": "utf-8",
    }
    # ua.base holds what the models learn from: every rating but the 10-per-user test carve.
    base = clients.s3.get_object(Bucket="csv-bucket", Key=stack.data_key("ua.base"))["Body"].read()
    assert len(base.splitlines()) == USERS * (PER_USER - 10)

    # Training on another release than the one the functions were configured for is refused.
    other = LocalBackend(Stack(bucket="csv-bucket", dataset="ml-1m"), cloud.config)
    with pytest.raises(
        StackError, match=r"answer with ml-latest-small's titles .* `make apply DATASET=ml-1m`"
    ):
        lifecycle.train(other, source=str(source), models=["rating"], log=lines.append)

    report = lifecycle.train(
        backend,
        source=str(source),
        channels_dir=tmp_path / "channels",
        reports_dir=tmp_path / "reports",
        models=["rating"],
        log=lines.append,
    )
    if not report.deployed:  # the gate's business, tested elsewhere: here the model must serve
        registry.set_approval(clients.sagemaker, report.records[0], "Approved", "served for the test")
        lifecycle.redeploy(backend, ["ratingModel"], log=lines.append)
    pairs = [[user, movie] for user in (1, 2, 3) for movie in (1, 2, 3, 4)]
    answer = invoke(clients, function, {"type": "rating", "pairs": pairs})
    for prediction in answer["predictions"]:
        assert prediction["scale"] == [0.5, 5.0]
        assert 0.5 <= prediction["rating"] <= 5.0
        assert "ml-latest-small's scale of 0.5 to 5 stars" in prediction["explanation"]
    assert answer["predictions"][1]["title"] == "Film № 2, the sequel (1992)"

    # Switching the stack to another release: an approved model of the old one is not redeployed.
    lifecycle.apply(other, source=str(write_ml1m(tmp_path / "ml-1m")), log=lines.append)
    with pytest.raises(StackError, match=r"ratingModel version \d+ was trained on ml-latest-small, but"):
        lifecycle.redeploy(other, ["ratingModel"], log=lines.append)
