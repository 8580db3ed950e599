"""Held-out figures measured through a real Object2Vec endpoint on the local cloud agree with the same
figures computed in-process from the same model, for every task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from localcloud_support import O2V_IMAGE, Cloud, deploy, wait_until
from object2vec_testdata import ITEMS, TINY, USERS, checkerboard, write_channels

from jobs.evaluation import accuracy, hit_rate_curve, rmse
from jobs.stack import held_out
from object2vec import Hyperparameters, Predictor, train
from object2vec.data import Sequences

pytestmark = pytest.mark.slow


def deployed(cloud: Cloud, tmp: Path, name: str, overrides: dict[str, str], *, classes: bool) -> Predictor:
    """Train a tiny checkerboard model, serve it as endpoint `name`; the same model in-process."""
    channels = write_channels(tmp / name, classes=classes)
    hp = Hyperparameters.from_dict({**TINY, "epochs": "3", **overrides})
    result = train(hp, channels, tmp / name / "model", progress=False)
    s3 = cloud.client("s3")
    s3.put_object(Bucket="held-out", Key=f"{name}/model.tar.gz", Body=result.model_path.read_bytes())
    sm = cloud.client("sagemaker")
    deploy(sm, name, f"s3://held-out/{name}/model.tar.gz", O2V_IMAGE)
    wait_until(lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService", timeout=120)
    return Predictor.load(result.model_path)


def triples(records: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array([r["in0"][0] for r in records]),
        np.array([r["in1"][0] for r in records]),
        np.array([float(r["label"]) for r in records]),
    )


def in_process(predictor: Predictor, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
    return predictor.predict(Sequences.single(users), Sequences.single(movies))[:, -1]


def test_held_out_figures_through_an_endpoint(cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cloud.client("s3").create_bucket(Bucket="held-out")
    runtime = cloud.client("sagemaker-runtime")
    monkeypatch.setattr(held_out, "PAIRS_PER_REQUEST", 64)  # several requests even for tiny data
    test = triples(checkerboard(150, 3))

    regressor = deployed(cloud, tmp_path, "heldout-rating", {}, classes=False)
    figure = held_out.measure(runtime, "heldout-rating", "rating", test)
    assert figure.value == pytest.approx(rmse(in_process(regressor, test[0], test[1]), test[2]), abs=1e-5)
    assert figure.hit_rate is None

    labels = triples(checkerboard(150, 3, classes=True))
    classifier = deployed(
        cloud, tmp_path, "heldout-rec", {"output_layer": "softmax", "epochs": "15"}, classes=True
    )
    figure = held_out.measure(runtime, "heldout-rec", "recommendation", labels)
    assert figure.value == accuracy(in_process(classifier, labels[0], labels[1]), labels[2])
    assert figure.value > 0.6  # the checkerboard is learnable: better than a coin

    # Top-N: rank every movie for each user; the regressor's scores serve as the ranking here.
    train_pairs = triples(checkerboard(600, 1))[:2]
    figure = held_out.measure(runtime, "heldout-rating", "implicit", test, seen=[train_pairs])
    users, movies = np.meshgrid(np.arange(USERS), np.arange(ITEMS), indexing="ij")
    scores = in_process(regressor, users.ravel(), movies.ravel()).reshape(USERS, ITEMS)
    seen = np.zeros((USERS, ITEMS), bool)
    seen[train_pairs[0], train_pairs[1]] = True
    relevant = np.zeros((USERS, ITEMS), bool)
    relevant[test[0][test[2] >= 4], test[1][test[2] >= 4]] = True
    expected = hit_rate_curve(scores, seen, relevant, range(1, 21))
    assert figure.hit_rate is not None
    assert figure.hit_rate == pytest.approx(expected, abs=1e-9)
    assert figure.value == figure.hit_rate[10]
    assert figure.ranked_users == int(relevant.any(1).sum())  # few pairs: every user is ranked
    assert list(figure.hit_rate.values()) == sorted(figure.hit_rate.values())  # HR@k grows with k
    monkeypatch.setattr(held_out, "MAX_RANKED_PAIRS", 10 * ITEMS)  # now only 10 users fit: a sample
    sampled = held_out.measure(runtime, "heldout-rating", "implicit", test, seen=[train_pairs])
    assert sampled.ranked_users == 10
