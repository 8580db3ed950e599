"""The toolkit's side of the Model Registry, through boto3 against the local cloud: register a run,
approve by gate or by hand, find what an endpoint should serve, roll back."""

from __future__ import annotations

import json
import math

import pytest
from localcloud_support import O2V_IMAGE, Cloud

from jobs.stack import registry as mp
from jobs.stack.errors import StackError
from jobs.stack.names import Stack

pytestmark = pytest.mark.slow
STACK = Stack(bucket="registry-tests")
HYPERPARAMETERS = {"comparator_list": "hadamard,concat,abs_diff", "epochs": "20"}


@pytest.fixture(scope="module")
def clients(cloud: Cloud):
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket=STACK.bucket)
    return cloud.client("sagemaker"), s3


def run(clients, job: str, held_out: float, slot=STACK.rating) -> mp.ModelRecord:
    sagemaker, s3 = clients
    artifact = f"output/{job}/output/model.tar.gz"
    s3.put_object(Bucket=STACK.bucket, Key=artifact, Body=job.encode())
    return mp.register(
        sagemaker,
        s3,
        STACK,
        slot,
        training_job=job,
        image=O2V_IMAGE,
        artifact_uri=f"s3://{STACK.bucket}/{artifact}",
        hyperparameters=HYPERPARAMETERS,
        metrics={"test:mean_squared_error": held_out**2, "validation:mean_squared_error": 0.9},
        data_manifest_sha256="d" * 64,
        test_set_sha256="t" * 64,
        held_out=held_out,
        hit_rate={1: 0.3, 10: held_out},
        baselines={"per-user mean": 1.0478},
    )


def test_register_describes_a_pending_package_with_its_evaluation(clients):
    sagemaker, s3 = clients
    record = run(clients, "ratingModel-1", 0.9361)
    assert (record.endpoint, record.version, record.approval) == ("ratingModel", 1, mp.PENDING)
    assert record.model_version == f"ratingModel-v0001-{record.artifact_sha256[:8]}"
    assert record.image == O2V_IMAGE
    assert record.held_out == pytest.approx(0.9361)
    assert record.held_out_metric == "RMSE"
    assert record.hyperparameters == HYPERPARAMETERS  # commas and all: kept in the evaluation JSON
    evaluation_key = mp.evaluation_key(STACK, "ratingModel", "ratingModel-1")
    assert record.evaluation_uri == f"s3://{STACK.bucket}/{evaluation_key}"
    evaluation = json.loads(s3.get_object(Bucket=STACK.bucket, Key=evaluation_key)["Body"].read())
    assert evaluation["regression_metrics"]["rmse"]["value"] == pytest.approx(0.9361)
    assert evaluation["baselines"] == {"per-user mean": 1.0478}
    assert evaluation["held_out"]["hit_rate"] == {"1": 0.3, "10": pytest.approx(0.9361)}
    described = mp.describe(sagemaker, record.package_arn)
    assert described.data_manifest_sha256 == "d" * 64
    assert described.hyperparameters == {}  # only in S3: read it back on demand
    assert mp.with_evaluation(s3, described).hyperparameters == HYPERPARAMETERS
    assert mp.latest_approved(sagemaker, "ratingModel") is None
    with pytest.raises(StackError, match="no approved model package in group ratingModel"):
        mp.serving(sagemaker, "ratingModel")


def test_the_endpoint_serves_the_latest_approved_and_rolls_back(clients):
    sagemaker, _ = clients
    slot = STACK.top_n
    first, second, third = (run(clients, f"topNModel-{n}", 0.80 + n / 100, slot) for n in (1, 2, 3))
    mp.set_approval(sagemaker, first, mp.APPROVED, "gate: beats every baseline")
    assert mp.serving(sagemaker, "topNModel").version == 1
    mp.set_approval(sagemaker, third, mp.APPROVED, "by hand")
    assert mp.serving(sagemaker, "topNModel").version == 3
    assert [r.version for r in mp.packages(sagemaker, "topNModel")] == [3, 2, 1]  # newest first
    assert [r.version for r in mp.packages(sagemaker, "topNModel", mp.PENDING)] == [2]
    assert mp.find(sagemaker, "topNModel", 2).package_arn == second.package_arn
    with pytest.raises(StackError, match=r"topNModel has no model package version 9 \(versions: 3, 2, 1\)"):
        mp.find(sagemaker, "topNModel", 9)

    rejected, now_serving = mp.rollback(sagemaker, "topNModel")
    assert (rejected.version, now_serving.version) == (3, 1)
    described = mp.describe(sagemaker, third.package_arn)
    assert (described.approval, described.approval_description) == (mp.REJECTED, "rolled back to version 1")
    assert mp.serving(sagemaker, "topNModel").version == 1
    with pytest.raises(StackError, match="topNModel has 1 approved model package"):
        mp.rollback(sagemaker, "topNModel")


def test_a_group_with_no_packages_and_a_failed_evaluation(clients):
    sagemaker, _ = clients
    assert mp.packages(sagemaker, "neverTrained") == []  # no group yet: nothing, not an error
    assert mp.ensure_group(sagemaker, "neverTrained") == mp.ensure_group(sagemaker, "neverTrained")
    record = run(clients, "recommendationModel-1", math.nan, STACK.recommendation)
    assert math.isnan(record.held_out)
    assert record.held_out_metric == "accuracy"
