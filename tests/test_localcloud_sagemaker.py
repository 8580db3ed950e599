"""SageMaker through boto3: control plane errors, endpoints (echo and real Object2Vec), runtime errors,
and training jobs that run object2vec.train."""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from localcloud_support import (
    ECHO_IMAGE,
    O2V_IMAGE,
    ROLE,
    Cloud,
    deploy,
    echo_artifact,
    endpoint_config,
    error_of,
    new_cloud,
    pieces,
    raw_post,
    signed_headers,
    wait_until,
)

from localcloud import CloudConfig
from localcloud.errors import LocalCloudError

pytestmark = pytest.mark.slow
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
HYPERPARAMETERS = {
    "enc0_network": "pooled_embedding",
    "enc1_network": "pooled_embedding",
    "enc0_max_seq_len": "1",
    "enc1_max_seq_len": "1",
    "enc0_vocab_size": "10",
    "enc1_vocab_size": "10",
    "enc0_token_embedding_dim": "4",
    "enc1_token_embedding_dim": "4",
    "enc_dim": "8",
    "mlp_layers": "1",
    "mlp_dim": "8",
    "output_layer": "mean_squared_error",
    "epochs": "3",
    "mini_batch_size": "32",
}


@pytest.fixture(scope="module")
def sm(cloud: Cloud):
    return cloud.client("sagemaker")


@pytest.fixture(scope="module")
def runtime(cloud: Cloud):
    return cloud.client("sagemaker-runtime")


@pytest.fixture(scope="module")
def s3(cloud: Cloud):
    client = cloud.client("s3")
    client.create_bucket(Bucket="models")
    for tag in ("blue", "green", "unloadable"):
        client.put_object(Bucket="models", Key=f"echo/{tag}/model.tar.gz", Body=echo_artifact(tag))
    rng = random.Random(0)
    rows = [
        {"in0": [rng.randint(1, 9)], "in1": [rng.randint(1, 9)], "label": rng.randint(1, 5)}
        for _ in range(200)
    ]
    for channel, part in (("train", rows[:160]), ("validation", rows[160:])):
        body = "".join(json.dumps(row) + "\n" for row in part)
        client.put_object(Bucket="models", Key=f"input/{channel}/{channel}.jsonl", Body=body.encode())
    return client


def echo(tag: str) -> str:
    """The S3 URL of the echo model `tag`, as these tests upload it."""
    return f"s3://models/echo/{tag}/model.tar.gz"


def settled(sm, name: str) -> dict:
    return wait_until(
        lambda: (
            (d := sm.describe_endpoint(EndpointName=name))["EndpointStatus"] not in ("Creating", "Updating")
            and d
        )
    )


# -- control plane ------------------------------------------------------------------------------------


def test_control_plane_errors(sm, s3):
    code, message, status, _ = error_of(lambda: sm.describe_model(ModelName="nope"))
    assert (code, status, message) == (
        "ValidationException",
        400,
        f'Could not find model "{ARN}:model/nope".',
    )
    code, message, _, _ = error_of(lambda: sm.describe_endpoint(EndpointName="Nope"))
    assert message == f'Could not find endpoint "{ARN}:endpoint/nope".'  # ARNs are lower-cased
    code, message, _, _ = error_of(lambda: sm.delete_endpoint_config(EndpointConfigName="nope"))
    assert message == f'Could not find endpoint configuration "{ARN}:endpoint-config/nope".'
    deploy(sm, "dupes", echo("blue"))
    code, message, _, _ = error_of(lambda: deploy(sm, "dupes", echo("blue")))
    assert (code, message) == (
        "ValidationException",
        f'Cannot create already existing model "{ARN}:model/dupes".',
    )
    code, message, _, _ = error_of(
        lambda: sm.create_endpoint(EndpointName="dupes", EndpointConfigName="dupes")
    )
    assert message == f'Cannot create already existing endpoint "{ARN}:endpoint/dupes".'
    code, message, _, _ = error_of(lambda: sm.create_endpoint(EndpointName="x", EndpointConfigName="missing"))
    assert message == f'Could not find endpoint configuration "{ARN}:endpoint-config/missing".'
    code, message, _, _ = error_of(
        lambda: sm.create_model(
            ModelName="nodata",
            PrimaryContainer={"Image": ECHO_IMAGE, "ModelDataUrl": "s3://models/none.tar.gz"},
        )
    )
    assert (code, message) == ("ValidationException", "Could not find model data at s3://models/none.tar.gz.")
    code, message, _, _ = error_of(lambda: sm.describe_training_job(TrainingJobName="nope"))
    assert (code, message) == ("ValidationException", "Requested resource not found.")
    code, _, _, _ = error_of(lambda: sm.stop_training_job(TrainingJobName="nope"))
    assert code == "ResourceNotFound"


def test_lists(sm, s3):
    deploy(sm, "listed-a", echo("blue"))
    deploy(sm, "listed-b", echo("blue"))
    settled(sm, "listed-a")
    names = [
        e["EndpointName"]
        for e in sm.list_endpoints(NameContains="listed", SortBy="Name", SortOrder="Ascending")["Endpoints"]
    ]
    assert names == ["listed-a", "listed-b"]
    page = sm.list_models(NameContains="listed", MaxResults=1)
    assert len(page["Models"]) == 1
    assert "NextToken" in page
    assert len(sm.list_models(NameContains="listed", NextToken=page["NextToken"])["Models"]) == 1
    configs = sm.list_endpoint_configs(NameContains="listed")["EndpointConfigs"]
    assert sorted(c["EndpointConfigName"] for c in configs) == ["listed-a", "listed-b"]


# -- endpoints and the runtime --------------------------------------------------------------------------


def test_endpoint_lifecycle_and_invoke(sm, runtime, s3):
    deploy(sm, "echo", echo("blue"))
    assert sm.describe_endpoint(EndpointName="echo")["EndpointStatus"] in ("Creating", "InService")
    described = settled(sm, "echo")
    assert described["EndpointStatus"] == "InService"
    variant = described["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["DeployedImages"][0]["SpecifiedImage"] == ECHO_IMAGE
    answer = runtime.invoke_endpoint(
        EndpointName="echo", Body=b'{"x": 1}', ContentType="application/json", Accept="application/jsonlines"
    )
    assert answer["ContentType"] == "application/jsonlines"
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert json.loads(answer["Body"].read()) == {
        "tag": "blue",
        "body": '{"x": 1}',
        "content_type": "application/json",
    }
    sm.delete_endpoint(EndpointName="echo")
    code, message, status, _ = error_of(lambda: runtime.invoke_endpoint(EndpointName="echo", Body=b"{}"))
    assert (code, status, message) == (
        "ValidationError",
        400,
        "Endpoint echo of account 123456789012 not found.",
    )


def test_runtime_errors(sm, runtime, s3):
    deploy(sm, "errors", echo("blue"))
    settled(sm, "errors")
    code, message, status, response = error_of(
        lambda: runtime.invoke_endpoint(EndpointName="errors", Body=b"bad", ContentType="text/plain")
    )
    assert (code, status) == ("ModelError", 424)
    assert message.startswith(
        """Received client error (400) from primary with message "the echo model refuses 'bad'"."""
    )
    assert message.endswith(
        "#logEventViewer:group=/aws/sagemaker/Endpoints/errors in account 123456789012 for more information."
    )
    assert response["OriginalStatusCode"] == 400
    assert response["OriginalMessage"] == "the echo model refuses 'bad'"
    assert (
        response["LogStreamArn"]
        == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/errors"
    )
    _, message, status, response = error_of(
        lambda: runtime.invoke_endpoint(EndpointName="errors", Body=b"boom")
    )
    assert status == 424
    assert response["OriginalStatusCode"] == 500
    assert message.startswith("Received server error (500) from primary")
    code, message, status, _ = error_of(
        lambda: runtime.invoke_endpoint(EndpointName="errors", Body=b"x" * (6 * 1024 * 1024 + 1))
    )
    assert (code, status, message) == ("413", 413, "HTTP content length exceeded 6291456 bytes.")
    ok = runtime.invoke_endpoint(EndpointName="errors", Body=b"x" * (6 * 1024 * 1024 - 100))
    assert ok["ResponseMetadata"]["HTTPStatusCode"] == 200
    # The echo model wraps the body in JSON: a request just under 6 MB makes an answer just over it.
    _, message, status, response = error_of(
        lambda: runtime.invoke_endpoint(EndpointName="errors", Body=b"x" * (6 * 1024 * 1024 - 10))
    )
    assert (status, response["OriginalStatusCode"]) == (424, 500)
    assert "exceeds the 6291456-byte InvokeEndpoint limit" in response["OriginalMessage"]


def test_update_endpoint_swaps_without_downtime(sm, runtime, s3):
    deploy(sm, "swap", echo("blue"))
    settled(sm, "swap")
    endpoint_config(sm, "swap-green", echo("green"), variant="Green")
    seen, failures = [], []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                seen.append(
                    json.loads(runtime.invoke_endpoint(EndpointName="swap", Body=b"{}")["Body"].read())["tag"]
                )
            except ClientError as exc:
                failures.append(exc)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        wait_until(lambda: len(seen) > 5)
        sm.update_endpoint(EndpointName="swap", EndpointConfigName="swap-green")
        described = settled(sm, "swap")
        count = len(seen)
        wait_until(lambda: len(seen) > count + 5)
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert described["EndpointConfigName"] == "swap-green"
    assert described["ProductionVariants"][0]["VariantName"] == "Green"
    assert seen[0] == "blue"
    assert seen[-1] == "green"
    assert seen == sorted(seen)  # every blue answer came before every green one: one atomic swap


def test_endpoint_that_cannot_load_fails(sm, runtime, s3):
    deploy(sm, "broken", echo("unloadable"))
    described = settled(sm, "broken")
    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"] == (
        "The primary container for production variant AllTraffic did not pass the ping health check: "
        "ValueError: this echo model cannot be loaded"
    )
    code, message, _, _ = error_of(
        lambda: sm.update_endpoint(EndpointName="broken", EndpointConfigName="broken")
    )
    assert (code, message) == (
        "ValidationException",
        f'Cannot update failed endpoint "{ARN}:endpoint/broken".',
    )
    deploy(sm, "rollback", echo("blue"))
    settled(sm, "rollback")
    sm.update_endpoint(EndpointName="rollback", EndpointConfigName="broken")
    described = settled(sm, "rollback")
    assert described["EndpointStatus"] == "InService"  # the failed update rolled back
    assert described["EndpointConfigName"] == "rollback"
    assert "did not pass the ping health check" in described["FailureReason"]
    assert (
        json.loads(runtime.invoke_endpoint(EndpointName="rollback", Body=b"{}")["Body"].read())["tag"]
        == "blue"
    )


def test_unknown_target_is_refused(cloud: Cloud):
    port = cloud.config.sagemaker_port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {"X-Amz-Target": "SageMaker.CreateCluster", "Content-Type": "application/x-amz-json-1.1"}
    connection.request(
        "POST", "/", body=b"{}", headers=signed_headers(cloud.config, port, "POST", "/", b"{}", headers)
    )
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 400
    assert response.getheader("x-amzn-ErrorType") == "UnknownOperationException"
    assert body["__type"] == "UnknownOperationException"


def test_chunked_bodies_have_the_same_limit(sm, s3, cloud: Cloud):
    deploy(sm, "chunked", echo("blue"))
    settled(sm, "chunked")
    port, path = cloud.config.sagemaker_port, "/endpoints/chunked/invocations"
    status, _, body = raw_post(
        cloud.config, port, path, pieces(b'{"x": 1}', 3), {"Content-Type": "application/json"}
    )
    assert (status, json.loads(body)["body"]) == (200, '{"x": 1}')
    assert raw_post(cloud.config, port, path, pieces(b"x" * (6 * 1024 * 1024 - 100)))[0] == 200
    oversize = b"x" * (6 * 1024 * 1024 + 1)
    chunked, counted = (
        raw_post(cloud.config, port, path, pieces(oversize)),
        raw_post(cloud.config, port, path, oversize),
    )
    assert chunked[0] == counted[0] == 413
    expected = {"message": "HTTP content length exceeded 6291456 bytes."}
    assert json.loads(chunked[2]) == json.loads(counted[2]) == expected
    assert "x-amzn-errortype" not in chunked[1]
    assert chunked[1]["connection"] == "close"  # the unread rest of the body ends the connection
    assert raw_post(cloud.config, port, path, pieces(b"{}"))[0] == 200


def test_chunked_framing(cloud: Cloud):
    """A chunked body to an unknown path is read to its end, so the connection stays usable; broken
    framing is a one-line 400 and closes the connection."""
    port = cloud.config.sagemaker_port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = signed_headers(cloud.config, port, "POST", "/nowhere", b"abc" * 1000)
    connection.request("POST", "/nowhere", body=pieces(b"abc" * 1000, 700), headers=headers)
    response = connection.getresponse()
    response.read()
    assert (response.status, response.getheader("x-amzn-ErrorType")) == (404, "UnknownOperationException")
    connection.request("GET", "/_localcloud/health")
    assert connection.getresponse().status == 200
    connection.close()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        auth = signed_headers(cloud.config, port, "POST", "/endpoints/x/invocations")
        head = "".join(f"{k}: {v}\r\n" for k, v in auth.items())
        sock.sendall(
            f"POST /endpoints/x/invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}".encode()
            + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"
        )
        answer = sock.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"x-amzn-ErrorType: SerializationException" in head
    assert json.loads(body) == {"message": "Malformed chunked request body: bad chunk size line 'zz'"}


# -- the invocation time limit ----------------------------------------------------------------------------


def test_endpoint_timeout_is_configurable():
    variable = "LOCALCLOUD_ENDPOINT_TIMEOUT_SECONDS"
    assert CloudConfig.from_env({}).endpoint_timeout_seconds == 60.0
    assert CloudConfig.from_env({variable: "2.5"}).endpoint_timeout_seconds == 2.5
    assert CloudConfig.from_env({variable: "2.5"}).to_env()[variable] == "2.5"  # reaches `serve` as is
    with pytest.raises(LocalCloudError, match=r"endpoint_timeout_seconds must be > 0, got 0\.0"):
        CloudConfig.from_env({variable: "0"})


def answers(runtime, endpoint: str) -> bool:
    try:
        response = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"{}")
    except ClientError:
        return False
    return response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_hung_model_times_out_and_the_cloud_keeps_serving(tmp_path: Path):
    slow = new_cloud(tmp_path / "state", endpoint_timeout_seconds=1.0)
    slow.start()
    try:
        sm, runtime, s3 = (slow.client(s) for s in ("sagemaker", "sagemaker-runtime", "s3"))
        s3.create_bucket(Bucket="models")
        s3.put_object(Bucket="models", Key="echo/blue/model.tar.gz", Body=echo_artifact("blue"))
        for name in ("hung", "healthy"):
            deploy(sm, name, echo("blue"))
            assert settled(sm, name)["EndpointStatus"] == "InService"
        release = tmp_path / "release"  # the hung model answers once this file exists
        code, message, status, response = error_of(
            lambda: runtime.invoke_endpoint(EndpointName="hung", Body=f"wait:{release}".encode())
        )
        assert (code, status, response["OriginalStatusCode"]) == ("ModelError", 424, 0)
        assert message.startswith(
            'Received server error (0) from primary with message "Your invocation timed out while waiting '
            "for a response from container primary. Review the latency metrics for each container in "
            'Amazon CloudWatch, resolve the issue, and try again.". See https://us-east-1.console.aws'
        )
        # The hung call still runs (it cannot be stopped in-process), yet other endpoints answer...
        assert answers(runtime, "healthy")
        # ...while its own variant is busy: the next call waits its turn and times out as well.
        code, _, status, _ = error_of(lambda: runtime.invoke_endpoint(EndpointName="hung", Body=b"{}"))
        assert (code, status) == ("ModelError", 424)
        release.touch()
        wait_until(lambda: answers(runtime, "hung"))  # once the model returns, the endpoint serves again
    finally:
        slow.stop()


# -- training jobs (object2vec.train in a subprocess) -----------------------------------------------------


def channel(name: str) -> dict:
    source = {
        "S3DataType": "S3Prefix",
        "S3Uri": f"s3://models/input/{name}",
        "S3DataDistributionType": "FullyReplicated",
    }
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": source},
        "ContentType": "application/jsonlines",
    }


def train(sm, name: str, hyperparameters: dict[str, str]) -> None:
    sm.create_training_job(
        TrainingJobName=name,
        HyperParameters=hyperparameters,
        AlgorithmSpecification={"TrainingImage": O2V_IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        InputDataConfig=[channel("train"), channel("validation")],
        OutputDataConfig={"S3OutputPath": "s3://models/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )


def finished(sm, name: str) -> dict:
    return wait_until(
        lambda: (
            (d := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"]
            in ("Completed", "Failed", "Stopped")
            and d
        ),
        timeout=90,
    )


def test_training_job_trains_and_the_model_serves(sm, runtime, s3, cloud: Cloud):
    train(sm, "o2v-ok", HYPERPARAMETERS)
    train(sm, "o2v-queued", HYPERPARAMETERS)  # waits for the first: one job at a time
    sm.stop_training_job(TrainingJobName="o2v-queued")
    job = finished(sm, "o2v-ok")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["SecondaryStatus"] == "Completed"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert job["SecondaryStatusTransitions"][2]["StatusMessage"] == "Training epoch 3/3"
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == "s3://models/output/o2v-ok/output/model.tar.gz"
    assert s3.head_object(Bucket="models", Key="output/o2v-ok/output/model.tar.gz")["ContentLength"] > 0
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(metrics) == {"train:mean_squared_error", "validation:mean_squared_error"}
    assert job["TrainingTimeInSeconds"] >= 1
    assert job["TrainingEndTime"] >= job["TrainingStartTime"]
    assert (cloud.config.logs_dir / "training" / "o2v-ok.log").read_text().count("#quality_metric") >= 6
    queued = finished(sm, "o2v-queued")
    assert (queued["TrainingJobStatus"], queued["SecondaryStatus"]) == ("Stopped", "Stopped")
    names = {s["TrainingJobName"] for s in sm.list_training_jobs(NameContains="o2v")["TrainingJobSummaries"]}
    assert {"o2v-ok", "o2v-queued"} <= names

    deploy(sm, "o2v", artifact, image=O2V_IMAGE)
    assert settled(sm, "o2v")["EndpointStatus"] == "InService"
    body = json.dumps({"instances": [{"in0": [1], "in1": [2]}, {"in0": [3], "in1": [4]}]})
    answer = runtime.invoke_endpoint(EndpointName="o2v", Body=body, ContentType="application/json")
    predictions = json.loads(answer["Body"].read())["predictions"]
    assert [len(p["scores"]) for p in predictions] == [1, 1]
    assert answer["ContentType"] == "application/json"
    _, _message, status, response = error_of(
        lambda: runtime.invoke_endpoint(
            EndpointName="o2v",
            Body=json.dumps({"instances": [{"in0": [99], "in1": [2]}]}),
            ContentType="application/json",
        )
    )
    assert status == 424
    assert response["OriginalStatusCode"] == 400
    assert "outside the vocabulary" in response["OriginalMessage"]


def test_training_job_with_a_bad_hyperparameter_fails(sm, s3):
    train(sm, "o2v-bad", {**HYPERPARAMETERS, "epochs": "0"})
    job = finished(sm, "o2v-bad")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Failed", "Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    assert "epochs" in job["FailureReason"]
    assert "\n" not in job["FailureReason"]
    assert "ModelArtifacts" not in job
    code, message, _, _ = error_of(lambda: train(sm, "o2v-bad", HYPERPARAMETERS))
    assert code == "ResourceInUse"
    assert message.endswith(f"a training job with this name already exists ({ARN}:training-job/o2v-bad)")
    code, message, _, _ = error_of(lambda: sm.stop_training_job(TrainingJobName="o2v-bad"))
    assert (code, message) == (
        "ValidationException",
        "The request was rejected because the training job is in status Failed.",
    )
