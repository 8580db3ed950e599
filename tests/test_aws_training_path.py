"""`make train` on the AWS backend's path, with no AWS account: the AWS backend's own code (preflight,
builds, variables files, terraform runs, training target from terraform output, CloudWatch log reader,
deploy through Terraform) against the local cloud's S3 and SageMaker by endpoint URL, moto's server
for STS and CloudWatch Logs, and the Terraform stand-in, whose provisioner has the local cloud do what
the real endpoint module has SageMaker do (tests/fixtures/terraform_aws_stand_in)."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from localcloud_support import Cloud, free_ports
from moto.server import ThreadedMotoServer
from terraform_hcl import TERRAFORM

import localcloud
from jobs.backends.aws import tfvars
from jobs.backends.aws.backend import AwsBackend, AwsSettings
from jobs.stack import lifecycle
from jobs.stack.names import Stack

STAND_IN = Path(__file__).parent / "fixtures" / "terraform_aws_stand_in"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on PATH"),
]


@pytest.fixture
def aws_endpoints(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """S3 and SageMaker are the local cloud's; everything else (STS, Logs) is moto's server."""
    port = free_ports(1)[0]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    local = localcloud.env_vars(cloud.config)  # its URLs and the keys it signs with (moto takes any)
    for name, value in {
        **{key: value for key, value in local.items() if key != "AWS_ENDPOINT_URL_LAMBDA"},
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "TF_VAR_stand_in_python": sys.executable,
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield
    finally:
        moto.stop()


@pytest.mark.usefixtures("aws_endpoints")
def test_train_on_the_aws_path_deploys_through_terraform(
    cloud: Cloud, ml100k_dir: Path, tmp_path: Path
) -> None:
    terraform_dir = tmp_path / "terraform"
    shutil.copytree(STAND_IN, terraform_dir)
    shutil.copy(TERRAFORM / "variables.tf", terraform_dir / "variables.tf")
    stack = Stack(bucket="aws-path", training_overrides={"epochs": "2"})
    settings = AwsSettings(
        stack=tfvars.StackSettings(region=cloud.config.region),
        terraform_dir=terraform_dir,
        build_dir=tmp_path / "build",
    )
    backend = AwsBackend(stack, settings)
    lines: list[str] = []

    backend.provision(lines.append)
    cloud.client("s3").create_bucket(Bucket=stack.bucket)  # the real data_bucket module's part
    report = lifecycle.train(
        backend, source=str(ml100k_dir), channels_dir=tmp_path / "channels", log=lines.append
    )

    versions = {record.endpoint: record.model_version for record in report.records}
    assert set(versions) == {slot.endpoint for slot in stack.models}
    models_file = json.loads((terraform_dir / tfvars.MODELS_VARS).read_text())
    models = models_file["models"]
    assert {name: model["model_version"] for name, model in models.items()} == versions
    # Each model was measured on a temporary endpoint of Terraform's, gone again once measured.
    assert models_file["evaluations"] == {}
    sagemaker = cloud.client("sagemaker")
    for record in report.records:
        assert f"serving {record.training_job} on a temporary endpoint (terraform apply)" in lines
        assert f"removed the temporary endpoint {record.training_job}" in lines
        assert sagemaker.list_endpoints(NameContains=record.training_job)["Endpoints"] == []
    assert all(model["instance_type"] == "ml.m5.large" for model in models.values())
    for endpoint, version in versions.items():
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", version)
        assert f"endpoint {endpoint}: serving {version}" in lines
    assert report.index.model_version == versions[stack.retrieval_endpoint]
    assert (
        "billable while up: 3 endpoint(s) (ratingModel, recommendationModel, topNModel), ml.m5.large each"
        in lines
    )
    training = [line for line in lines if line.startswith("training job ") and " submitted " in line]
    assert len(training) == 3  # submitted with the role and image from terraform output
    # moto's CloudWatch holds no log of the local cloud's jobs, so no validation curve chose a refit's
    # epochs: each first job's model is kept, and the log says so.
    kept = [line for line in lines if line.endswith("its own model is kept, with no refit")]
    assert len(kept) == 3

    backend.destroy(lines.append)
    assert lines[-1] == "destroyed 4 resources; nothing billable of this stack remains in us-east-1"
    assert not (terraform_dir / tfvars.MODELS_VARS).exists()
