"""Lambda through boto3: control plane, Invoke's status codes, headers, error payloads and workers."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError
from localcloud_support import ROLE, Cloud, error_of, make_zip, pieces, raw_post, wait_until

from localcloud import env_vars

pytestmark = pytest.mark.slow

HANDLERS = {
    "echo.py": "def handler(event, context):\n    print('got', event)\n    return {'event': event}\n",
    "counter.py": (
        "import os\nCALLS = 0\n"
        "def handler(event, context):\n"
        "    global CALLS\n    CALLS += 1\n    return {'calls': CALLS, 'pid': os.getpid()}\n"
    ),
    "sleepy.py": (
        "import os, time\n"
        "def handler(event, context):\n"
        "    start = time.time()\n    time.sleep(event.get('seconds', 0.5))\n"
        "    return {'pid': os.getpid(), 'start': start, 'end': time.time()}\n"
    ),
    "boom.py": (
        "def helper():\n    raise ValueError('boom at ' + 'the helper')\n"
        "def handler(event, context):\n    helper()\n"
    ),
    "crash.py": (
        "import os, signal\n"
        "def handler(event, context):\n"
        "    if event.get('signal'):\n        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    os._exit(event.get('code', 3))\n"
    ),
    "broken_import.py": "import module_that_is_not_in_the_zip\ndef handler(event, context):\n    return 1\n",
    "envreader.py": (
        "import os\n"
        "def handler(event, context):\n"
        "    names = ['GREETING', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_LAMBDA_FUNCTION_NAME',\n"
        "             'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION',\n"
        "             'AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME',\n"
        "             'LAMBDA_TASK_ROOT']\n"
        "    ctx = {k: getattr(context, k) for k in ('function_name', 'memory_limit_in_mb',\n"
        "           'invoked_function_arn', 'aws_request_id', 'log_group_name', 'log_stream_name',\n"
        "           'function_version')}\n"
        "    return {'env': {n: os.environ.get(n) for n in names}, 'context': ctx, 'cwd': os.getcwd(),\n"
        "            'remaining': context.get_remaining_time_in_millis()}\n"
    ),
    "s3rw.py": (
        "import json, os, boto3\ns3 = boto3.client('s3')\n"
        "def handler(event, context):\n"
        "    if 'write' in event:\n"
        "        s3.put_object(Bucket=os.environ['BUCKET'], Key=event['write'], Body=b'written by lambda')\n"
        "        return {'ok': True}\n"
        "    return s3.get_object(Bucket=os.environ['BUCKET'], Key=event['read'])['Body'].read().decode()\n"
    ),
    "big.py": "def handler(event, context):\n    return 'x' * event['size']\n",
    "uses_layer.py": "import greeting_lib\ndef handler(event, context):\n    return greeting_lib.hello()\n",
}
CODE = make_zip(HANDLERS)


@pytest.fixture(scope="module")
def lam(cloud: Cloud):
    return cloud.client("lambda")


@pytest.fixture(scope="module")
def s3(cloud: Cloud):
    client = cloud.client("s3")
    client.create_bucket(Bucket="lambda-tests")
    return client


def create(lam, name: str, handler: str, **kwargs) -> dict:
    kwargs.setdefault("Code", {"ZipFile": CODE})
    return lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler=handler, **kwargs)


def invoke(lam, name: str, event: object = None, **kwargs) -> tuple[dict, object]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
    return response, json.loads(response["Payload"].read() or b"null")


# -- control plane --------------------------------------------------------------------------------------


def test_create_get_list_update_delete(lam):
    created = create(lam, "crud", "echo.handler", Environment={"Variables": {"ALPHA": "1"}}, Description="d")
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:crud"
    assert (created["Timeout"], created["MemorySize"], created["State"], created["Version"]) == (
        3,
        128,
        "Active",
        "$LATEST",
    )
    assert created["CodeSize"] == len(CODE)
    assert created["PackageType"] == "Zip"
    got = lam.get_function(FunctionName="crud")
    assert got["Configuration"]["Environment"] == {"Variables": {"ALPHA": "1"}}
    assert got["Code"]["RepositoryType"] == "S3"
    assert lam.get_function_configuration(FunctionName=created["FunctionArn"])["Handler"] == "echo.handler"
    names = [
        f["FunctionName"]
        for f in lam.get_paginator("list_functions").paginate().build_full_result()["Functions"]
    ]
    assert "crud" in names
    updated = lam.update_function_configuration(FunctionName="crud", Timeout=10, MemorySize=256)
    assert (updated["Timeout"], updated["MemorySize"]) == (10, 256)
    assert updated["RevisionId"] != created["RevisionId"]
    lam.delete_function(FunctionName="crud")
    code, message, status, _ = error_of(lambda: lam.get_function(FunctionName="crud"))
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == "Function not found: arn:aws:lambda:us-east-1:123456789012:function:crud"


def test_create_errors(lam):
    create(lam, "dupe", "echo.handler")
    code, message, status, _ = error_of(lambda: create(lam, "dupe", "echo.handler"))
    assert (code, status, message) == ("ResourceConflictException", 409, "Function already exist: dupe")
    code, message, status, _ = error_of(
        lambda: create(lam, "reserved", "echo.handler", Environment={"Variables": {"AWS_REGION": "x"}})
    )
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.endswith("Reserved keys used in this request: AWS_REGION")
    code, message, _, _ = error_of(
        lambda: lam.create_function(
            FunctionName="old", Runtime="python3.6", Role=ROLE, Handler="echo.handler", Code={"ZipFile": CODE}
        )
    )
    assert code == "InvalidParameterValueException"
    assert "python3.6 is no longer supported" in message
    code, message, _, _ = error_of(
        lambda: create(lam, "notzip", "echo.handler", Code={"ZipFile": b"not a zip"})
    )
    assert code == "InvalidParameterValueException"
    assert message.startswith("Could not unzip uploaded file")
    code, _, _, _ = error_of(
        lambda: create(
            lam, "badlayer", "echo.handler", Layers=["arn:aws:lambda:us-east-1:123456789012:layer:missing:1"]
        )
    )
    assert code == "InvalidParameterValueException"


def test_code_from_s3_and_update_code_takes_effect(lam, s3):
    s3.put_object(
        Bucket="lambda-tests", Key="code.zip", Body=make_zip({"v.py": "def h(e, c):\n    return 'v1'\n"})
    )
    create(lam, "froms3", "v.h", Code={"S3Bucket": "lambda-tests", "S3Key": "code.zip"})
    assert invoke(lam, "froms3")[1] == "v1"
    lam.update_function_code(
        FunctionName="froms3", ZipFile=make_zip({"v.py": "def h(e, c):\n    return 'v2'\n"})
    )
    assert invoke(lam, "froms3")[1] == "v2"
    code, message, _, _ = error_of(
        lambda: create(lam, "nos3", "v.h", Code={"S3Bucket": "lambda-tests", "S3Key": "no"})
    )
    assert code == "InvalidParameterValueException"
    assert "S3 Error Code: NoSuchKey" in message


def test_layer_adds_to_sys_path(lam):
    layer = make_zip({"python/greeting_lib.py": "def hello():\n    return 'hello from a layer'\n"})
    published = lam.publish_layer_version(
        LayerName="greetings", Content={"ZipFile": layer}, CompatibleRuntimes=["python3.12"]
    )
    assert published["Version"] == 1
    assert lam.list_layer_versions(LayerName="greetings")["LayerVersions"][0]["Version"] == 1
    create(lam, "layered", "uses_layer.handler", Layers=[published["LayerVersionArn"]])
    assert invoke(lam, "layered")[1] == "hello from a layer"


# -- Invoke ---------------------------------------------------------------------------------------------


def test_invoke_returns_payload_headers_and_tail_log(lam):
    create(lam, "echo", "echo.handler")
    response, payload = invoke(lam, "echo", {"hello": "world"}, LogType="Tail")
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert payload == {"event": {"hello": "world"}}
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"
    tail = base64.b64decode(response["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert tail.startswith(f"START RequestId: {request_id} Version: $LATEST")
    assert "got {'hello': 'world'}" in tail
    report = tail.splitlines()[-1]
    assert report.startswith("REPORT RequestId: ")
    assert "\tDuration: " in report
    assert "\tBilled Duration: " in report
    assert "\tMemory Size: 128 MB\tMax Memory Used: " in report
    assert "\tInit Duration: " in report
    second = base64.b64decode(invoke(lam, "echo", {}, LogType="Tail")[0]["LogResult"]).decode()
    assert "Init Duration" not in second  # warm


def test_warm_workers_keep_module_state(lam):
    create(lam, "counter", "counter.handler")
    results = [invoke(lam, "counter")[1] for _ in range(3)]
    assert [r["calls"] for r in results] == [1, 2, 3]
    assert len({r["pid"] for r in results}) == 1


def test_configuration_update_retires_warm_workers(lam):
    create(lam, "retire", "counter.handler")
    assert invoke(lam, "retire")[1]["calls"] == 1
    assert invoke(lam, "retire")[1]["calls"] == 2
    lam.update_function_configuration(FunctionName="retire", Environment={"Variables": {"VERSION": "2"}})
    assert invoke(lam, "retire")[1]["calls"] == 1  # a new worker: module state started over


def test_one_invocation_per_worker_then_429(lam):
    create(lam, "sleepy", "sleepy.handler")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: invoke(lam, "sleepy", {"seconds": 0.6})[1], range(2)))
    assert len({r["pid"] for r in results}) == 2  # two concurrent calls: two workers
    first, second = sorted(results, key=lambda r: r["start"])
    assert second["start"] < first["end"]  # they really overlapped

    # The pool (2 per function in these tests) is full while two calls run: the third is throttled.
    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(invoke, lam, "sleepy", {"seconds": 1.5}) for _ in range(2)]
        time.sleep(0.5)
        code, message, status, response = error_of(lambda: invoke(lam, "sleepy", {"seconds": 0}))
        assert all(f.result()[0]["StatusCode"] == 200 for f in running)
    assert (code, status, message) == ("TooManyRequestsException", 429, "Rate Exceeded.")
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_event_and_dry_run(lam, s3):
    create(lam, "writer", "s3rw.handler", Environment={"Variables": {"BUCKET": "lambda-tests"}})
    dry = lam.invoke(FunctionName="writer", InvocationType="DryRun", Payload=json.dumps({"write": "dry"}))
    assert dry["StatusCode"] == 204
    event = lam.invoke(
        FunctionName="writer", InvocationType="Event", Payload=json.dumps({"write": "from-event"})
    )
    assert event["StatusCode"] == 202
    assert event["Payload"].read() == b""
    body = wait_until(lambda: _read(s3, "from-event"))
    assert body == b"written by lambda"
    assert _read(s3, "dry") is None


def _read(s3, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket="lambda-tests", Key=key)["Body"].read()
    except ClientError:
        return None


def test_environment_and_context(lam, cloud: Cloud):
    create(
        lam,
        "envreader",
        "envreader.handler",
        MemorySize=256,
        Timeout=7,
        Environment={"Variables": {"GREETING": "hi"}},
    )
    result = invoke(lam, "envreader")[1]
    env, context = result["env"], result["context"]
    assert env["GREETING"] == "hi"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert (env["AWS_LAMBDA_FUNCTION_NAME"], env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) == ("envreader", "256")
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    keys = env_vars(cloud.config)  # the stack's own keys, so the handler's boto3 calls are signed
    assert env["AWS_ACCESS_KEY_ID"] == keys["AWS_ACCESS_KEY_ID"]
    assert env["AWS_ENDPOINT_URL_S3"] == cloud.config.url("s3")
    assert env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == cloud.config.url("sagemaker")
    assert result["cwd"] == env["LAMBDA_TASK_ROOT"]
    assert context["function_name"] == "envreader"
    assert context["memory_limit_in_mb"] == "256"
    assert context["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:envreader"
    assert context["log_group_name"] == "/aws/lambda/envreader"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 6000 < result["remaining"] <= 7000


def test_handler_boto3_reaches_local_s3(lam, s3):
    s3.put_object(Bucket="lambda-tests", Key="note.txt", Body=b"from the test")
    create(lam, "reader", "s3rw.handler", Environment={"Variables": {"BUCKET": "lambda-tests"}})
    assert invoke(lam, "reader", {"read": "note.txt"})[1] == "from the test"


def test_raised_exception_is_an_unhandled_function_error(lam):
    create(lam, "boom", "boom.handler")
    response, payload = invoke(lam, "boom")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "boom at the helper"
    assert payload["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert any("in helper" in frame for frame in payload["stackTrace"])
    assert not any("bootstrap.py" in frame for frame in payload["stackTrace"])


def test_import_error_at_cold_start(lam):
    create(lam, "broken", "broken_import.handler")
    response, payload = invoke(lam, "broken", LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"] == (
        "Unable to import module 'broken_import': No module named 'module_that_is_not_in_the_zip'"
    )
    assert (
        "Status: error\tError Type: Runtime.ImportModuleError"
        in base64.b64decode(response["LogResult"]).decode()
    )
    create(lam, "nohandler", "echo.missing")
    assert invoke(lam, "nohandler")[1]["errorType"] == "Runtime.HandlerNotFound"


def test_timeout_kills_the_worker(lam):
    create(lam, "slow", "sleepy.handler", Timeout=1)
    create(lam, "bystander", "echo.handler")
    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        hanging = pool.submit(invoke, lam, "slow", {"seconds": 30}, LogType="Tail")
        time.sleep(0.3)
        assert invoke(lam, "bystander", {"ok": 1})[1] == {"event": {"ok": 1}}  # the cloud keeps serving
        assert not hanging.done()  # answered while the slow one still runs
        response, payload = hanging.result()
    assert time.monotonic() - started < 5
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    log = base64.b64decode(response["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in log
    assert log.rstrip().endswith("Status: timeout")
    assert invoke(lam, "slow", {"seconds": 0})[0]["StatusCode"] == 200  # a fresh worker serves the next call


def test_crashing_worker_reports_exit_error(lam):
    create(lam, "crash", "crash.handler")
    response, payload = invoke(lam, "crash", {"code": 3})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")
    payload = invoke(lam, "crash", {"signal": True})[1]
    assert payload["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    create(lam, "after-crash", "echo.handler")
    assert invoke(lam, "after-crash", {"still": "up"})[1] == {"event": {"still": "up"}}


def test_invoke_errors(lam):
    code, message, status, _ = error_of(lambda: lam.invoke(FunctionName="missing", Payload=b"{}"))
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing"
    create(lam, "limits", "big.handler")
    code, message, status, _ = error_of(
        lambda: lam.invoke(FunctionName="limits", Payload=b"{}" + b" " * 6_291_456)
    )
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert message == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    code, _, status, _ = error_of(lambda: lam.invoke(FunctionName="limits", Payload=b"{not json"))
    assert (code, status) == ("InvalidRequestContentException", 400)
    response, payload = invoke(lam, "limits", {"size": 6_300_000})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Function.ResponseSizeTooLarge"
    assert payload["errorMessage"].endswith("exceeded maximum allowed payload size (6291556 bytes).")


def test_chunked_payload_has_the_same_limit(lam, cloud: Cloud):
    create(lam, "chunked", "echo.handler")
    port, path = cloud.config.lambda_port, "/2015-03-31/functions/chunked/invocations"
    status, _, body = raw_post(cloud.config, port, path, pieces(b'{"small": true}', 4))
    assert (status, json.loads(body)) == (200, {"event": {"small": True}})
    oversize = b"{}" + b" " * 6_291_456
    chunked, counted = (
        raw_post(cloud.config, port, path, pieces(oversize)),
        raw_post(cloud.config, port, path, oversize),
    )
    assert chunked[0] == counted[0] == 413
    error_types = {chunked[1]["x-amzn-errortype"], counted[1]["x-amzn-errortype"]}
    assert error_types == {"RequestEntityTooLargeException"}
    message = "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    assert json.loads(chunked[2]) == json.loads(counted[2]) == {"message": message, "Type": "User"}
    assert raw_post(cloud.config, port, path, pieces(b'{"after": 1}'))[0] == 200


def test_function_log_file(lam, cloud: Cloud):
    create(lam, "logged", "echo.handler")
    invoke(lam, "logged", {"n": 1})
    log = (cloud.config.logs_dir / "lambda" / "logged.log").read_text()
    assert "START RequestId:" in log
    assert "got {'n': 1}" in log
    assert "REPORT RequestId:" in log


def test_many_threads_never_share_a_worker(lam):
    create(lam, "exclusive", "sleepy.handler")
    busy: dict[int, list[tuple[float, float]]] = {}
    lock = threading.Lock()

    def call(_: int) -> None:
        try:
            result = invoke(lam, "exclusive", {"seconds": 0.2})[1]
        except ClientError:
            return  # throttled: fine, we only check that accepted calls never share a worker
        with lock:
            busy.setdefault(result["pid"], []).append((result["start"], result["end"]))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(call, range(8)))
    for spans in busy.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
