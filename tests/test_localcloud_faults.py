"""kill -9 of the local cloud in the middle of work, then a restart (issue 9): nothing that was
acknowledged is lost, and nothing half-done becomes visible.

- during an S3 multipart upload (parts sent, not completed) and during a single PUT whose body is still
  arriving: the objects written before are intact; the interrupted ones do not exist at all;
- during a deployment (UpdateEndpoint while the new model loads): the endpoint comes back serving the
  old model, the interrupted deployment resumes and completes, and no artifact folder is left behind;
- during a training job: see test_localcloud_process.py,
  `test_training_job_cut_by_a_crash_is_failed_after_restart`.
"""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from localcloud_support import (
    ROLE,
    Cloud,
    deploy,
    echo_artifact,
    endpoint_config,
    error_of,
    make_zip,
    new_cloud,
    signed_headers,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh(tmp_path: Path):
    cloud = new_cloud(tmp_path / "state")
    yield cloud
    cloud.stop()


def test_kill_9_during_uploads_loses_nothing_and_shows_nothing_half_written(fresh: Cloud):
    pid = fresh.start()
    s3 = fresh.client("s3")
    s3.create_bucket(Bucket="uploads")
    s3.put_object(Bucket="uploads", Key="done.txt", Body=b"acknowledged")
    upload = s3.create_multipart_upload(Bucket="uploads", Key="multi.bin")
    part = s3.upload_part(
        Bucket="uploads", Key="multi.bin", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * (5 << 20)
    )
    assert part["ETag"]
    # A single PUT whose body is still on its way when the cloud dies.
    port = fresh.config.s3_port
    body = b"b" * 100_000
    headers = signed_headers(fresh.config, port, "PUT", "/uploads/half.bin", body)
    slow = socket.create_connection(("127.0.0.1", port))
    head = f"Host: 127.0.0.1:{port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    slow.sendall(f"PUT /uploads/half.bin HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode())
    slow.sendall(body[:50_000])

    fresh.kill9(pid)
    slow.close()
    fresh.start()

    s3 = fresh.client("s3")
    assert s3.get_object(Bucket="uploads", Key="done.txt")["Body"].read() == b"acknowledged"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="uploads").get("Contents", [])]
    assert keys == ["done.txt"]
    code = error_of(
        lambda: s3.complete_multipart_upload(
            Bucket="uploads",
            Key="multi.bin",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
        )
    )[0]
    assert code == "NoSuchUpload"  # in-progress uploads are not kept: the client starts again
    assert error_of(lambda: s3.head_object(Bucket="uploads", Key="half.bin"))[2] == 404
    leftovers = [p for p in fresh.config.state_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_kill_9_during_a_deployment_keeps_the_old_model_then_finishes_it(fresh: Cloud):
    pid = fresh.start()
    s3, sm = fresh.client("s3"), fresh.client("sagemaker")
    s3.create_bucket(Bucket="models")
    for tag in ("old", "slow-load-new"):
        s3.put_object(Bucket="models", Key=f"{tag}.tar.gz", Body=echo_artifact(tag))
    lam = fresh.client("lambda")
    lam.create_function(
        FunctionName="survivor",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.h",
        Code={"ZipFile": make_zip({"app.py": "def h(e, c):\n    return 'alive'\n"})},
    )
    deploy(sm, "ep", "s3://models/old.tar.gz")
    wait_until(lambda: sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService")
    endpoint_config(sm, "ep-new", "s3://models/slow-load-new.tar.gz")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="ep-new")
    artifacts = fresh.config.state_dir / "sagemaker" / "artifacts" / "ep"
    wait_until(lambda: len(list(artifacts.iterdir())) == 2)  # the new model is downloaded and loading

    fresh.kill9(pid)
    fresh.start()

    sm, runtime = fresh.client("sagemaker"), fresh.client("sagemaker-runtime")
    first = json.loads(runtime.invoke_endpoint(EndpointName="ep", Body=b"{}")["Body"].read())
    assert first["tag"] in ("old", "slow-load-new")  # never a gap, never a half-loaded model
    described = wait_until(
        lambda: (
            (d := sm.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "InService"
            and d["EndpointConfigName"] == "ep-new"
            and d
        ),
        timeout=60,
    )
    assert "FailureReason" not in described
    assert json.loads(runtime.invoke_endpoint(EndpointName="ep", Body=b"{}")["Body"].read())["tag"] == (
        "slow-load-new"
    )
    wait_until(lambda: len(list(artifacts.iterdir())) == 1)  # the old deployment's folder goes, no orphan
    assert json.loads(fresh.client("lambda").invoke(FunctionName="survivor")["Payload"].read()) == "alive"
    assert sm.describe_model(ModelName="ep")["ModelName"] == "ep"


def test_every_acknowledged_concurrent_put_survives_a_kill_9(fresh: Cloud):
    """Concurrent writes share disk writes (group commit); each is acknowledged only once it is on disk."""
    pid = fresh.start()
    fresh.client("s3").create_bucket(Bucket="burst")

    def writer(n: int) -> list[str]:
        s3 = fresh.client("s3")
        keys = [f"w{n}/{i}" for i in range(25)]
        for key in keys:
            s3.put_object(Bucket="burst", Key=key, Body=key.encode())
        return keys

    with ThreadPoolExecutor(8) as pool:
        written = [key for keys in pool.map(writer, range(8)) for key in keys]
    fresh.kill9(pid)
    fresh.start()
    s3 = fresh.client("s3")
    listed = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="burst")
        for o in page.get("Contents", [])
    ]
    assert sorted(listed) == sorted(written)
    assert s3.get_object(Bucket="burst", Key="w7/24")["Body"].read() == b"w7/24"
