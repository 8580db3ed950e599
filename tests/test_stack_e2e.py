"""The whole stack on the local backend, exercised through boto3 as a user (or Lambda) would.

One module-wide stack: apply, train (two epochs per model, to stay fast), then every handler path
through `lambda.invoke`, the registry and index in S3, restart recovery, and destroy.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from localcloud_support import cloud_config

import localcloud
from handlers import contract
from jobs.backends.local import LocalBackend
from jobs.cli.main import cli
from jobs.stack import lifecycle, registry
from jobs.stack.clients import Clients
from jobs.stack.errors import StackError
from jobs.stack.event_runner import load_events, send_all
from jobs.stack.names import Stack
from jobs.stack.registry import ModelRecord
from localcloud import CloudConfig

pytestmark = pytest.mark.slow

REC = "Recommendation_Engine_Object2Vec"
RETRIEVAL = "Movie_Retrieval_Object2Vec"


@dataclass
class Deployed:
    backend: LocalBackend
    clients: Clients
    records: dict[str, ModelRecord]
    source: str
    train_log: list[str]

    @property
    def stack(self) -> Stack:
        return self.backend.stack

    @property
    def cloud(self) -> CloudConfig:
        return self.backend.cloud


def pointer_key(stack: Stack, endpoint: str) -> str:
    return contract.index_pointer_key(stack.index_prefix, endpoint)


def _quiet(line: str) -> None:
    pass


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, ml100k_dir: Path) -> Iterator[Deployed]:
    cloud = cloud_config(tmp_path_factory.mktemp("stack-state"))
    stack = Stack(bucket="e2e-bucket", training_overrides={"epochs": "2"})
    backend = LocalBackend(stack, cloud)
    lifecycle.apply(backend, source=str(ml100k_dir), log=_quiet)
    lines: list[str] = []
    report = lifecycle.train(
        backend,
        source=str(ml100k_dir),
        channels_dir=tmp_path_factory.mktemp("channels"),
        reports_dir=tmp_path_factory.mktemp("reports"),
        log=lines.append,
    )
    records = {record.endpoint: record for record in report.records}
    yield Deployed(backend, lifecycle.connect(backend), records, str(ml100k_dir), lines)
    lifecycle.destroy(backend, log=_quiet)


def invoke(deployed: Deployed, function: str, event: Any) -> tuple[int, dict[str, Any], str]:
    """(statusCode, parsed body, log tail) of one RequestResponse invocation that must not raise."""
    response = deployed.clients.lambda_.invoke(
        FunctionName=function, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    assert "FunctionError" not in response, response["Payload"].read()
    answer = json.loads(response["Payload"].read())
    assert answer["headers"] == {"Content-Type": "application/json"}
    return answer["statusCode"], json.loads(answer["body"]), base64.b64decode(response["LogResult"]).decode()


@contextlib.contextmanager
def environment(deployed: Deployed, function: str, changes: dict[str, str | None]) -> Iterator[None]:
    """The function's variables changed for the block (None removes one), then restored: the
    module's other tests share the stack."""
    client = deployed.clients.lambda_
    before = client.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    after = {k: v for k, v in {**before, **changes}.items() if v is not None}
    client.update_function_configuration(FunctionName=function, Environment={"Variables": after})
    try:
        yield
    finally:
        client.update_function_configuration(FunctionName=function, Environment={"Variables": before})


# -- apply and train ---------------------------------------------------------------------------------


def test_apply_uploads_the_workshop_files_and_is_idempotent(deployed):
    s3 = deployed.clients.s3
    for name in ("ua.base", "u.item"):
        body = s3.get_object(Bucket="e2e-bucket", Key=f"object2vec/movielens/ml-100k/{name}")["Body"].read()
        assert body == (Path(deployed.source) / name).read_bytes()
    again: list[str] = []
    lifecycle.apply(deployed.backend, source=deployed.source, log=again.append)
    assert f"function {REC}: unchanged" in again
    assert f"function {RETRIEVAL}: unchanged" in again


def test_channels_are_uploaded_where_the_training_jobs_read_them(deployed):
    listing = deployed.clients.s3.list_objects_v2(Bucket="e2e-bucket", Prefix="object2vec/movielens/input/")
    keys = {obj["Key"] for obj in listing["Contents"]}
    for task in ("rating", "recommendation", "implicit"):
        for channel in ("train", "validation", "test"):
            assert f"object2vec/movielens/input/{task}/{channel}/{channel}.jsonl" in keys


WATCHED = {
    "rating": ("mean_squared_error", min),
    "recommendation": ("cross_entropy", min),
    "implicit": ("hit_rate@10", max),
}


def kept_epoch(log: str, metric: str, best: Any) -> int:
    """The first epoch with the best validation `metric` in a job's log."""
    pattern = rf"epoch=(\d+), validation {re.escape(metric)} <\w+>=(\S+)"
    values = [(int(epoch), float(value)) for epoch, value in re.findall(pattern, log)]
    top = best(value for _, value in values)
    return next(epoch for epoch, value in values if value == top)


def test_every_model_is_refit_on_train_and_validation_for_the_epochs_validation_chose(deployed):
    sagemaker = deployed.clients.sagemaker
    input_uri = "s3://e2e-bucket/object2vec/movielens/input"
    for endpoint, task in (
        ("ratingModel", "rating"),
        ("recommendationModel", "recommendation"),
        ("topNModel", "implicit"),
    ):
        refit = sagemaker.describe_training_job(TrainingJobName=deployed.records[endpoint].training_job)
        first_name = refit["TrainingJobName"].removesuffix("-refit")
        assert first_name != refit["TrainingJobName"]
        first = sagemaker.describe_training_job(TrainingJobName=first_name)
        sources = {
            c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in first["InputDataConfig"]
        }
        assert sources == {c: f"{input_uri}/{task}/{c}/" for c in ("train", "validation", "test")}
        sources = {
            c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in refit["InputDataConfig"]
        }
        assert sources == {"train": f"{input_uri}/{task}/refit/", "test": f"{input_uri}/{task}/test/"}
        # The epochs are the ones the first job kept, by the metric it stopped on; nothing else changes.
        chosen = kept_epoch(
            localcloud.log_path(deployed.cloud, training_job=first_name).read_text(), *WATCHED[task]
        )
        assert refit["HyperParameters"]["epochs"] == str(chosen)
        assert {k: v for k, v in refit["HyperParameters"].items() if k != "epochs"} == {
            k: v for k, v in first["HyperParameters"].items() if k != "epochs"
        }
        said = f"{first_name}-refit submitted: {chosen} epochs (chosen by {first_name}) on train + validation"
        assert f"training job {said}" in deployed.train_log


def test_the_refit_channel_holds_the_train_and_validation_files(deployed):
    s3 = deployed.clients.s3
    prefix = "object2vec/movielens/input/rating"
    for channel in ("train", "validation"):
        own = s3.get_object(Bucket="e2e-bucket", Key=f"{prefix}/{channel}/{channel}.jsonl")["Body"].read()
        refit = s3.get_object(Bucket="e2e-bucket", Key=f"{prefix}/refit/{channel}-{channel}.jsonl")[
            "Body"
        ].read()
        assert refit == own


def test_every_model_is_a_registered_approved_package(deployed):
    sagemaker, s3 = deployed.clients.sagemaker, deployed.clients.s3
    for endpoint in ("ratingModel", "recommendationModel", "topNModel"):
        record = registry.serving(sagemaker, endpoint)
        assert record.package_arn == deployed.records[endpoint].package_arn
        assert (record.version, record.approval) == (1, registry.APPROVED)
        assert "beats every baseline" in record.approval_description  # the gate approved it, and says why
        bucket, key = record.artifact_uri.removeprefix("s3://").split("/", 1)
        artifact = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.sha256(artifact).hexdigest() == record.artifact_sha256
        full = registry.with_evaluation(s3, record)
        assert full.hyperparameters["epochs"] in ("1", "2")  # the refit's: what validation chose of 2
        assert record.protocol == "holdout"
        assert any(name.startswith("test:") for name in full.metrics)
        assert record.held_out == record.held_out  # measured: not NaN
        evaluation = registry.evaluation(s3, record)
        assert evaluation["held_out"]["test_set_sha256"] == record.test_set_sha256
        report = record.evaluation_uri.rsplit("/", 1)[0] + "/report.html"
        page = s3.get_object(Bucket="e2e-bucket", Key=report.removeprefix("s3://e2e-bucket/"))["Body"].read()
        assert page.count(b"data:image/png;base64,") >= 3
    top_n = registry.serving(sagemaker, "topNModel")
    assert top_n.held_out_metric == "HR@10"
    assert len(registry.evaluation(s3, top_n)["held_out"]["hit_rate"]) == 20
    # The temporary evaluation endpoints are gone: only the three serving endpoints remain.
    names = {e["EndpointName"] for e in sagemaker.list_endpoints(MaxResults=100)["Endpoints"]}
    assert names == {"ratingModel", "recommendationModel", "topNModel"}


def test_endpoints_serve_the_registered_versions(deployed):
    sagemaker = deployed.clients.sagemaker
    for endpoint, record in deployed.records.items():
        description = sagemaker.describe_endpoint(EndpointName=endpoint)
        assert description["EndpointStatus"] == "InService"
        assert description["EndpointConfigName"] == record.model_version
        model = sagemaker.describe_model(ModelName=record.model_version)
        assert model["PrimaryContainer"]["ModelDataUrl"] == record.artifact_uri


def test_the_retrieval_index_is_tagged_with_the_deployed_model_version(deployed):
    raw = deployed.clients.s3.get_object(Bucket="e2e-bucket", Key=pointer_key(deployed.stack, "topNModel"))
    pointer = json.loads(raw["Body"].read())
    assert pointer["model_version"] == deployed.records["topNModel"].model_version
    assert pointer["movies"] == 1680  # every movie of ua.base: 1582 and 1653 are not in it


# -- the events of `make test-events` ----------------------------------------------------------------------


def test_every_event_file_is_answered(deployed):
    results = send_all(deployed.clients.lambda_, deployed.stack)
    assert len(results) == len(load_events(deployed.stack)) >= 8
    assert all(r.ok for r in results), [r for r in results if not r.ok]


def test_a_failed_invocation_is_a_failed_row_not_a_lost_table(deployed):
    missing = dataclasses.replace(deployed.stack.retrieval_function, name="No_Such_Function")
    stack = dataclasses.replace(deployed.stack, retrieval_function=missing)
    results = send_all(deployed.clients.lambda_, stack)
    failed = [r for r in results if not r.ok]
    assert {r.function for r in failed} == {"No_Such_Function"}
    assert all(r.function_error == "ResourceNotFoundException" for r in failed)
    assert any(r.ok for r in results)  # the other function's events were still sent and tabulated


# -- recommendation engine ----------------------------------------------------------------------------


def test_workshop_rating_event(deployed):
    event = {"data": '{ "instances": [{"in0": [789], "in1": [286]}]}', "type": "rating"}
    status, body, _ = invoke(deployed, REC, event)
    assert status == 200
    (prediction,) = body["predictions"]
    assert prediction["title"] == "English Patient, The (1996)"
    assert 1.0 <= prediction["rating"] <= 5.0
    assert body["message"] == f"The User will likely rate this movie to [{prediction['raw_score']}]"
    assert body["endpoint"] == "ratingModel"


def test_every_pair_is_answered_in_order(deployed):
    status, body, _ = invoke(
        deployed, REC, {"type": "recommendation", "pairs": [[789, 286], [1, 50], [196, 242]]}
    )
    assert status == 200
    assert [(p["user_id"], p["movie_id"]) for p in body["predictions"]] == [(789, 286), (1, 50), (196, 242)]
    for prediction in body["predictions"]:
        assert prediction["recommend"] is (prediction["probability"] > 0.5)


def test_top_k_excludes_what_the_user_rated(deployed):
    rated = {
        int(line.split("\t")[1])
        for line in (Path(deployed.source) / "ua.base").read_text().splitlines()
        if line.split("\t")[0] == "196"
    }
    status, body, _ = invoke(deployed, REC, {"type": "top_k", "user_id": 196, "k": 20})
    assert status == 200
    movies = [r["movie_id"] for r in body["recommendations"]]
    assert len(movies) == 20
    assert len(set(movies)) == 20
    assert not set(movies) & rated
    scores = [r["score"] for r in body["recommendations"]]
    assert scores == sorted(scores, reverse=True)
    status, body, _ = invoke(
        deployed, REC, {"type": "top_k", "user_id": 196, "k": 20, "exclude_rated": False}
    )
    assert set(r["movie_id"] for r in body["recommendations"]) & rated


@pytest.mark.parametrize(
    ("event", "status", "message"),
    [
        (
            {"type": "ratings", "user_id": 1, "movie_id": 2},
            400,
            "'type' must be one of rating, recommendation, top_k",
        ),
        ({"type": "rating", "data": "{oops"}, 400, "'data' is not valid JSON"),
        ({"type": "rating", "user_id": 1}, 400, "missing required field 'movie_id'"),
        ({"type": "rating", "user_id": 1, "movie_id": 99999}, 404, "movie 99999 is not in the catalog"),
        (
            {"type": "rating", "user_id": 5000, "movie_id": 1},
            400,
            "model behind 'ratingModel' rejected the request",
        ),
        ({"type": "top_k", "user_id": 5000}, 404, "user 5000 has no ratings in the training data"),
        ([1, 2, 3], 400, "event must be a JSON object, got list"),
    ],
)
def test_bad_recommendation_events(deployed, event, status, message):
    got_status, body, _ = invoke(deployed, REC, event)
    assert got_status == status
    assert message in body["message"]


# -- movie retrieval ------------------------------------------------------------------------------------


def test_workshop_retrieval_event_returns_the_neighbours(deployed):
    status, body, _ = invoke(deployed, RETRIEVAL, {"bucket_name": "e2e-bucket", "movie_id_to_examine": 195})
    assert status == 200
    assert body["title"] == "Terminator, The (1984)"
    assert body["k"] == 10
    assert body["metric"] == "euclidean"
    assert 195 not in [n["movie_id"] for n in body["neighbours"]]
    nearest = body["neighbours"][0]["title"]
    assert (
        body["message"] == f"The closest movie to Terminator, The (1984) in the embedding space is {nearest}"
    )
    assert body["model_version"] == deployed.records["topNModel"].model_version


def test_cosine_neighbours_are_sorted(deployed):
    status, body, _ = invoke(deployed, RETRIEVAL, {"movie_id": 195, "k": 5, "metric": "cosine"})
    assert status == 200
    distances = [n["distance"] for n in body["neighbours"]]
    assert len(distances) == 5
    assert distances == sorted(distances)


@pytest.mark.parametrize(
    ("event", "status", "message"),
    [
        ({"movie_id": 1582}, 404, "movie 1582 (T-Men (1947)) has no embedding"),
        ({"movie_id": 1653}, 404, "has no embedding"),
        ({"movie_id": 99999}, 404, "movie 99999 is not in the catalog"),
        ({"bucket_name": "someone-elses", "movie_id_to_examine": 2}, 403, "is not this function's bucket"),
        ({"movie_id": 2, "metric": "manhattan"}, 400, "'metric' must be one of euclidean, cosine"),
        ({"movie_id": 2, "k": 0}, 400, "'k' must be an integer in 1..100"),
        ({}, 400, "give exactly one of 'movie_id' or 'movie_id_to_examine'"),
        ("195", 400, "event must be a JSON object, got str"),
    ],
)
def test_bad_retrieval_events(deployed, event, status, message):
    got_status, body, _ = invoke(deployed, RETRIEVAL, event)
    assert got_status == status
    assert message in body["message"]


def test_the_index_is_loaded_once_per_container_and_reloaded_on_a_new_version(deployed):
    s3, key = deployed.clients.s3, pointer_key(deployed.stack, "topNModel")
    pointer = json.loads(s3.get_object(Bucket="e2e-bucket", Key=key)["Body"].read())
    # GIVEN a container that checks the deployed version on every call (the default is every 10 s)
    with environment(deployed, RETRIEVAL, {"INDEX_REFRESH_SECONDS": "0"}):
        try:
            _, _, logs = invoke(deployed, RETRIEVAL, {"movie_id": 2})
            assert "index_loaded" in logs
            # WHEN the version has not changed THEN the warm container answers from memory
            _, _, logs = invoke(deployed, RETRIEVAL, {"movie_id": 2})
            assert "index_loaded" not in logs
            # WHEN a new version is published THEN the next call reloads it
            newer = json.dumps({**pointer, "model_version": "next"}).encode()
            s3.put_object(Bucket="e2e-bucket", Key=key, Body=newer)
            _, body, logs = invoke(deployed, RETRIEVAL, {"movie_id": 2})
            assert "index_loaded" in logs
            assert body["model_version"] == "next"
        finally:
            s3.put_object(Bucket="e2e-bucket", Key=key, Body=json.dumps(pointer).encode())


# -- failures of what the functions depend on ----------------------------------------------------------


def test_a_missing_endpoint_is_a_503_and_a_missing_variable_a_500(deployed):
    with environment(deployed, REC, {"ENDPOINT_NAME_RATING": "noSuchModel", "ENDPOINT_NAME_REC": None}):
        status, body, _ = invoke(deployed, REC, {"type": "rating", "user_id": 1, "movie_id": 2})
        assert status == 503
        assert body["message"].startswith("endpoint 'noSuchModel' is not available")
        status, body, _ = invoke(deployed, REC, {"type": "recommendation", "user_id": 1, "movie_id": 2})
        assert (status, body["message"]) == (
            500,
            "environment variable ENDPOINT_NAME_REC is not set on this function",
        )


def test_the_workshop_misspelt_variables_are_accepted(deployed):
    with environment(deployed, REC, {"ENDPOINT_NAME_RATING": None, "ENDPOINT_NANE_RATING": "ratingModel"}):
        status, body, _ = invoke(deployed, REC, {"type": "rating", "user_id": 1, "movie_id": 2})
        assert (status, body["endpoint"]) == (200, "ratingModel")


# -- restart, and the order of operations -----------------------------------------------------------------


def test_train_and_test_events_need_apply_first(tmp_path):
    cloud = cloud_config(tmp_path / "never-started")
    with pytest.raises(StackError, match=r"the local cloud is not running: run `make apply` first"):
        lifecycle.test_events(LocalBackend(Stack(bucket="x"), cloud))


def test_state_survives_a_restart_without_retraining(deployed):
    assert localcloud.stop(deployed.cloud)
    lifecycle.apply(deployed.backend, source=deployed.source, log=_quiet)
    for endpoint, record in deployed.records.items():
        description = deployed.clients.sagemaker.describe_endpoint(EndpointName=endpoint)
        assert (description["EndpointStatus"], description["EndpointConfigName"]) == (
            "InService",
            record.model_version,
        )
    status, body, _ = invoke(deployed, RETRIEVAL, {"movie_id": 195, "k": 3})
    assert status == 200
    assert body["model_version"] == deployed.records["topNModel"].model_version
    status, _, _ = invoke(deployed, REC, {"type": "rating", "user_id": 1, "movie_id": 2})
    assert status == 200


# -- the quality gate, swaps and rollback (they change what ratingModel serves: after the tests above) -----


def retrain(deployed: Deployed, tmp_path: Path, lines: list[str], **changes: Any) -> lifecycle.TrainReport:
    """Train ratingModel again with `changes` to the stack (e.g. its training overrides)."""
    backend = LocalBackend(dataclasses.replace(deployed.stack, **changes), deployed.cloud)
    return lifecycle.train(
        backend,
        source=deployed.source,
        channels_dir=tmp_path / "channels",
        reports_dir=tmp_path / "reports",
        models=["rating"],
        log=lines.append,
    )


def serving_config(deployed: Deployed, endpoint: str = "ratingModel") -> str:
    return deployed.clients.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]


def test_a_worse_model_stays_pending_and_the_endpoint_keeps_serving(deployed, tmp_path):
    before = serving_config(deployed)
    lines: list[str] = []
    # One epoch at a learning rate that barely moves the weights: about the global mean's RMSE.
    report = retrain(
        deployed, tmp_path, lines, training_overrides={"epochs": "1", "learning_rate": "0.00001"}
    )
    (outcome,) = report.outcomes
    assert (outcome.record.version, outcome.record.approval) == (2, registry.PENDING)
    assert "does not beat the baseline per-user mean" in outcome.decision.reason
    assert report.deployed == ()
    assert serving_config(deployed) == before
    assert "ratingModel still serves version 1; `o2v models approve ratingModel 2` deploys this one" in lines
    page = outcome.report.read_text()
    assert "PendingManualApproval" in page
    assert "Against the approved package" in page


def test_a_better_model_is_approved_and_swapped_with_no_failed_request(deployed, tmp_path):
    runtime = deployed.clients.runtime
    body = json.dumps({"instances": [{"in0": [1], "in1": [50]}]})
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def keep_asking() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                runtime.invoke_endpoint(EndpointName="ratingModel", ContentType="application/json", Body=body)
                answered += 1
            except Exception as err:  # any failure at all is what this test looks for
                failures.append(repr(err))

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        report = retrain(deployed, tmp_path, [], training_overrides={"epochs": "8"})
    finally:
        stop.set()
        asker.join()
    (outcome,) = report.outcomes
    assert (outcome.record.version, outcome.record.approval) == (3, registry.APPROVED)
    assert "beats the approved version 1" in outcome.decision.reason
    assert serving_config(deployed) == outcome.record.model_version
    assert failures == []
    assert answered > 10


def test_rollback_and_approval_through_the_cli(deployed, tmp_path, monkeypatch):
    for name, value in deployed.cloud.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BUCKET_NAME", "e2e-bucket")
    runner = CliRunner()
    listed = runner.invoke(cli, ["models", "list", "ratingModel"])
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.output.splitlines()[1:]]
    assert [row[:4] for row in rows] == [
        ["*", "ratingModel", "3", "Approved"],
        ["ratingModel", "2", "PendingManualApproval", "RMSE"],
        ["ratingModel", "1", "Approved", "RMSE"],
    ]
    version_1 = registry.find(deployed.clients.sagemaker, "ratingModel", 1)
    rolled = runner.invoke(cli, ["models", "rollback", "ratingModel"])
    assert rolled.exit_code == 0, rolled.output
    assert "ratingModel version 3: Rejected (rolled back)" in rolled.output
    assert serving_config(deployed) == version_1.model_version
    shown = runner.invoke(cli, ["models", "show", "ratingModel", "3"])
    assert "status        Rejected: rolled back to version 1" in shown.output
    approved = runner.invoke(cli, ["models", "approve", "ratingModel", "2", "--reason", "a person said so"])
    assert approved.exit_code == 0, approved.output
    assert "ratingModel serves version 2" in approved.output
    assert (
        serving_config(deployed) == registry.find(deployed.clients.sagemaker, "ratingModel", 2).model_version
    )
    written = runner.invoke(cli, ["models", "report", "ratingModel", "--out", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert (tmp_path / "ratingModel-v0003.html").read_bytes().startswith(b"<!DOCTYPE html>")
    rollback_again = runner.invoke(cli, ["models", "rollback", "ratingModel"])
    assert rollback_again.exit_code == 0, rollback_again.output
    assert serving_config(deployed) == version_1.model_version  # 2 rejected: 1 is the approved one before it
    nothing_left = runner.invoke(cli, ["models", "rollback", "ratingModel"])
    assert nothing_left.exit_code == 1
    assert "ratingModel has 1 approved model package(s): nothing to roll back to" in nothing_left.output


def test_the_workshop_profile_on_the_workshop_protocol(deployed, tmp_path):
    """The lab's run (one short epoch here): train and validation only, measured on validation, and never
    compared with versions measured on the holdout test set."""
    backend = LocalBackend(
        dataclasses.replace(deployed.stack, protocol="workshop", training_overrides={"epochs": "1"}),
        deployed.cloud,
    )
    lines: list[str] = []
    report = lifecycle.train(
        backend,
        source=deployed.source,
        channels_dir=tmp_path / "channels",
        reports_dir=tmp_path / "reports",
        models=["rating"],
        profile_set="workshop",
        log=lines.append,
    )
    (outcome,) = report.outcomes
    job = deployed.clients.sagemaker.describe_training_job(TrainingJobName=outcome.record.training_job)
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train", "validation"]
    assert job["HyperParameters"]["enc_dim"] == "1024"  # the notebook's
    assert (outcome.record.profile, outcome.record.protocol) == ("workshop-rating", "workshop")
    assert outcome.held.held_out_channel == "validation"
    assert outcome.record.approval == registry.PENDING
    assert "was measured on another test set" in outcome.decision.reason
    assert report.deployed == ()
    assert any(
        line.startswith("evaluating ratingModel-") and line.endswith("on the validation channel")
        for line in lines
    )


def test_destroy_leaves_nothing_and_can_run_twice(tmp_path, ml100k_dir):
    cloud = cloud_config(tmp_path / "state")
    stack = Stack(bucket="short-lived")
    backend = LocalBackend(stack, cloud)
    lifecycle.apply(backend, source=str(ml100k_dir), log=_quiet)
    pid = localcloud.status(cloud).pid
    lambda_ = backend.connect().lambda_  # no S3 call: its closed connection would hold the port in TIME_WAIT
    lambda_.invoke(FunctionName=REC, Payload=json.dumps({"type": "top_k", "user_id": 1}))  # a warm worker
    workers = _children(pid)
    assert workers  # the function's worker process
    lines: list[str] = []
    lifecycle.destroy(backend, log=lines.append)
    assert f"deleted function {REC}" in lines
    assert "deleted bucket s3://short-lived" in lines
    assert not cloud.state_dir.exists()
    assert not localcloud.status(cloud).running
    for process in (pid, *workers):
        with pytest.raises(ProcessLookupError):
            os.kill(process, 0)
    for port in (cloud.s3_port, cloud.sagemaker_port, cloud.lambda_port):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # free again
    lines.clear()
    lifecycle.destroy(backend, log=lines.append)
    assert lines == ["the local cloud was not running; state removed"]


def _children(pid: int) -> list[int]:
    """Live child processes of `pid`, from /proc (Linux)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited while we looked
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children
