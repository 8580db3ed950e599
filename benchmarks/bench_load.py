"""Load benchmark (`make bench-load`): the local cloud under 16 concurrent clients, every request signed.

A throw-away local cloud (free ports, its own state folder) serves a constant model behind an endpoint,
a Lambda function and a bucket. 16 client threads, each with its own boto3 clients (SigV4, as any SDK
signs), send at least 20,000 requests mixed evenly over InvokeEndpoint, Lambda Invoke, S3 GetObject and
S3 PutObject (1 KiB). Half-way through, one Lambda worker process is killed (SIGKILL) and one slow S3
upload (1 MiB dribbled over ~5 s on a raw connection) starts. Reported: throughput, p50/p99 per kind,
errors per kind (the killed worker's in-flight call is the only one expected), the cloud's peak memory
(server process, and its Lambda workers), and the cost of signature checking: the local cloud's own gate
(Origin/Host, then SigV4) timed in this process on the same requests as the clients sign them, next to
the end-to-end p50 with it. Results: benchmarks/results/load.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import signal
import socket
import tarfile
import tempfile
import threading
import time
import zipfile
from dataclasses import replace
from email.message import Message
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import numpy as np
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from benchmarks.bench_serving import cloud_on_free_ports, percentiles
from benchmarks.machine import describe, machine, write_report
from localcloud import CloudConfig, env_vars, start, stop
from localcloud.credentials import load_credentials
from localcloud.security import StackGate

REPO = Path(__file__).resolve().parent.parent
KINDS = ("invoke_endpoint", "lambda_invoke", "s3_get", "s3_put")
CLIENTS = 16
ENDPOINT = "load"
FUNCTION = "load"
BUCKET = "load"
IMAGE = "000000000000.dkr.ecr.us-east-1.amazonaws.com/bench-model:1"
BODY = json.dumps({"instances": [{"in0": [789], "in1": [286]}]}).encode()
OBJECT = b"o" * 1024
SLOW_UPLOAD = 1 << 20


class ConstantModel:
    """The model server of the benchmark: a fixed rating, so the model costs nothing measurable."""

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        count = len(json.loads(body)["instances"])
        return json.dumps({"predictions": [{"scores": [3.5]}] * count}).encode(), "application/json"


def load_constant_model(artifact: Path, threads: int) -> ConstantModel:
    return ConstantModel()


def make_config(state_dir: Path) -> CloudConfig:
    return replace(
        cloud_on_free_ports(state_dir),
        lambda_max_concurrency=CLIENTS,
        model_servers=("*/bench-model:*=benchmarks.bench_load:load_constant_model",),
    )


def clients(config: CloudConfig) -> dict[str, Any]:
    keys = env_vars(config)
    session = boto3.session.Session(
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        region_name=config.region,
    )
    retries = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60, max_pool_connections=4)
    return {
        "s3": session.client("s3", endpoint_url=config.url("s3"), config=retries),
        "sagemaker": session.client("sagemaker", endpoint_url=config.url("sagemaker"), config=retries),
        "runtime": session.client("sagemaker-runtime", endpoint_url=config.url("sagemaker"), config=retries),
        "lambda": session.client("lambda", endpoint_url=config.url("lambda"), config=retries),
    }


def provision(config: CloudConfig) -> None:
    c = clients(config)
    c["s3"].create_bucket(Bucket=BUCKET)
    artifact = io.BytesIO()
    with tarfile.open(fileobj=artifact, mode="w:gz"):
        pass
    c["s3"].put_object(Bucket=BUCKET, Key="model.tar.gz", Body=artifact.getvalue())
    for n in range(100):
        c["s3"].put_object(Bucket=BUCKET, Key=f"objects/{n}", Body=OBJECT)
    c["sagemaker"].create_model(
        ModelName=ENDPOINT,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/bench",
    )
    c["sagemaker"].create_endpoint_config(
        EndpointConfigName=ENDPOINT,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": ENDPOINT, "InitialInstanceCount": 1}],
    )
    c["sagemaker"].create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=ENDPOINT)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'pairs': len(event)}\n")
    c["lambda"].create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/bench",
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )
    deadline = time.monotonic() + 60
    while c["sagemaker"].describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] != "InService":
        if time.monotonic() > deadline:
            raise SystemExit("the benchmark endpoint did not come up")
        time.sleep(0.1)


class Run:
    """The shared state of the client threads: the next request number, the samples and the errors."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.next = 0
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
        self.errors: dict[str, list[str]] = {kind: [] for kind in KINDS}
        self.halfway = threading.Event()

    def take(self) -> int | None:
        with self.lock:
            if self.next >= self.total:
                return None
            self.next += 1
            if self.next == self.total // 2:
                self.halfway.set()
            return self.next - 1


def client_thread(config: CloudConfig, run: Run, c: dict[str, Any], ready: threading.Barrier) -> None:
    calls = {
        "invoke_endpoint": lambda n: (
            c["runtime"]
            .invoke_endpoint(EndpointName=ENDPOINT, Body=BODY, ContentType="application/json")["Body"]
            .read()
        ),
        "lambda_invoke": lambda n: c["lambda"].invoke(FunctionName=FUNCTION, Payload=b'{"a": 1}'),
        "s3_get": lambda n: c["s3"].get_object(Bucket=BUCKET, Key=f"objects/{n % 100}")["Body"].read(),
        "s3_put": lambda n: c["s3"].put_object(Bucket=BUCKET, Key=f"objects/{n % 100}", Body=OBJECT),
    }
    for n in range(len(KINDS)):  # warm: connections open, models loaded (not measured)
        calls[KINDS[n]](n)
    ready.wait()
    while (n := run.take()) is not None:
        kind = KINDS[n % len(KINDS)]
        started = time.perf_counter()
        try:
            answer = calls[kind](n)
            if kind == "lambda_invoke" and answer.get("FunctionError"):
                error = json.loads(answer["Payload"].read()).get("errorType", "FunctionError")
                run.errors[kind].append(error)
        except Exception as exc:  # counted, not fatal: the report says what failed
            run.errors[kind].append(type(exc).__name__)
        run.samples[kind].append((time.perf_counter() - started) * 1000)


def lambda_workers(cloud_pid: int) -> list[int]:
    """The cloud's Lambda worker processes (bootstrap.py children)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == cloud_pid and b"bootstrap.py" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
    return pids


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    with contextlib.suppress(OSError, IndexError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def slow_upload(config: CloudConfig, outcome: dict[str, Any]) -> None:
    """A 1 MiB PUT dribbled over ~5 s on a raw connection, signed like any other."""
    keys = load_credentials(config)
    assert keys is not None
    body = b"s" * SLOW_UPLOAD
    request = AWSRequest("PUT", f"{config.url('s3')}/{BUCKET}/slow.bin", data=body)
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    SigV4Auth(Credentials(keys.access_key_id, keys.secret_access_key), "s3", config.region).add_auth(request)
    head = f"PUT /{BUCKET}/slow.bin HTTP/1.1\r\nHost: 127.0.0.1:{config.s3_port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", config.s3_port), timeout=30) as sock:
        sock.sendall(head.encode())
        for offset in range(0, len(body), 1 << 15):
            sock.sendall(body[offset : offset + (1 << 15)])
            time.sleep(5 / (len(body) >> 15))
        outcome["status_line"] = sock.recv(100).split(b"\r\n", 1)[0].decode()
    outcome["seconds"] = round(time.perf_counter() - started, 2)


def chaos(config: CloudConfig, cloud_pid: int, run: Run, outcome: dict[str, Any]) -> None:
    run.halfway.wait()
    uploader = threading.Thread(target=slow_upload, args=(config, outcome["slow_upload"]))
    uploader.start()
    workers = lambda_workers(cloud_pid)
    if workers:
        os.kill(workers[0], signal.SIGKILL)
        outcome["killed_worker"] = {"pid": workers[0], "workers_then": len(workers)}
    uploader.join()


def memory_sampler(cloud_pid: int, stop_event: threading.Event, peak: dict[str, int]) -> None:
    while not stop_event.wait(0.2):
        workers = sum(rss_kb(pid) for pid in lambda_workers(cloud_pid))
        peak["workers_kb"] = max(peak["workers_kb"], workers)
    peak["server_kb"] = rss_kb(cloud_pid, "VmHWM")


def signature_cost(config: CloudConfig, iterations: int) -> dict[str, dict[str, float]]:
    """The local cloud's gate (admit + verify) on requests signed as the clients sign them."""
    keys = load_credentials(config)
    assert keys is not None
    credentials = Credentials(keys.access_key_id, keys.secret_access_key)
    cases = {
        "invoke_endpoint": ("sagemaker", "POST", f"/endpoints/{ENDPOINT}/invocations", BODY),
        "lambda_invoke": ("lambda", "POST", f"/2015-03-31/functions/{FUNCTION}/invocations", b'{"a": 1}'),
        "s3_get": ("s3", "GET", f"/{BUCKET}/objects/1", b""),
        "s3_put": ("s3", "PUT", f"/{BUCKET}/objects/1", OBJECT),
    }
    results = {}
    for kind, (service, method, path, body) in cases.items():
        port = config.port(service)
        request = AWSRequest(method, f"http://127.0.0.1:{port}{path}", data=body)
        if service == "s3":
            request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        SigV4Auth(credentials, service, config.region).add_auth(request)
        headers = Message()
        headers["Host"] = f"127.0.0.1:{port}"
        for name, value in request.headers.items():
            headers[name] = value if isinstance(value, str) else value.decode()
        gate = StackGate(service, port, keys)
        samples = []
        for _ in range(iterations):
            started = time.perf_counter()
            assert gate.admit(method, path, headers) is None
            assert gate.verify(method, path, headers, body) is None
            samples.append((time.perf_counter() - started) * 1e6)
        results[kind] = {
            "p50_us": round(float(np.percentile(samples, 50)), 1),
            "p99_us": round(float(np.percentile(samples, 99)), 1),
        }
    return results


def measure(total: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        config = make_config(Path(tmp) / "state")
        with mock.patch.dict(os.environ, PYTHONPATH=str(REPO)):
            cloud_pid = start(config, timeout=120).pid
        assert cloud_pid is not None
        try:
            provision(config)
            run = Run(total)
            outcome: dict[str, Any] = {"slow_upload": {}, "killed_worker": None}
            peak = {"workers_kb": 0, "server_kb": 0}
            stop_event = threading.Event()
            sampler = threading.Thread(target=memory_sampler, args=(cloud_pid, stop_event, peak))
            sampler.start()
            chaos_thread = threading.Thread(target=chaos, args=(config, cloud_pid, run, outcome))
            chaos_thread.start()
            ready = threading.Barrier(CLIENTS + 1)
            threads = [
                threading.Thread(target=client_thread, args=(config, run, clients(config), ready))
                for _ in range(CLIENTS)
            ]
            for thread in threads:
                thread.start()
            ready.wait()  # every client built and warm: the clock starts now
            started = time.perf_counter()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            chaos_thread.join()
            stop_event.set()
            sampler.join()
            cost = signature_cost(config, 2000)
        finally:
            stop(config, purge=True)
    kinds = {}
    for kind in KINDS:
        stats = percentiles(run.samples[kind])
        stats["errors"] = len(run.errors[kind])
        stats["error_types"] = sorted(set(run.errors[kind]))
        stats["signature_check_p50_ms"] = round(cost[kind]["p50_us"] / 1000, 4)
        stats["p50_without_signature_check_ms"] = round(stats["p50_ms"] - stats["signature_check_p50_ms"], 3)
        kinds[kind] = stats
    completed = sum(len(s) for s in run.samples.values())
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "clients": CLIENTS,
        "requests": completed,
        "seconds": round(elapsed, 2),
        "throughput_rps": round(completed / elapsed, 1),
        "kinds": kinds,
        "errors_total": sum(k["errors"] for k in kinds.values()),
        "killed_worker": outcome["killed_worker"],
        "slow_upload": outcome["slow_upload"],
        "peak_memory_mb": {
            "server": round(peak["server_kb"] / 1024, 1),
            "lambda_workers_total": round(peak["workers_kb"] / 1024, 1),
        },
        "signature_check_us": cost,
        "machine": machine(),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Load benchmark (`make bench-load`)",
        "",
        f"{report['requests']} signed requests from {report['clients']} concurrent boto3 clients in "
        f"{report['seconds']} s: **{report['throughput_rps']} requests/s**; errors: "
        f"**{report['errors_total']}**. Run {report['when']}.",
        "",
        "| kind | requests | p50 | p99 | errors | signature check p50 | p50 without it |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, s in report["kinds"].items():
        errors = f"{s['errors']}" + (f" ({', '.join(s['error_types'])})" if s["error_types"] else "")
        lines.append(
            f"| {kind} | {s['n']} | {s['p50_ms']:.2f} ms | {s['p99_ms']:.2f} ms | {errors} | "
            f"{s['signature_check_p50_ms'] * 1000:.0f} µs | {s['p50_without_signature_check_ms']:.2f} ms |"
        )
    killed = report["killed_worker"]
    slow = report["slow_upload"]
    lines += [
        "",
        f"- Half-way: Lambda worker pid {killed['pid'] if killed else '-'} killed with SIGKILL "
        f"({killed['workers_then'] if killed else 0} workers then); a 1 MiB S3 upload dribbled over "
        f"{slow.get('seconds')} s answered `{slow.get('status_line')}` while the other writes went on.",
        f"- Peak memory: local cloud server {report['peak_memory_mb']['server']} MB (VmHWM); its Lambda "
        f"workers together {report['peak_memory_mb']['lambda_workers_total']} MB at most.",
        "- Signature check: the local cloud's gate (Origin/Host, then SigV4: canonical request, HMAC chain "
        "with a cached signing key, SHA-256 of the body) timed in-process, 2,000 times per kind, on "
        'requests signed exactly as the clients sign them; "p50 without it" is the end-to-end p50 minus '
        "that cost.",
        "",
        describe(report["machine"]),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    report = measure(args.requests)
    paths = write_report("load", report, markdown(report))
    print(markdown(report))
    print("written:", *paths)


if __name__ == "__main__":
    main()
