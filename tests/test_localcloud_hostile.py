"""The local cloud under hostile requests (issue 9): who may talk to it, and each finding of the review,
reproduced with boto3 or raw HTTP against a real local cloud process.

The cloud here has 4 HTTP workers per service and a 2-second read timeout, so the limits are reached
quickly; everything else is the defaults.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from localcloud_support import (
    ROLE,
    Cloud,
    error_of,
    make_zip,
    new_cloud,
    raw_request,
    signed_headers,
    wait_until,
)

from localcloud import LocalCloudError, env_vars
from localcloud.credentials import load_credentials

pytestmark = pytest.mark.slow
O2V_IMAGE = "174872318107.dkr.ecr.us-west-2.amazonaws.com/object2vec:1"
READ_TIMEOUT = 2.0
WORKERS = 4


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory):
    cloud = new_cloud(
        tmp_path_factory.mktemp("hostile") / "state",
        http_workers=WORKERS,
        read_timeout_seconds=READ_TIMEOUT,
        lambda_max_concurrency=1,
    )
    cloud.start()
    cloud.client("s3").create_bucket(Bucket="hostile")
    yield cloud
    cloud.stop()


def client_with(cloud: Cloud, service: str, key: str, secret: str, signature: str | None = None) -> Any:
    port = cloud.config.port("sagemaker" if service == "sagemaker-runtime" else service)
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=cloud.config.region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, signature_version=signature),
    )


def control_plane(cloud: Cloud, operation: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """A signed SageMaker control-plane request with a body boto3 would never send."""
    headers = {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"}
    status, _, answer = raw_request(cloud.config, cloud.config.sagemaker_port, "POST", "/", body, headers)
    return status, json.loads(answer)


def lambda_call(cloud: Cloud, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    status, _, answer = raw_request(cloud.config, cloud.config.lambda_port, method, path, body)
    return status, json.loads(answer) if answer else {}


def state_files(cloud: Cloud) -> set[Path]:
    return {p for p in cloud.config.state_dir.parent.rglob("*") if p.is_file()}


# -- credentials ----------------------------------------


def test_each_stack_gets_its_own_private_keys(hostile: Cloud, tmp_path: Path):
    keys = load_credentials(hostile.config)
    assert keys is not None
    assert keys.access_key_id.startswith("LCAK")
    assert len(keys.secret_access_key) == 40
    assert stat.S_IMODE(os.stat(hostile.config.credentials_file).st_mode) == 0o600
    variables = env_vars(hostile.config)
    assert (variables["AWS_ACCESS_KEY_ID"], variables["AWS_SECRET_ACCESS_KEY"]) == (
        keys.access_key_id,
        keys.secret_access_key,
    )
    other = env_vars(new_cloud(tmp_path / "other").config)
    assert other["AWS_ACCESS_KEY_ID"] != keys.access_key_id


@pytest.mark.parametrize(
    ("service", "port_of", "method", "path", "headers", "code"),
    [
        ("s3", "s3", "GET", "/", {}, "AccessDenied"),
        ("s3", "s3", "PUT", "/unsigned-bucket", {}, "AccessDenied"),
        ("sagemaker", "sagemaker", "POST", "/", {"X-Amz-Target": "SageMaker.ListModels"}, None),
        ("lambda", "lambda", "POST", "/2015-03-31/functions", {}, None),
        ("runtime", "sagemaker", "POST", "/endpoints/x/invocations", {}, None),
    ],
)
def test_unsigned_requests_get_the_services_own_403(hostile, service, port_of, method, path, headers, code):
    status, answer_headers, body = raw_request(
        hostile.config, hostile.config.port(port_of), method, path, b"{}", headers, sign=False
    )
    assert status == 403
    if code:  # S3: XML, no x-amzn-ErrorType
        assert answer_headers["content-type"] == "application/xml"
        assert f"<Code>{code}</Code>" in body.decode()
    else:
        assert answer_headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
        assert json.loads(body)["message"] == "Missing Authentication Token"


def test_unknown_keys_and_bad_secrets_are_refused_as_aws_does(hostile: Cloud):
    keys = env_vars(hostile.config)
    stranger = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    wrong_secret = (keys["AWS_ACCESS_KEY_ID"], "x" * 40)
    expected = {
        "s3": ("InvalidAccessKeyId", "SignatureDoesNotMatch"),
        "sagemaker": ("UnrecognizedClientException", "InvalidSignatureException"),
        "lambda": ("UnrecognizedClientException", "InvalidSignatureException"),
        "sagemaker-runtime": ("UnrecognizedClientException", "InvalidSignatureException"),
    }
    calls = {
        "s3": lambda c: c.list_buckets(),
        "sagemaker": lambda c: c.list_models(),
        "lambda": lambda c: c.list_functions(),
        "sagemaker-runtime": lambda c: c.invoke_endpoint(EndpointName="x", Body=b"{}"),
    }
    for service, (unknown, mismatch) in expected.items():
        for (key, secret), code in ((stranger, unknown), (wrong_secret, mismatch)):
            got, _, status, _ = error_of(lambda: calls[service](client_with(hostile, service, key, secret)))  # noqa: B023
            assert (service, got, status) == (service, code, 403)


def test_a_body_changed_after_signing_is_refused(hostile: Cloud):
    port, path = hostile.config.lambda_port, "/2015-03-31/functions"
    headers = signed_headers(hostile.config, port, "POST", path, b'{"FunctionName": "a"}')
    status, answer_headers, _ = raw_request(
        hostile.config, port, "POST", path, b'{"FunctionName": "b"}', headers, sign=False
    )
    assert (status, answer_headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    s3_port = hostile.config.s3_port
    headers = signed_headers(hostile.config, s3_port, "PUT", "/hostile/k", b"signed")
    status, _, body = raw_request(
        hostile.config, s3_port, "PUT", "/hostile/k", b"tampered", headers, sign=False
    )
    assert status == 400
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in body


def test_a_web_page_cannot_create_or_run_a_function(hostile: Cloud):
    """The drive-by hole (MockServer CVE-2021-32827): a page POSTing CreateFunction to 127.0.0.1. Even
    a correctly signed request is refused once it carries an Origin or a foreign Host."""
    body = json.dumps(
        {
            "FunctionName": "driveby",
            "Runtime": "python3.12",
            "Role": ROLE,
            "Handler": "x.handler",
            "Code": {"ZipFile": base64.b64encode(make_zip({"x.py": "x=1"})).decode()},
        }
    ).encode()
    port, path = hostile.config.lambda_port, "/2015-03-31/functions"
    for extra in ({"Origin": "https://evil.example"}, {"Host": "evil.example:80"}):
        headers = signed_headers(
            hostile.config, port, "POST", path, body, {"Content-Type": "application/json"}
        )
        status, answer_headers, answer = raw_request(
            hostile.config, port, "POST", path, body, {**headers, **extra}, sign=False
        )
        assert (status, answer_headers["x-amzn-errortype"]) == (403, "AccessDeniedException")
    status, _, answer = raw_request(
        hostile.config, hostile.config.s3_port, "GET", "/", headers={"Origin": "null"}
    )
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in answer
    assert error_of(lambda: hostile.client("lambda").get_function(FunctionName="driveby"))[0] == (
        "ResourceNotFoundException"
    )


def test_presigned_s3_urls_work_until_they_expire(hostile: Cloud):
    """SigV4 query-string signatures are checked like headers; SigV2 ones (boto3's default for presigned
    S3 URLs, retired by AWS) are refused."""
    s3 = hostile.client("s3")
    s3.put_object(Bucket="hostile", Key="shared.txt", Body=b"shared")
    params = {"Bucket": "hostile", "Key": "shared.txt"}
    sigv2 = s3.generate_presigned_url("get_object", Params=params)
    assert (
        raw_request(
            hostile.config,
            hostile.config.s3_port,
            "GET",
            sigv2.split(str(hostile.config.s3_port), 1)[1],
            sign=False,
        )[0]
        == 403
    )
    keys = env_vars(hostile.config)
    s3 = client_with(hostile, "s3", keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"], "s3v4")
    url = s3.generate_presigned_url("get_object", Params=params)
    path = url.split(str(hostile.config.s3_port), 1)[1]
    assert raw_request(hostile.config, hostile.config.s3_port, "GET", path, sign=False)[2] == b"shared"
    tampered = path.replace("shared.txt", "other.txt")
    assert raw_request(hostile.config, hostile.config.s3_port, "GET", tampered, sign=False)[0] == 403


# -- findings 1-3: names and keys that would become paths outside the state folder ------------------


def test_a_channel_key_with_dot_dot_fails_the_job_and_writes_nothing_outside(hostile: Cloud):
    """Finding 1: `in/train/../../../../escaped.txt` was written outside the job's folder."""
    s3, sm = hostile.client("s3"), hostile.client("sagemaker")
    s3.put_object(Bucket="hostile", Key="in/train/../../../../escaped.txt", Body=b"escaped")
    before = state_files(hostile)
    sm.create_training_job(
        TrainingJobName="escape",
        RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": O2V_IMAGE, "TrainingInputMode": "File"},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://hostile/in/train"}},
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://hostile/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    job = wait_until(
        lambda: (
            (d := sm.describe_training_job(TrainingJobName="escape"))["TrainingJobStatus"] == "Failed" and d
        )
    )
    assert job["FailureReason"].startswith("ClientError: an S3 object under s3://hostile/in/train cannot be")
    escaped = [p for p in state_files(hostile) - before if p.name == "escaped.txt"]
    assert escaped == []
    assert not any(p.name == "escaped.txt" for p in hostile.config.state_dir.parent.parent.rglob("*"))


def test_moto_reset_is_not_reachable(hostile: Cloud):
    """Finding 2: `POST /moto-api/reset` wiped every persisted bucket."""
    hostile.client("s3").put_object(Bucket="hostile", Key="keep.txt", Body=b"kept")
    status, _, body = raw_request(hostile.config, hostile.config.s3_port, "POST", "/moto-api/reset")
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body
    assert hostile.client("s3").get_object(Bucket="hostile", Key="keep.txt")["Body"].read() == b"kept"


def test_layer_names_are_checked_on_every_route(hostile: Cloud):
    """Finding 3: `..%2F..%2Foutside` reached get/delete/resolve, which read and rewrote outside files."""
    outside = hostile.config.state_dir.parent / "outside" / "1"
    outside.mkdir(parents=True)
    (outside / "layer.json").write_text(json.dumps({"Version": 1, "Content": {"CodeSize": 1}}))
    before = (outside / "layer.json").read_bytes()
    for method in ("GET", "DELETE"):
        status, body = lambda_call(hostile, method, "/2018-10-31/layers/..%2F..%2F..%2Foutside/versions/1")
        assert (status, body.get("message", "")[:50]) == (
            400,
            "1 validation error detected: Value '../../../outsi",
        )
    status, body = lambda_call(hostile, "GET", "/2018-10-31/layers/..%2F..%2F..%2Foutside/versions")
    assert status == 400
    assert (outside / "layer.json").read_bytes() == before
    arn = "arn:aws:lambda:us-east-1:123456789012:layer:../../../outside:1"
    code = error_of(
        lambda: hostile.client("lambda").create_function(
            FunctionName="layered",
            Runtime="python3.12",
            Role=ROLE,
            Handler="x.handler",
            Code={"ZipFile": make_zip({"x.py": "x=1"})},
            Layers=[arn],
        )
    )
    assert (code[0], code[2]) == ("ValidationException", 400)  # the ARN's pattern, before any path


# -- findings 4, 5, 12: one HTTP framing layer ----------------------------------------


def test_a_slow_upload_does_not_stall_other_writes(hostile: Cloud):
    """Finding 4: the mutation lock was held while a body was read, so one slow PUT stalled all writes."""
    port = hostile.config.s3_port
    body = b"x" * 1000
    headers = signed_headers(hostile.config, port, "PUT", "/hostile/slow.bin", body)
    with socket.create_connection(("127.0.0.1", port)) as slow:
        head = f"Host: 127.0.0.1:{port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        slow.sendall(f"PUT /hostile/slow.bin HTTP/1.1\r\nContent-Length: 1000\r\n{head}\r\n".encode())
        slow.sendall(body[:10])  # ... and the rest comes much later
        started = time.monotonic()
        hostile.client("s3").put_object(Bucket="hostile", Key="fast.txt", Body=b"fast")
        assert time.monotonic() - started < 1.0
        slow.sendall(body[10:])
        assert slow.recv(100).startswith(b"HTTP/1.1 200")
    assert hostile.client("s3").get_object(Bucket="hostile", Key="slow.bin")["Body"].read() == body


def send_raw(port: int, head: bytes, *, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize("length", ["-1", "abc", "1_0", "+10", "10, 11", " 0x10"])
def test_a_bad_content_length_is_a_400_at_once(hostile: Cloud, length: str):
    """Finding 5: -1 blocked a thread, abc dropped the connection with a traceback, 1_0 was read as 10."""
    port = hostile.config.lambda_port
    headers = signed_headers(hostile.config, port, "POST", "/2015-03-31/functions")
    head = f"Host: 127.0.0.1:{port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    started = time.monotonic()
    answer = send_raw(
        port,
        f"POST /2015-03-31/functions HTTP/1.1\r\n{head}Content-Length: {length}\r\n\r\n0123456789".encode(),
    )
    assert time.monotonic() - started < READ_TIMEOUT  # answered, not timed out
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 400")
    assert b"x-amzn-ErrorType: SerializationException" in rest
    assert b"Connection: close" in rest


def test_a_body_that_never_comes_frees_its_worker(hostile: Cloud):
    """Finding 5: a declared body that never came held a thread forever."""
    port = hostile.config.sagemaker_port
    headers = signed_headers(
        hostile.config, port, "POST", "/", b"{}", {"X-Amz-Target": "SageMaker.ListModels"}
    )
    head = f"Host: 127.0.0.1:{port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    started = time.monotonic()
    answer = send_raw(
        port, f"POST / HTTP/1.1\r\n{head}Content-Length: 2\r\n\r\n{{".encode(), timeout=READ_TIMEOUT * 5
    )
    assert answer == b""  # the server hung up
    assert READ_TIMEOUT - 0.5 < time.monotonic() - started < READ_TIMEOUT * 3


def test_connections_beyond_the_pool_get_503_and_threads_stay_bounded(hostile: Cloud):
    """Finding 5: threads were unbounded (one per connection)."""
    pid = hostile.start()  # idempotent: the running cloud's pid
    port = hostile.config.lambda_port
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(WORKERS * 6)]
    try:
        time.sleep(0.3)
        threads = int(Path(f"/proc/{pid}/status").read_text().split("Threads:")[1].split()[0])
        answers = []
        for sock in idle[-3:]:
            sock.settimeout(2)
            answers.append(sock.recv(200))
        assert all(a.startswith(b"HTTP/1.1 503") for a in answers)
        assert threads < 3 * WORKERS * 3 + 40  # the pools, not one thread per connection
    finally:
        for sock in idle:
            sock.close()
    wait_until(lambda: hostile.client("lambda").list_functions() is not None, timeout=READ_TIMEOUT * 3)


def test_control_plane_bodies_are_capped_before_they_are_read(hostile: Cloud):
    """Finding 12: control-plane routes read up to 128 MiB."""
    status, body = control_plane(hostile, "ListModels", b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert (status, body["__type"]) == (413, "RequestEntityTooLarge")


# -- findings 6 and 10: one validation step per control-plane action --------------------------------


# A complete CreateTrainingJob body, so that only the member under test is wrong.
TRAINING_JOB = {
    "TrainingJobName": "typed",
    "RoleArn": ROLE,
    "AlgorithmSpecification": {"TrainingImage": O2V_IMAGE, "TrainingInputMode": "File"},
    "OutputDataConfig": {"S3OutputPath": "s3://hostile/out"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
}


@pytest.mark.parametrize(
    ("operation", "body", "where"),
    [
        ("DescribeEndpoint", {"EndpointName": ["a", "b"]}, "endpointName"),
        ("CreateEndpoint", {"EndpointName": "ok\n", "EndpointConfigName": "c"}, "endpointName"),
        ("ListModels", {"NextToken": "abc"}, None),
        ("ListModels", {"MaxResults": "10"}, "maxResults"),
        ("ListModels", {"CreationTimeAfter": "tomorrow"}, None),
        ("CreateTrainingJob", {**TRAINING_JOB, "InputDataConfig": [1]}, "inputDataConfig.1.member"),
        (
            "CreateTrainingJob",
            {**TRAINING_JOB, "StoppingCondition": {"MaxRuntimeInSeconds": "soon"}},
            "stoppingCondition.maxRuntimeInSeconds",
        ),
        (
            "CreateEndpointConfig",
            {
                "EndpointConfigName": "w",
                "ProductionVariants": [{"VariantName": "v", "ModelName": "m", "InitialVariantWeight": -1}],
            },
            "productionVariants.1.member.initialVariantWeight",
        ),
    ],
)
def test_wrong_types_are_a_validation_exception(hostile: Cloud, operation, body, where):
    """Findings 6 and 10: these were 500 InternalFailure (and a bad StoppingCondition was accepted, then
    orphaned its training process)."""
    status, answer = control_plane(hostile, operation, json.dumps(body).encode())
    assert (status, answer["__type"]) == (400, "ValidationException"), answer
    if where:
        assert f"at '{where}'" in answer["message"]
    assert len(answer["message"]) < 600


@pytest.mark.parametrize(
    "body",
    [b'{"EndpointConfigName": "w", "ProductionVariants": [{"InitialVariantWeight": NaN}]}', b"[" * 5000],
)
def test_nan_and_deep_json_are_a_serialization_exception(hostile: Cloud, body: bytes):
    status, answer = control_plane(hostile, "CreateEndpointConfig", body)
    assert (status, answer["__type"]) == (400, "SerializationException")


def test_lambda_bodies_are_validated_too(hostile: Cloud):
    function = {
        "FunctionName": "f",
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "x.handler",
        "Code": {"ZipFile": base64.b64encode(make_zip({"x.py": "x = 1"})).decode()},
        "Environment": "x",
    }
    status, body = lambda_call(hostile, "POST", "/2015-03-31/functions", json.dumps(function).encode())
    assert (status, body["message"]) == (
        400,
        "1 validation error detected: Value 'x' at 'environment' failed to satisfy constraint: "
        "Member must be an object",
    )
    status, body = lambda_call(hostile, "GET", "/2015-03-31/functions/?Marker=abc")
    assert status == 400


# -- finding 7: one local cloud per state folder ----------------------------------------


def test_a_second_cloud_on_the_same_state_folder_refuses_to_start(hostile: Cloud):
    twin = new_cloud(hostile.config.state_dir)  # other (free) ports, the same folder
    with pytest.raises(LocalCloudError, match="is in use by another local cloud"):
        twin.start()
    with pytest.raises(LocalCloudError, match="is in use by another local cloud"):
        twin.stop(purge=True)
    assert hostile.config.state_dir.is_dir()
    assert hostile.client("s3").head_bucket(Bucket="hostile")["ResponseMetadata"]["HTTPStatusCode"] == 200


# -- finding 11: a failed mirror write leaves nothing in memory only --------------------------------


def test_a_failed_disk_write_is_a_500_and_the_object_does_not_exist(hostile: Cloud):
    s3 = hostile.client("s3")
    s3.create_bucket(Bucket="fragile")
    s3.put_object(Bucket="fragile", Key="before.txt", Body=b"before")
    blobs = hostile.config.state_dir / "s3" / "fragile" / "blobs"
    saved = blobs.with_name("blobs.saved")
    os.replace(blobs, saved)
    blobs.write_text("a file where the blobs folder should be")  # every blob write now fails
    try:
        code, _, status, _ = error_of(lambda: s3.put_object(Bucket="fragile", Key="lost.txt", Body=b"x"))
        assert (code, status) == ("InternalError", 500)
        assert error_of(lambda: s3.get_object(Bucket="fragile", Key="lost.txt"))[0] == "NoSuchKey"
        assert s3.get_object(Bucket="fragile", Key="before.txt")["Body"].read() == b"before"
    finally:
        blobs.unlink()
        os.replace(saved, blobs)


def test_events_and_threads_are_independent_of_a_slow_reader(hostile: Cloud):
    """The cloud keeps answering while a client dribbles a request (bounded by the read timeout)."""
    port = hostile.config.sagemaker_port
    stop = threading.Event()

    def dribble() -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\n")
            stop.wait(READ_TIMEOUT * 2)

    thread = threading.Thread(target=dribble)
    thread.start()
    try:
        assert hostile.client("sagemaker").list_models()["Models"] == []
    finally:
        stop.set()
        thread.join()


def test_get_functions_code_location_is_presigned(hostile: Cloud):
    lam = hostile.client("lambda")
    code = make_zip({"x.py": "def h(e, c):\n    return 1\n"})
    lam.create_function(
        FunctionName="located", Runtime="python3.12", Role=ROLE, Handler="x.h", Code={"ZipFile": code}
    )
    location = lam.get_function(FunctionName="located")["Code"]["Location"]
    path = location.split(str(hostile.config.lambda_port), 1)[1]
    assert "X-Amz-Signature=" in path
    assert raw_request(hostile.config, hostile.config.lambda_port, "GET", path, sign=False)[2] == code
    unsigned = path.split("?", 1)[0]
    assert raw_request(hostile.config, hostile.config.lambda_port, "GET", unsigned, sign=False)[0] == 403
