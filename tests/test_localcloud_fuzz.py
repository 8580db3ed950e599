"""Property-based fuzzing of the running local cloud (issue 9): signed requests whose bodies, headers and
path parameters are generated. Every answer is an AWS-shaped 4xx or a success — never a 5xx, never a
hang (each request has a 10-second budget) — and nothing is ever written outside the state folder.

Bounded for CI: a few hundred requests in all, derandomized (the same examples on every run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from localcloud_support import Cloud, new_cloud, raw_request

from localcloud.validation import _service_model

pytestmark = pytest.mark.slow
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SAGEMAKER_OPERATIONS = [
    "CreateModel",
    "DescribeModel",
    "DeleteModel",
    "ListModels",
    "CreateEndpointConfig",
    "DescribeEndpointConfig",
    "DeleteEndpointConfig",
    "ListEndpointConfigs",
    "CreateEndpoint",
    "UpdateEndpoint",
    "DescribeEndpoint",
    "DeleteEndpoint",
    "ListEndpoints",
    "CreateTrainingJob",
    "DescribeTrainingJob",
    "StopTrainingJob",
    "ListTrainingJobs",
    "CreateModelPackageGroup",
    "DescribeModelPackageGroup",
    "ListModelPackageGroups",
    "DeleteModelPackageGroup",
    "CreateModelPackage",
    "DescribeModelPackage",
    "ListModelPackages",
    "UpdateModelPackage",
    "DeleteModelPackage",
]
HOSTILE_TEXT = st.sampled_from(
    ["..", "../..", "../../outside", "..\\..", "/etc/passwd", "a/b", "%2e%2e", "x\n", "\u202e", "", " "]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | HOSTILE_TEXT
)


def json_values(keys: list[str]) -> st.SearchStrategy[Any]:
    names = st.sampled_from(keys) if keys else st.text(max_size=8)
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(names | st.text(max_size=6), inner, max_size=4)
        ),
        max_leaves=12,
    )


def member_names(service: str) -> list[str]:
    """Every member name of every shape of the service's model: bodies that look like real requests."""
    model = _service_model(service)
    names: set[str] = set()
    for operation in model.operation_names:
        shape = model.operation_model(operation).input_shape
        if shape is not None:
            names.update(shape.members)
    return sorted(names)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fuzz")
    cloud = new_cloud(root / "state", lambda_max_concurrency=1, read_timeout_seconds=5.0)
    cloud.start()
    cloud.client("s3").create_bucket(Bucket="fuzz")
    yield cloud
    cloud.stop()


@pytest.fixture
def outside_untouched(fuzzed: Cloud):
    """Fails the test if any file appears or changes beside the state folder."""
    root = fuzzed.config.state_dir.parent

    def snapshot() -> dict[Path, float]:
        return {
            p: p.stat().st_mtime
            for p in root.rglob("*")
            if p.is_file() and fuzzed.config.state_dir not in p.parents
        }

    before = snapshot()
    yield
    assert snapshot() == before


def assert_aws_shaped(status: int, headers: dict[str, str], body: bytes, *, xml: bool = False) -> None:
    assert status < 500, body[:300]
    if status >= 400:
        if xml:
            assert b"<Error><Code>" in body
        else:
            assert headers.get("x-amzn-errortype") or json.loads(body).get("__type"), body[:300]
            assert len(body) < 4096  # a bad request never gets its own bulk echoed back


@FUZZ
@given(st.sampled_from(SAGEMAKER_OPERATIONS), json_values(member_names("sagemaker")))
def test_sagemaker_control_plane_bodies(fuzzed: Cloud, outside_untouched: None, operation: str, body: Any):
    headers = {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"}
    data = json.dumps(body).encode()
    status, answer_headers, answer = raw_request(
        fuzzed.config, fuzzed.config.sagemaker_port, "POST", "/", data, headers
    )
    assert_aws_shaped(status, answer_headers, answer)


LAMBDA_ROUTES = [
    ("POST", "/2015-03-31/functions"),
    ("GET", "/2015-03-31/functions/{name}"),
    ("DELETE", "/2015-03-31/functions/{name}"),
    ("GET", "/2015-03-31/functions/{name}/configuration"),
    ("PUT", "/2015-03-31/functions/{name}/configuration"),
    ("PUT", "/2015-03-31/functions/{name}/code"),
    ("POST", "/2015-03-31/functions/{name}/invocations"),
    ("GET", "/_localcloud/code/{name}.zip"),
    ("POST", "/2018-10-31/layers/{name}/versions"),
    ("GET", "/2018-10-31/layers/{name}/versions"),
    ("GET", "/2018-10-31/layers/{name}/versions/1"),
    ("DELETE", "/2018-10-31/layers/{name}/versions/1"),
    ("GET", "/2015-03-31/functions/?Marker={name}&MaxItems=2"),
]
path_params = HOSTILE_TEXT | st.text(max_size=20) | st.sampled_from(["echo", "f-1", "a" * 200])


@FUZZ
@given(st.sampled_from(LAMBDA_ROUTES), path_params, json_values(member_names("lambda")))
def test_lambda_paths_and_bodies(fuzzed: Cloud, outside_untouched: None, route, name: str, body: Any):
    method, template = route
    path = template.replace("{name}", quote(name, safe=""))
    data = json.dumps(body).encode() if method in ("POST", "PUT") else b""
    status, answer_headers, answer = raw_request(fuzzed.config, fuzzed.config.lambda_port, method, path, data)
    assert_aws_shaped(status, answer_headers, answer)


header_names = st.sampled_from(
    [
        "Content-Type",
        "Accept",
        "X-Amz-Target",
        "X-Amz-Invocation-Type",
        "X-Amz-Log-Type",
        "X-Amz-Client-Context",
        "X-Amzn-SageMaker-Target-Variant",
        "Expect",
        "X-Unknown",
    ]
)
header_values = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40
) | HOSTILE_TEXT.filter(lambda v: "\n" not in v and v.isascii())


@FUZZ
@given(
    st.sampled_from(
        [
            ("sagemaker", "/endpoints/{name}/invocations"),
            ("lambda", "/2015-03-31/functions/{name}/invocations"),
            ("sagemaker", "/"),
        ]
    ),
    path_params,
    st.dictionaries(header_names, header_values, max_size=4),
    st.binary(max_size=200),
)
def test_runtime_headers_and_raw_bodies(fuzzed: Cloud, outside_untouched: None, target, name, headers, body):
    service, template = target
    path = template.replace("{name}", quote(name, safe=""))
    status, answer_headers, answer = raw_request(
        fuzzed.config, fuzzed.config.port(service), "POST", path, body, headers
    )
    assert_aws_shaped(status, answer_headers, answer)


s3_keys = st.text(min_size=1, max_size=60).filter(lambda k: len(k.encode()) <= 1024) | HOSTILE_TEXT.filter(
    bool
)


@FUZZ
@given(s3_keys, st.binary(max_size=300))
def test_s3_keys_round_trip_or_are_refused(fuzzed: Cloud, outside_untouched: None, key: str, data: bytes):
    path = "/fuzz/" + quote(key, safe="/")
    port = fuzzed.config.s3_port
    status, headers, answer = raw_request(fuzzed.config, port, "PUT", path, data)
    assert_aws_shaped(status, headers, answer, xml=True)
    if status == 200:
        status, headers, answer = raw_request(fuzzed.config, port, "GET", path)
        assert (status, answer) == (200, data)
        assert raw_request(fuzzed.config, port, "DELETE", path)[0] == 204


# Valid requests with one member replaced: they pass the parts a random body never gets past.
VALID_BODIES = {
    "CreateModel": {
        "ModelName": "fuzz-model",
        "PrimaryContainer": {"Image": "x/echo-model:1", "ModelDataUrl": "s3://fuzz/model.tar.gz"},
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
    },
    "CreateEndpointConfig": {
        "EndpointConfigName": "fuzz-config",
        "ProductionVariants": [{"VariantName": "v", "ModelName": "fuzz-model", "InitialVariantWeight": 1.0}],
    },
    "CreateTrainingJob": {
        "TrainingJobName": "fuzz-job",
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "AlgorithmSpecification": {"TrainingImage": "x/object2vec:1", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://fuzz/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 1},
        "HyperParameters": {"epochs": "1"},
    },
    "ListEndpoints": {"MaxResults": 5, "SortBy": "Name", "NameContains": "a"},
    "CreateModelPackageGroup": {"ModelPackageGroupName": "fuzz-group"},
}


@FUZZ
@given(
    st.sampled_from(sorted(VALID_BODIES)),
    st.data(),
    json_values(member_names("sagemaker")),
)
def test_sagemaker_valid_bodies_with_one_member_replaced(
    fuzzed: Cloud, outside_untouched: None, operation: str, data: st.DataObject, value: Any
):
    body = json.loads(json.dumps(VALID_BODIES[operation]))
    member = data.draw(st.sampled_from(sorted(body)))
    body[member] = value
    headers = {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"}
    status, answer_headers, answer = raw_request(
        fuzzed.config, fuzzed.config.sagemaker_port, "POST", "/", json.dumps(body).encode(), headers
    )
    assert_aws_shaped(status, answer_headers, answer)
