"""`make train DATASET=ml-1m` through the whole train path on a small synthetic release in ml-1m's layout:
channels, training jobs, evaluation on temporary endpoints, the Model Registry, the gate, deployment and
the retrieval index, all from that release's ids and titles."""

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
from jobs.stack.names import Stack

pytestmark = pytest.mark.slow
USERS, MOVIES, PER_USER = 60, 80, 40
GENRES = ("Action", "Comedy", "Drama", "Horror")


def write_ml1m(folder: Path) -> Path:
    """A learnable release: users of one taste love the movies of one genre (rating 4-5) and dislike
    the others (1-2), seeded; `::`-separated latin-1 files as ml-1m ships them."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    movies = [f"{m}::Film {m} ({1990 + m % 10})::{GENRES[m % 4]}" for m in range(1, MOVIES + 1)]
    (folder / "movies.dat").write_text("\n".join(movies) + "\n", encoding="latin-1")
    lines = []
    for user in range(1, USERS + 1):
        for movie in sorted(rng.choice(np.arange(1, MOVIES + 1), PER_USER, replace=False).tolist()):
            liked = movie % 4 == user % 4
            rating = int(rng.integers(4, 6)) if liked else int(rng.integers(1, 3))
            lines.append(f"{user}::{movie}::{rating}::{956700000 + len(lines)}")
    (folder / "ratings.dat").write_text("\n".join(lines) + "\n", encoding="latin-1")
    return folder


def test_ml1m_trains_registers_and_serves_its_own_ids(cloud: Cloud, tmp_path: Path):
    source = write_ml1m(tmp_path / "ml-1m")
    stack = Stack(bucket="ml1m-bucket", dataset="ml-1m", training_overrides={"epochs": "3"})
    backend = LocalBackend(stack, cloud.config)
    backend.provision(lambda line: None)  # the bucket: `make apply` would also upload the workshop's files
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
