"""Running the local cloud: start/stop/status/env, the CLI, and state surviving stop and kill -9."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig
from click.testing import CliRunner
from localcloud_support import (
    O2V_IMAGE,
    ROLE,
    Cloud,
    deploy,
    echo_artifact,
    group_alive,
    make_zip,
    new_cloud,
    wait_until,
)

from jobs.cli.cloud import cloud as cloud_cli
from jobs.cli.main import cli
from localcloud import LocalCloudError, env_vars, status

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Cloud]:
    """A local cloud of this test's own (not started); always stopped afterwards."""
    created = new_cloud(tmp_path / "state")
    yield created
    created.stop(grace=2)


def test_env_vars_point_every_service_at_the_local_cloud(fresh: Cloud):
    env = env_vars(fresh.config)
    ports = fresh.config
    assert env["AWS_ENDPOINT_URL_S3"] == f"http://127.0.0.1:{ports.s3_port}"
    assert env["AWS_ENDPOINT_URL_SAGEMAKER"] == env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"]
    assert env["AWS_ENDPOINT_URL_SAGEMAKER"] == f"http://127.0.0.1:{ports.sagemaker_port}"
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == f"http://127.0.0.1:{ports.lambda_port}"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"]
    assert env["AWS_SECRET_ACCESS_KEY"]


def test_start_is_idempotent_and_stop_is_safe_twice(fresh: Cloud):
    assert not status(fresh.config).running
    pid = fresh.start()
    assert fresh.start() == pid  # already running: nothing new
    current = status(fresh.config)
    assert current.ready
    assert {s.pid for s in current.services} == {pid}
    assert json.loads(fresh.config.pid_file.read_text())["pid"] == pid
    assert fresh.stop() is True
    assert not group_alive(pid)  # the server and every worker process are gone
    assert not fresh.config.pid_file.exists()
    assert fresh.stop() is False


def test_stale_pid_file_is_replaced(fresh: Cloud):
    dead = subprocess.Popen(["true"])
    dead.wait()
    fresh.config.state_dir.mkdir(parents=True)
    fresh.config.pid_file.write_text(json.dumps({"pid": dead.pid}))
    assert not status(fresh.config).running
    assert fresh.stop() is False  # never signals a pid it cannot prove is a local cloud
    fresh.config.pid_file.write_text(json.dumps({"pid": dead.pid}))
    pid = fresh.start()
    assert pid != dead.pid
    assert json.loads(fresh.config.pid_file.read_text())["pid"] == pid


def test_port_in_use_is_a_one_line_error(fresh: Cloud, tmp_path: Path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", fresh.config.s3_port))
        squatter.listen()
        with pytest.raises(LocalCloudError) as caught:
            fresh.start()
    message = str(caught.value)
    assert message == (
        f"port {fresh.config.s3_port} (S3) on 127.0.0.1 is already in use by another process; "
        "free it or choose another with LOCALCLOUD_S3_PORT"
    )
    fresh.start()
    other = Cloud(replace(fresh.config, state_dir=tmp_path / "other-state"))
    with pytest.raises(LocalCloudError, match=r"is served by another local cloud \(state in .*/state\)"):
        other.start()
    assert other.stop() is False  # never stops a local cloud of another state folder
    assert status(fresh.config).running


def test_cli_commands(fresh: Cloud):
    runner = CliRunner()
    ports = fresh.config
    args = [
        "--state-dir",
        str(ports.state_dir),
        "--s3-port",
        str(ports.s3_port),
        "--sagemaker-port",
        str(ports.sagemaker_port),
        "--lambda-port",
        str(ports.lambda_port),
    ]
    down = runner.invoke(cloud_cli, [*args, "status"])
    assert down.exit_code == 3
    assert "down" in down.output
    env = runner.invoke(cli, ["env"], env=ports.to_env())
    assert env.exit_code == 0
    assert f"export AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:{ports.lambda_port}\n" in env.output
    assert all(line.startswith("export ") for line in env.output.splitlines())
    fresh.start()
    up = runner.invoke(cloud_cli, [*args, "status"])
    assert up.exit_code == 0
    assert up.output.count("ready") == 3
    logs = runner.invoke(cloud_cli, [*args, "logs", "-n", "5"])
    assert "serving S3" in logs.output
    stopped = runner.invoke(cloud_cli, [*args, "stop", "--purge"])
    assert stopped.exit_code == 0
    assert not ports.state_dir.exists()


def test_state_survives_stop_and_kill_9(fresh: Cloud, tmp_path: Path):
    pid = fresh.start()
    s3, lam, sm = fresh.client("s3"), fresh.client("lambda"), fresh.client("sagemaker")
    s3.create_bucket(Bucket="kept")
    s3.put_object(Bucket="kept", Key="a/one.txt", Body=b"one", ContentType="text/plain", Metadata={"k": "v"})
    s3.put_object(Bucket="kept", Key="two.bin", Body=b"\x00" * 100_000)
    s3.put_object(Bucket="kept", Key="gone.txt", Body=b"deleted later")
    s3.delete_object(Bucket="kept", Key="gone.txt")
    s3.put_object(Bucket="kept", Key="a/one.txt", Body=b"one, overwritten", ContentType="text/plain")
    s3.create_bucket(Bucket="removed")
    s3.delete_bucket(Bucket="removed")
    s3.put_object(Bucket="kept", Key="echo.tar.gz", Body=echo_artifact("persisted"))
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 45_000)  # 11.5 MB: a three-part multipart upload
    s3.upload_file(
        str(big),
        "kept",
        "big.bin",
        Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20),
    )
    code = make_zip(
        {
            "app.py": "import os\nCALLS = 0\ndef h(e, c):\n    global CALLS\n    CALLS += 1\n"
            "    return [os.environ['MODE'], CALLS]\n"
        }
    )
    lam.create_function(
        FunctionName="kept",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.h",
        Code={"ZipFile": code},
        Environment={"Variables": {"MODE": "persisted"}},
    )
    deploy(sm, "kept", "s3://kept/echo.tar.gz")
    wait_until(lambda: sm.describe_endpoint(EndpointName="kept")["EndpointStatus"] == "InService")
    assert json.loads(lam.invoke(FunctionName="kept")["Payload"].read()) == ["persisted", 1]

    fresh.stop()
    assert not group_alive(pid)
    pid = fresh.start()
    _assert_everything_is_back(fresh)

    fresh.kill9(pid)  # no shutdown at all: what a reboot leaves behind, pid file included
    assert fresh.config.pid_file.exists()
    fresh.start()
    _assert_everything_is_back(fresh)


def _assert_everything_is_back(cloud: Cloud) -> None:
    s3, lam, sm = cloud.client("s3"), cloud.client("lambda"), cloud.client("sagemaker")
    one = s3.get_object(Bucket="kept", Key="a/one.txt")
    assert one["Body"].read() == b"one, overwritten"
    assert one["ContentType"] == "text/plain"
    assert s3.get_object(Bucket="kept", Key="two.bin")["Body"].read() == b"\x00" * 100_000
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="kept")["Contents"])
    assert keys == ["a/one.txt", "big.bin", "echo.tar.gz", "two.bin"]
    big = s3.get_object(Bucket="kept", Key="big.bin")  # botocore checks its (composite) checksum
    assert big["Body"].read() == bytes(range(256)) * 45_000
    assert big["ETag"].endswith('-3"')
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["kept"]
    zeros_md5 = hashlib.md5(b"\x00" * 100_000).hexdigest()
    assert s3.head_object(Bucket="kept", Key="two.bin")["ETag"] == f'"{zeros_md5}"'
    assert s3.head_object(Bucket="kept", Key="a/one.txt")["Metadata"] == {}  # the overwrite dropped k=v
    assert lam.get_function_configuration(FunctionName="kept")["Environment"] == {
        "Variables": {"MODE": "persisted"}
    }
    assert json.loads(lam.invoke(FunctionName="kept")["Payload"].read()) == ["persisted", 1]  # a new worker
    endpoint = sm.describe_endpoint(EndpointName="kept")
    assert endpoint["EndpointStatus"] == "InService"
    answer = cloud.client("sagemaker-runtime").invoke_endpoint(EndpointName="kept", Body=b"{}")
    assert json.loads(answer["Body"].read())["tag"] == "persisted"
    assert sm.describe_model(ModelName="kept")["PrimaryContainer"]["ModelDataUrl"] == "s3://kept/echo.tar.gz"


def test_training_job_cut_by_a_crash_is_failed_after_restart(fresh: Cloud):
    pid = fresh.start()
    s3, sm = fresh.client("s3"), fresh.client("sagemaker")
    s3.create_bucket(Bucket="jobs")
    s3.put_object(
        Bucket="jobs", Key="in/train/part.jsonl", Body=b'{"in0": [1], "in1": [2], "label": 3}\n' * 50
    )
    source = {"S3DataType": "S3Prefix", "S3Uri": "s3://jobs/in/train"}
    sm.create_training_job(
        TrainingJobName="cut",
        AlgorithmSpecification={"TrainingImage": O2V_IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={
            "enc0_max_seq_len": "1",
            "enc0_vocab_size": "4",
            "enc1_max_seq_len": "1",
            "enc1_vocab_size": "4",
            "output_layer": "mean_squared_error",
            "epochs": "50",
        },
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": source}}],
        OutputDataConfig={"S3OutputPath": "s3://jobs/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    wait_until(lambda: sm.describe_training_job(TrainingJobName="cut")["SecondaryStatus"] == "Training")
    fresh.kill9(pid)
    fresh.start()
    job = sm.describe_training_job(TrainingJobName="cut")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Failed", "Failed")
    assert job["FailureReason"].startswith(
        "InternalServerError: the local cloud stopped while this job was running"
    )
