"""Helpers for the local cloud tests (conftest's module-scoped `cloud` fixture wraps `running_cloud`),
and the small network helpers other tests share: free ports and a throwaway HTTP server.

Also a test-only model server ("echo"), which the local cloud process imports by name: the fixture
puts this folder on its PYTHONPATH and registers `*/echo-model:*=localcloud_support:load_echo`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import os
import signal
import socket
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from localcloud import CloudConfig, env_vars, start, stop
from localcloud.sagemaker.modelservers import ModelRequestError

TESTS = Path(__file__).resolve().parent
ECHO_IMAGE = "000000000000.dkr.ecr.us-east-1.amazonaws.com/echo-model:1"
O2V_IMAGE = "174872318107.dkr.ecr.us-west-2.amazonaws.com/object2vec:1"
ROLE = "arn:aws:iam::123456789012:role/test-role"


# -- the test-only model server -------------------------------------------------------------------------


class EchoModel:
    """Answers with its artifact's tag. Body b"bad" is a client error (400), b"boom" a crash (500),
    b"wait:PATH" answers once the file PATH exists (a hung model that the test releases)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        if body.startswith(b"wait:"):
            # Bounded, so a failed test cannot leave the model busy for the rest of the module.
            wait_until(Path(body[len(b"wait:") :].decode()).exists, timeout=120)
        if body == b"bad":
            raise ModelRequestError("the echo model refuses 'bad'")
        if body == b"boom":
            raise RuntimeError("the echo model crashed")
        answer = {"tag": self.tag, "body": body.decode(), "content_type": content_type}
        return json.dumps(answer).encode(), accept or "application/json"


def load_echo(artifact: Path, threads: int) -> EchoModel:
    with tarfile.open(artifact) as tar:
        member = tar.extractfile("tag.txt")
        tag = member.read().decode() if member else ""
    if tag == "unloadable":
        raise ValueError("this echo model cannot be loaded")
    if tag.startswith("slow-load"):  # a deployment that takes a while: time to kill the cloud during it
        time.sleep(3)
    return EchoModel(tag)


class ScoresModel:
    """Answers like Object2Vec's rating regressor: one score per instance, whatever the pair."""

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        instances = json.loads(body)["instances"]
        return json.dumps(
            {"predictions": [{"scores": [3.5]} for _ in instances]}
        ).encode(), "application/json"


def load_scores(artifact: Path, threads: int) -> ScoresModel:
    return ScoresModel()


def echo_artifact(tag: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("tag.txt")
        info.size = len(tag.encode())
        tar.addfile(info, io.BytesIO(tag.encode()))
    return buffer.getvalue()


# -- helpers ------------------------------------------------------------------------------------------


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def signed_headers(
    config: CloudConfig,
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """`headers` plus a SigV4 signature with the stack's keys, as botocore signs (service from the port)."""
    service = {config.s3_port: "s3", config.sagemaker_port: "sagemaker", config.lambda_port: "lambda"}[port]
    keys = env_vars(config)
    credentials = Credentials(keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"])
    request = AWSRequest(method, f"http://127.0.0.1:{port}{path}", data=body, headers=headers or {})
    if service == "s3":
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    SigV4Auth(credentials, service, config.region).add_auth(request)
    return dict(request.headers.items())


def raw_request(
    config: CloudConfig,
    port: int,
    method: str,
    path: str,
    body: bytes | Iterable[bytes] = b"",
    headers: dict[str, str] | None = None,
    *,
    sign: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """One request without boto3 on a fresh connection, signed with the stack's keys unless `sign` is
    False: bytes go with Content-Length, an iterable goes with `Transfer-Encoding: chunked`, one chunk
    per item. Status, headers (lower-case names) and body."""
    if not isinstance(body, bytes):
        body = list(body)
    if sign:
        whole = body if isinstance(body, bytes) else b"".join(body)
        headers = signed_headers(config, port, method, path, whole, headers)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def raw_post(
    config: CloudConfig,
    port: int,
    path: str,
    body: bytes | Iterable[bytes],
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """A signed POST (see raw_request)."""
    return raw_request(config, port, "POST", path, body, headers)


def pieces(data: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    """`data` as chunks of `size` bytes, for raw_post's chunked bodies."""
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def serving(handler: Callable[..., BaseHTTPRequestHandler], port: int = 0) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (`port`, or any free one) for the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def error_of(call: Callable[[], Any]) -> tuple[str, str, int, dict[str, Any]]:
    """The ClientError `call` must raise: (code, message, HTTP status, whole response)."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response,
    )


def endpoint_config(
    sm: Any, name: str, url: str, image: str = ECHO_IMAGE, variant: str = "AllTraffic"
) -> None:
    """A model and an endpoint config, both named `name`, serving `image` with the artifact at `url`."""
    sm.create_model(
        ModelName=name, PrimaryContainer={"Image": image, "ModelDataUrl": url}, ExecutionRoleArn=ROLE
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m4.xlarge",
            }
        ],
    )


def deploy(sm: Any, name: str, url: str, image: str = ECHO_IMAGE) -> None:
    """Model, endpoint config and endpoint, all named `name` (the endpoint is not InService yet)."""
    endpoint_config(sm, name, url, image)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Cloud:
    """A local cloud on free ports with its own state folder, plus boto3 clients aimed at it."""

    config: CloudConfig

    def start(self) -> int:
        # So that the server process can import the echo model server.
        with mock.patch.dict(os.environ, PYTHONPATH=str(TESTS)):
            return start(self.config, timeout=60).pid or 0

    def stop(self, **kwargs: Any) -> bool:
        return stop(self.config, **kwargs)

    def kill9(self, pid: int) -> None:
        """What a power cut does: the whole process group dies at once, nothing is shut down."""
        os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # the test started it: reap it, or it stays a zombie
            os.waitpid(pid, 0)
        wait_until(lambda: not group_alive(pid), timeout=10)

    def client(self, service: str) -> Any:
        port = self.config.sagemaker_port if service == "sagemaker-runtime" else self.config.port(service)
        keys = env_vars(self.config)
        return boto3.client(
            service,
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name=self.config.region,
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60),
        )


def cloud_config(state_dir: Path, **overrides: Any) -> CloudConfig:
    """A local cloud's settings on free ports, so that test modules never collide."""
    s3, sagemaker, lambda_ = free_ports(3)
    return CloudConfig.from_env(
        {}, state_dir=state_dir, s3_port=s3, sagemaker_port=sagemaker, lambda_port=lambda_, **overrides
    )


def new_cloud(state_dir: Path, **overrides: Any) -> Cloud:
    echo = ("*/echo-model:*=localcloud_support:load_echo",)
    return Cloud(cloud_config(state_dir, model_servers=echo, **overrides))


def running_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A started local cloud for a whole test module (2 workers per function: throttling is cheap)."""
    running = new_cloud(tmp_path_factory.mktemp("localcloud"), lambda_max_concurrency=2)
    running.start()
    yield running
    running.stop()
