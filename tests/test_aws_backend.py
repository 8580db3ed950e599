"""The AWS backend without an AWS account: its variables files, its preflight checks (one line each),
and its real Terraform runs up to the Terraform boundary, on a stand-in module of terraform_data
resources, with moto's server answering STS, CloudWatch Logs and SageMaker by endpoint URL."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest
from localcloud_support import free_ports
from moto.server import ThreadedMotoServer
from terraform_hcl import TERRAFORM, Module, TypeExpr, type_errors

from jobs.backends import open_backend
from jobs.backends.aws import tfvars
from jobs.backends.aws.backend import AwsBackend, AwsSettings
from jobs.backends.aws.training_logs import LOG_GROUP, TrainingLog, delete_job_streams
from jobs.stack.errors import StackError
from jobs.stack.names import Stack
from jobs.stack.registry import ModelRecord

STAND_IN = Path(__file__).parent / "fixtures" / "terraform_aws_stand_in"
needs_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on PATH")


def record(endpoint: str, version: int, digest: str) -> ModelRecord:
    """A model package version as the Model Registry describes it (`jobs.stack.registry`)."""
    return ModelRecord(
        endpoint=endpoint,
        version=version,
        package_arn=f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{endpoint.lower()}/{version}",
        approval="Approved",
        approval_description="",
        image="382416733822.dkr.ecr.us-east-1.amazonaws.com/object2vec:1",
        artifact_uri=f"s3://bucket/object2vec/movielens/output/{endpoint}-job/output/model.tar.gz",
        created=datetime(2026, 12, 3, 10, tzinfo=UTC),
        task="rating",
        profile="rating",
        training_job=f"{endpoint}-20261203-100000",
        dataset="ml-100k",
        protocol="holdout",
        artifact_sha256=digest * 8,
        data_manifest_sha256="0" * 64,
        test_set_sha256="1" * 64,
        held_out=0.93,
        evaluation_uri=f"s3://bucket/object2vec/movielens/registry/{endpoint}/{endpoint}-job/evaluation.json",
    )


# --- variables files -----------------------------------------------------------------------------


def test_committed_stack_variables_are_what_the_generator_writes(tmp_path: Path) -> None:
    written = tfvars.write_variables(
        tmp_path / tfvars.STACK_VARS, tfvars.stack_variables(Stack(), tfvars.StackSettings())
    )
    committed = TERRAFORM / tfvars.STACK_VARS
    assert written.read_text() == committed.read_text(), "regenerate it: names changed in jobs.stack.names"


def test_written_variables_have_the_declared_types(tmp_path: Path) -> None:
    declared = Module.load(TERRAFORM).variables
    zip_file = tmp_path / "a.zip"
    zip_file.write_bytes(b"PK")
    stack = Stack(bucket="my-own-bucket", extra_function_env={"DEPENDENCY_TIMEOUT_SECONDS": "3"})
    documents = [
        tfvars.stack_variables(stack, tfvars.StackSettings(region="eu-west-1", name_prefix="team-a")),
        tfvars.build_variables(zip_file, zip_file),
        tfvars.models_variables({}, [record("ratingModel", 1, "a")], tfvars.EndpointSizing()),
        tfvars.models_variables(
            {}, [record("topNModel", 2, "b")], tfvars.EndpointSizing(serverless_memory_mb=2048)
        ),
    ]
    for document in documents:
        for name, value in document.items():
            assert type_errors(value, TypeExpr.parse(declared[name]["type"]), name) == []


def test_models_file_moves_only_the_endpoints_with_a_new_record() -> None:
    first = tfvars.models_variables(
        {}, [record("ratingModel", 1, "a"), record("topNModel", 1, "b")], tfvars.EndpointSizing()
    )
    second = tfvars.models_variables(first, [record("ratingModel", 2, "c")], tfvars.EndpointSizing())
    assert second["models"]["ratingModel"]["model_version"] == "ratingModel-v0002-cccccccc"
    assert second["models"]["topNModel"] == first["models"]["topNModel"]


def test_an_evaluation_replaces_any_leftover_and_keeps_the_models() -> None:
    models = tfvars.models_variables({}, [record("ratingModel", 1, "a")], tfvars.EndpointSizing())
    crashed = tfvars.evaluations_variables(models, {"ratingModel-20261201-000000": "s3://b/old.tar.gz"})
    now = tfvars.evaluations_variables(crashed, {"ratingModel-20261203-000000": "s3://b/new.tar.gz"})
    assert now["models"] == models["models"]
    assert now["evaluations"] == {
        "ratingModel-20261203-000000": {
            "model_version": "ratingModel-20261203-000000",
            "model_data_url": "s3://b/new.tar.gz",
            "instance_type": "ml.m5.large",
        }
    }
    assert tfvars.evaluations_variables(now, {})["evaluations"] == {}


# --- preflight: one line, before anything is created ---------------------------------------------


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere boto3 looks, and no instance metadata service to ask."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def backend_in(tmp_path: Path, region: str = "us-east-1", terraform_dir: Path = STAND_IN) -> AwsBackend:
    settings = AwsSettings(
        stack=tfvars.StackSettings(region=region), terraform_dir=terraform_dir, build_dir=tmp_path / "build"
    )
    return AwsBackend(Stack(), settings)


def test_open_backend_knows_aws() -> None:
    assert isinstance(open_backend("aws", Stack()), AwsBackend)


def test_no_terraform_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRAFORM_BINARY", "terraform-that-is-not-installed")
    with pytest.raises(StackError, match=r"^terraform-that-is-not-installed not found: install Terraform"):
        backend_in(tmp_path).preflight()


def test_a_region_without_the_image_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"^no Object2Vec image is known for region 'mars-east-1'"):
        backend_in(tmp_path, region="mars-east-1").preflight()


@needs_terraform
@pytest.mark.usefixtures("no_aws")
def test_no_credentials_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"^no AWS credentials found: set AWS_PROFILE") as failure:
        backend_in(tmp_path).plan(lambda line: None)
    assert "\n" not in str(failure.value)
    assert not (tmp_path / "build").exists()  # nothing was built or written


class _ExpiredSts(BaseHTTPRequestHandler):
    """STS answering as it does to an expired session token."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
            b"<Message>The security token included in the request is expired</Message></Error>"
            b"<RequestId>1</RequestId></ErrorResponse>"
        )
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@needs_terraform
def test_expired_credentials_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = HTTPServer(("127.0.0.1", 0), _ExpiredSts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(
            StackError, match=r"^AWS credentials were refused \(ExpiredToken\): they are expired"
        ):
            backend_in(tmp_path).preflight()
    finally:
        server.shutdown()


# --- the Terraform boundary, with moto's server for STS, Logs and SageMaker ----------------------


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_ports(1)[0]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)  # every boto3 client of the backend goes there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    folder = tmp_path / "terraform"
    shutil.copytree(STAND_IN, folder)
    shutil.copy(TERRAFORM / "variables.tf", folder / "variables.tf")
    return folder


@needs_terraform
@pytest.mark.slow
@pytest.mark.usefixtures("moto_aws")
def test_provision_deploy_and_destroy_through_terraform(tmp_path: Path, stand_in: Path) -> None:
    backend = backend_in(tmp_path, terraform_dir=stand_in)
    lines: list[str] = []
    with pytest.raises(StackError, match=r"run `make apply BACKEND=aws` first"):
        backend.connect()

    backend.plan(lines.append)
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in lines
    backend.provision(lines.append)
    assert lines[0] == "AWS account 123456789012 (arn:aws:sts::123456789012:user/moto), region us-east-1"
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in lines
    assert lines[-1] == "billable while up: no endpoints yet (`make train BACKEND=aws` creates them)"
    build = json.loads((stand_in / tfvars.BUILD_VARS).read_text())
    assert Path(build["layer_package"]["path"]).is_file()

    target = backend.training_target()  # from terraform output only
    assert target.role_arn == "arn:aws:iam::123456789012:role/o2v-demo-training"
    assert target.image == "382416733822.dkr.ecr.us-east-1.amazonaws.com/object2vec:1"
    assert target.instance_type == "ml.m5.xlarge"
    assert target.poll_seconds == 10.0  # DescribeTrainingJob is rate-limited on AWS

    lines.clear()
    backend.deploy_models(backend.connect(), [record("ratingModel", 1, "a")], lines.append)
    assert "endpoint ratingModel: serving ratingModel-v0001-aaaaaaaa" in lines
    assert lines[-1] == "billable while up: 1 endpoint(s) (ratingModel), ml.m5.large each"
    backend.deploy_models(backend.connect(), [record("topNModel", 1, "b")], lines.append)
    assert backend.environment()["ENDPOINTS"] == "ratingModel,topNModel"  # the first stayed

    # An evaluation endpoint is Terraform's for the block, and removed however the block ends ...
    models_file = stand_in / tfvars.MODELS_VARS
    with pytest.raises(RuntimeError, match="the evaluation failed"):
        evaluate_and_fail(backend, "ratingModel-20261203-1", models_file)
    assert json.loads(models_file.read_text())["evaluations"] == {}
    # ... and one a killed run left in Terraform's state goes with the stack.
    killed = tfvars.evaluations_variables(
        tfvars.read_variables(models_file), {"topNModel-1": "s3://b/t.tar.gz"}
    )
    tfvars.write_variables(models_file, killed)
    backend.deploy_models(backend.connect(), [], lines.append)

    lines.clear()
    backend.destroy(lines.append)
    assert lines[-1] == "destroyed 4 resources; nothing billable of this stack remains in us-east-1"
    assert not (stand_in / tfvars.MODELS_VARS).exists()
    lines.clear()
    backend.destroy(lines.append)
    assert lines[-1] == "nothing was left to destroy; nothing billable of this stack remains in us-east-1"


def evaluate_and_fail(backend: AwsBackend, name: str, models_file: Path) -> None:
    with backend.evaluation_endpoint(backend.connect(), name, "s3://b/m.tar.gz", lambda line: None):
        assert name in json.loads(models_file.read_text())["evaluations"]
        raise RuntimeError("the evaluation failed")


@pytest.mark.usefixtures("moto_aws")
def test_training_log_returns_each_line_once_and_destroy_deletes_the_streams() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName=LOG_GROUP)
    stream = "ratingModel-20261203-100000/algo-1-1764756000"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    tail = TrainingLog(logs, "ratingModel-20261203-100000")
    assert TrainingLog(logs, "topNModel-20261203-100000")() == []

    now = int(time.time() * 1000)  # CloudWatch refuses events older than 14 days
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": f"epoch {i}"} for i in (1, 2)],
    )
    assert tail() == ["epoch 1", "epoch 2"]
    assert tail() == []
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": now + 9, "message": "done"}],
    )
    assert tail() == ["done"]

    assert delete_job_streams(logs, "ratingModel-") == [stream]
    assert delete_job_streams(logs, "ratingModel-") == []


def test_settings_come_from_the_environment() -> None:
    settings = AwsSettings.from_env(
        {
            "AWS_REGION": "eu-west-1",
            "NAME_PREFIX": "team-a",
            "TRAINING_INSTANCE_TYPE": "ml.c5.2xlarge",
            "ENDPOINT_SERVERLESS_MEMORY_MB": "2048",
        }
    )
    assert (settings.stack.region, settings.stack.name_prefix) == ("eu-west-1", "team-a")
    assert settings.training_instance_type == "ml.c5.2xlarge"
    assert settings.endpoints.variables() == {"serverless": {"memory_size_in_mb": 2048, "max_concurrency": 5}}
    with pytest.raises(
        StackError, match=r"^ENDPOINT_SERVERLESS_MEMORY_MB must be a number of MB .* got '2GB'"
    ):
        AwsSettings.from_env({"AWS_REGION": "eu-west-1", "ENDPOINT_SERVERLESS_MEMORY_MB": "2GB"})


def test_every_aws_command_ends_naming_destroy(tmp_path: Path) -> None:
    assert "`make destroy BACKEND=aws`" in backend_in(tmp_path).closing_line()
