"""Evaluating a candidate before the gate: the held-out data and baselines of each task on the real
ml-100k (the same figures `make bench-model` reports), and a temporary endpoint that measures a model
and leaves nothing behind, even when the model cannot load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from localcloud_support import O2V_IMAGE, ROLE, Cloud, error_of

from jobs.backends.local.endpoints import temporary_endpoint
from jobs.channels import read_manifest, task_folder
from jobs.evaluation import rmse
from jobs.movielens import MovieLens
from jobs.stack.candidate_evaluation import baselines, evaluate_candidate, held_out_data
from jobs.stack.errors import StackError
from object2vec import Hyperparameters, Predictor, train
from object2vec.data import Sequences

pytestmark = pytest.mark.usefixtures("isolated_movielens_env")


def held(ml100k_out: Path, ml100k: MovieLens, task: str, protocol: str = "holdout"):
    return held_out_data(read_manifest(task_folder(ml100k_out, "ml-100k", protocol, task)), ml100k)


def test_baselines_are_the_benchmarks_figures(ml100k_out: Path, ml100k: MovieLens):
    # benchmarks/results/model.json, holdout protocol, measured on ua.test
    rating = held(ml100k_out, ml100k, "rating")
    assert rating.held_out_channel == "test"
    assert len(rating.test[0]) == 9430
    figures, curves = baselines(rating)
    assert figures["global mean"] == pytest.approx(1.1222090573463996, abs=1e-6)
    assert figures["per-user mean"] == pytest.approx(1.0477700569759105, abs=1e-6)
    assert curves == {}
    figures, _ = baselines(held(ml100k_out, ml100k, "recommendation"))
    assert figures["majority class"] == pytest.approx(0.5799575821845175, abs=1e-9)
    implicit = held(ml100k_out, ml100k, "implicit")
    assert set(np.unique(implicit.test[2])) == {1.0, 2.0, 3.0, 4.0, 5.0}  # the ratings came back
    # The train channel's genre pseudo-users (ids 944+) are neither measured nor a baseline's data.
    assert max(users.max() for users, _ in implicit.seen) == 943
    assert len(implicit.train[0]) == len(rating.train[0])
    figures, curves = baselines(implicit)
    assert figures["popularity"] == pytest.approx(0.5770877944325482, abs=1e-9)
    assert curves["popularity"][10] == figures["popularity"]
    manifest = read_manifest(task_folder(ml100k_out, "ml-100k", "holdout", "implicit"))
    assert implicit.test_set_sha256 == manifest.channels["test"].sha256


def test_the_workshop_protocol_is_measured_on_validation(ml100k_out: Path, ml100k: MovieLens):
    workshop = held(ml100k_out, ml100k, "rating", "workshop")
    assert workshop.held_out_channel == "validation"
    assert len(workshop.test[0]) == 9430  # ua.test, the notebook's validation channel
    assert len(workshop.seen) == 1  # only train: validation is what it is measured on


@pytest.mark.slow
def test_a_temporary_endpoint_measures_the_model_and_is_deleted(
    cloud: Cloud, ml100k_out: Path, ml100k: MovieLens, tmp_path: Path
):
    folder = task_folder(ml100k_out, "ml-100k", "holdout", "rating")
    manifest = read_manifest(folder)
    hp = Hyperparameters.from_dict(
        {
            "enc0_max_seq_len": "1",
            "enc1_max_seq_len": "1",
            "enc0_vocab_size": str(manifest.vocab.enc0_vocab_size),
            "enc1_vocab_size": str(manifest.vocab.enc1_vocab_size),
            "enc0_network": "pooled_embedding",
            "enc1_network": "pooled_embedding",
            "enc0_token_embedding_dim": "8",
            "enc1_token_embedding_dim": "8",
            "enc_dim": "8",
            "mlp_layers": "1",
            "mlp_dim": "8",
            "epochs": "1",
            "mini_batch_size": "1024",
            "output_layer": "mean_squared_error",
        }
    )
    channel_dirs = {name: manifest.channel_path(name).parent for name in manifest.channels}
    result = train(hp, channel_dirs, tmp_path / "model", progress=False)
    s3, sagemaker = cloud.client("s3"), cloud.client("sagemaker")
    s3.create_bucket(Bucket="candidates")
    s3.put_object(Bucket="candidates", Key="rating/model.tar.gz", Body=result.model_path.read_bytes())
    s3.put_object(Bucket="candidates", Key="broken/model.tar.gz", Body=b"not a model")
    data = held_out_data(manifest, ml100k)
    movies = np.array([1, 50, 195])
    lines: list[str] = []
    serving = temporary_endpoint(
        sagemaker,
        name="ratingModel-20261203-100000",
        image=O2V_IMAGE,
        artifact_uri="s3://candidates/rating/model.tar.gz",
        role_arn=ROLE,
        log=lines.append,
    )
    figure, vectors = evaluate_candidate(
        serving,
        cloud.client("sagemaker-runtime"),
        held=data,
        embed_movies=movies,
        enc_dim=8,
        log=lines.append,
    )
    predictor = Predictor.load(result.model_path)
    users, items, ratings = data.test
    expected = rmse(predictor.predict(Sequences.single(users), Sequences.single(items))[:, -1], ratings)
    assert figure.value == pytest.approx(expected, abs=1e-5)
    assert vectors is not None
    assert vectors.shape == (3, 8)
    assert np.allclose(vectors, predictor.embed(1, Sequences.single(movies)), atol=1e-5)
    assert lines == [
        "serving ratingModel-20261203-100000 on a temporary endpoint",
        "evaluating ratingModel-20261203-100000 on the test channel",
    ]
    assert _gone(sagemaker, "ratingModel-20261203-100000")

    serving = temporary_endpoint(
        sagemaker,
        name="ratingModel-broken",
        image=O2V_IMAGE,
        artifact_uri="s3://candidates/broken/model.tar.gz",
        role_arn=ROLE,
    )
    with pytest.raises(StackError, match="endpoint ratingModel-broken failed"):
        evaluate_candidate(serving, cloud.client("sagemaker-runtime"), held=data, log=lines.append)
    assert _gone(sagemaker, "ratingModel-broken")


def _gone(sagemaker, name: str) -> bool:
    for call, key in (
        (sagemaker.describe_endpoint, "EndpointName"),
        (sagemaker.describe_endpoint_config, "EndpointConfigName"),
        (sagemaker.describe_model, "ModelName"),
    ):
        code, message, _, _ = error_of(lambda call=call, key=key: call(**{key: name}))
        assert (code, "Could not find" in message) == ("ValidationException", True)
    return True
