"""Serving benchmark (`make bench-serving`): the local stack's latency, throughput and memory.

It builds a throw-away stack (its own local cloud on free ports, the real training profiles), then
measures on loopback:
- InvokeEndpoint for one rating pair: raw HTTP (keep-alive) and through boto3, then 16 concurrent
  raw-HTTP clients for throughput;
- similar movies through `lambda.invoke` on a warm container, against the workshop's algorithm
  (benchmarks/workshop_retrieval/) deployed on the same local cloud and called the same way;
- the retrieval worker's peak memory, from the Lambda REPORT line ("Max Memory Used").
Results go to benchmarks/results/serving.{json,md,png}; the stack is destroyed afterwards.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import io
import json
import re
import socket
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import RESULTS, describe, machine, write_report
from jobs.backends.local import LocalBackend
from jobs.stack import lifecycle
from jobs.stack.clients import Clients
from jobs.stack.names import Stack
from localcloud import CloudConfig

HERE = Path(__file__).resolve().parent
WORKSHOP_FUNCTION = "Workshop_Movie_Retrieval"
RATING_BODY = json.dumps({"instances": [{"in0": [789], "in1": [286]}]}).encode()
RETRIEVAL_EVENT = {"movie_id": 195, "k": 10}
TARGETS = {
    "endpoint_p50_ms": 2.0,
    "endpoint_p99_ms": 10.0,
    "retrieval_p50_ms": 20.0,
    "speedup": 100.0,
    "memory_mb": 256,
}
_MEMORY = re.compile(r"Max Memory Used: (\d+) MB")


def cloud_on_free_ports(state_dir: Path) -> CloudConfig:
    """A local cloud of its own, so the benchmark never touches the user's stack."""
    sockets = [socket.socket() for _ in range(3)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    s3, sagemaker, lambda_ = (sock.getsockname()[1] for sock in sockets)
    for sock in sockets:
        sock.close()
    return CloudConfig.from_env(
        {}, state_dir=state_dir, s3_port=s3, sagemaker_port=sagemaker, lambda_port=lambda_
    )


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms)
    return {
        "n": len(values),
        "p50_ms": round(float(np.percentile(values, 50)), 3),
        "p90_ms": round(float(np.percentile(values, 90)), 3),
        "p99_ms": round(float(np.percentile(values, 99)), 3),
        "mean_ms": round(float(values.mean()), 3),
    }


def timed(call: Callable[[], Any], count: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def raw_post(
    connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]
) -> bytes:
    connection.request("POST", path, body, headers)
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"POST {path} answered {response.status}: {payload[:200]!r}")
    return payload


def endpoint_latency(cloud: CloudConfig, clients: Clients, endpoint: str, count: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", cloud.sagemaker_port)
    path, headers = f"/endpoints/{endpoint}/invocations", {"Content-Type": "application/json"}
    raw = timed(lambda: raw_post(connection, path, RATING_BODY, headers), count, warmup=200)
    connection.close()

    def via_boto3() -> None:
        clients.runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="application/json", Body=RATING_BODY
        )

    boto = timed(via_boto3, count, warmup=50)
    return {
        "raw_http": percentiles(raw),
        "boto3": percentiles(boto),
        "samples_raw_ms": raw,
        "samples_boto3_ms": boto,
    }


def endpoint_throughput(
    cloud: CloudConfig, endpoint: str, clients_count: int, per_client: int
) -> dict[str, Any]:
    """`clients_count` threads, each with its own keep-alive connection, `per_client` requests each."""
    path, headers = f"/endpoints/{endpoint}/invocations", {"Content-Type": "application/json"}
    latencies: list[list[float]] = [[] for _ in range(clients_count)]
    barrier = threading.Barrier(clients_count + 1)

    def client(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", cloud.sagemaker_port)
        raw_post(connection, path, RATING_BODY, headers)  # connect before the clock starts
        barrier.wait()
        latencies[slot] = timed(
            lambda: raw_post(connection, path, RATING_BODY, headers), per_client, warmup=0
        )
        connection.close()

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients_count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    merged = [sample for samples in latencies for sample in samples]
    return {
        "clients": clients_count,
        "requests": len(merged),
        "seconds": round(seconds, 3),
        "requests_per_second": round(len(merged) / seconds, 1),
        **percentiles(merged),
    }


def invoke_function(clients: Clients, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    response = clients.lambda_.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    if response.get("FunctionError"):
        raise RuntimeError(f"{name} failed: {response['Payload'].read()[:300]!r}")
    answer = json.loads(response["Payload"].read())
    return answer, base64.b64decode(response["LogResult"]).decode()


def deploy_workshop_function(clients: Clients, stack: Stack, workdir: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(HERE / "workshop_retrieval" / "lambda_function.py", "lambda_function.py")
    clients.lambda_.create_function(
        FunctionName=WORKSHOP_FUNCTION,
        Runtime="python3.12",
        # the stack's own functions' role, so both run alike
        Role=clients.lambda_.get_function_configuration(FunctionName=stack.retrieval_function.name)["Role"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=30,
        MemorySize=512,  # the workshop's sizing
        Environment={"Variables": {"ENDPOINT_NAME": stack.retrieval_endpoint, "WORKDIR": str(workdir)}},
    )


def retrieval_comparison(clients: Clients, stack: Stack, count: int, workshop_count: int) -> dict[str, Any]:
    ours_name = stack.retrieval_function.name
    memory = []

    def ours() -> None:
        answer, logs = invoke_function(clients, ours_name, RETRIEVAL_EVENT)
        assert answer["statusCode"] == 200, answer
        memory.extend(int(m) for m in _MEMORY.findall(logs))

    ours_samples = timed(ours, count, warmup=20)
    workshop_event = {"bucket_name": stack.bucket, "movie_id_to_examine": RETRIEVAL_EVENT["movie_id"]}
    workshop_samples = timed(
        lambda: invoke_function(clients, WORKSHOP_FUNCTION, workshop_event), workshop_count, 2
    )
    ours_answer, _ = invoke_function(clients, ours_name, {**RETRIEVAL_EVENT, "metric": "euclidean"})
    workshop_answer, _ = invoke_function(clients, WORKSHOP_FUNCTION, workshop_event)
    ours_nearest = json.loads(ours_answer["body"])["neighbours"][0]["movie_id"]
    workshop_nearest = json.loads(workshop_answer["body"])["nearest"]
    ours_stats, workshop_stats = percentiles(ours_samples), percentiles(workshop_samples)
    return {
        "ours": ours_stats,
        "workshop": workshop_stats,
        "speedup_p50": round(workshop_stats["p50_ms"] / ours_stats["p50_ms"], 1),
        "same_nearest_movie": ours_nearest == workshop_nearest,
        "nearest_movie": {"ours": ours_nearest, "workshop": workshop_nearest},
        "retrieval_worker_peak_mb": max(memory),
        "samples_ours_ms": ours_samples,
        "samples_workshop_ms": workshop_samples,
    }


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {
        "InvokeEndpoint, raw HTTP": report["endpoint"]["samples_raw_ms"],
        "InvokeEndpoint, boto3": report["endpoint"]["samples_boto3_ms"],
        "similar movies, lambda.invoke (ours)": report["retrieval"]["samples_ours_ms"],
        "similar movies, lambda.invoke (workshop algorithm)": report["retrieval"]["samples_workshop_ms"],
    }
    figure, axis = plt.subplots(figsize=(9, 4.5))
    for label, samples in series.items():
        values = np.sort(np.asarray(samples))
        axis.plot(
            values,
            np.arange(1, len(values) + 1) / len(values),
            label=f"{label} (p50 {np.median(values):.2f} ms)",
        )
    axis.set_xscale("log")
    axis.set_xlabel("latency (ms, log scale)")
    axis.set_ylabel("fraction of requests")
    axis.set_title("Local stack latency on loopback (cumulative)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def verdicts(report: dict[str, Any]) -> dict[str, bool]:
    endpoint, retrieval = report["endpoint"]["raw_http"], report["retrieval"]
    return {
        "endpoint_p50_ms": endpoint["p50_ms"] <= TARGETS["endpoint_p50_ms"],
        "endpoint_p99_ms": endpoint["p99_ms"] <= TARGETS["endpoint_p99_ms"],
        "retrieval_p50_ms": retrieval["ours"]["p50_ms"] <= TARGETS["retrieval_p50_ms"],
        "speedup": retrieval["speedup_p50"] >= TARGETS["speedup"],
        "memory_mb": retrieval["retrieval_worker_peak_mb"] <= TARGETS["memory_mb"],
    }


def _row(label: str, stats: dict[str, float], note: str, digits: int = 2) -> str:
    cells = " | ".join(f"{stats[key]:.{digits}f} ms" for key in ("p50_ms", "p90_ms", "p99_ms"))
    return f"| {label} ({stats['n']} calls) | {cells} | {note} |"


def markdown(report: dict[str, Any]) -> str:
    endpoint, boto, load = report["endpoint"]["raw_http"], report["endpoint"]["boto3"], report["throughput"]
    retrieval, met = report["retrieval"], report["targets_met"]
    ours, workshop = retrieval["ours"], retrieval["workshop"]

    def mark(key: str) -> str:
        return "met" if met[key] else "**missed**"

    memory, nearest = retrieval["retrieval_worker_peak_mb"], retrieval["nearest_movie"]
    target = {key: f"{value:g}" for key, value in TARGETS.items()}  # as the report prints them
    return "\n".join(
        [
            "# Serving benchmark",
            "",
            f"Local stack on loopback, {report['date']}; models trained with the stack's profiles.",
            "",
            "| measurement | p50 | p90 | p99 | target / note |",
            "|---|---|---|---|---|",
            _row(
                "InvokeEndpoint, one rating pair, raw HTTP keep-alive",
                endpoint,
                f"p50 ≤ {target['endpoint_p50_ms']} ms ({mark('endpoint_p50_ms')}), "
                f"p99 ≤ {target['endpoint_p99_ms']} ms ({mark('endpoint_p99_ms')})",
            ),
            _row(
                "InvokeEndpoint through boto3",
                boto,
                f"boto3 adds {boto['p50_ms'] - endpoint['p50_ms']:.2f} ms",
            ),
            _row(
                f"InvokeEndpoint, {load['clients']} concurrent raw-HTTP clients",
                load,
                f"**{load['requests_per_second']:.0f} requests/s**",
            ),
            _row(
                "similar movies, `lambda.invoke`, warm",
                ours,
                f"p50 ≤ {target['retrieval_p50_ms']} ms ({mark('retrieval_p50_ms')})",
            ),
            _row(
                "the workshop's algorithm, same call",
                workshop,
                f"ours is **{retrieval['speedup_p50']:.0f}× faster** at p50 "
                f"(≥ {target['speedup']}×: {mark('speedup')})",
                digits=1,
            ),
            "",
            f'Peak memory of the warm retrieval worker (Lambda\'s "Max Memory Used"): **{memory} MB** '
            f"(≤ {target['memory_mb']} MB: {mark('memory_mb')}; the workshop sized that function at 512 MB).",
            f"Both algorithms name the same nearest movie to 195: {retrieval['same_nearest_movie']} "
            f"(ours {nearest['ours']}, workshop {nearest['workshop']}).",
            "",
            describe(report["machine"]),
            "",
            "Reproduce with `make bench-serving`; the latency distributions are in `serving.png`.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=2000, help="sequential endpoint calls per client kind"
    )
    parser.add_argument("--lambda-requests", type=int, default=300, help="warm retrieval invocations")
    parser.add_argument(
        "--workshop-requests", type=int, default=20, help="invocations of the workshop algorithm"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients for throughput")
    args = parser.parse_args()
    report: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": machine(), "targets": TARGETS}
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        work = Path(scratch)
        cloud = cloud_on_free_ports(work / "state")
        stack = Stack(bucket="bench-serving")
        backend = LocalBackend(stack, cloud)
        try:
            lifecycle.apply(backend, log=print)
            lifecycle.train(backend, channels_dir=work / "channels", log=print)
            clients = lifecycle.connect(backend)
            deploy_workshop_function(clients, stack, work)
            rating = stack.rating.endpoint
            report["endpoint"] = endpoint_latency(cloud, clients, rating, args.requests)
            print(f"endpoint: {report['endpoint']['raw_http']}")
            report["throughput"] = endpoint_throughput(
                cloud, rating, args.concurrency, max(50, args.requests // args.concurrency)
            )
            print(f"throughput: {report['throughput']}")
            report["retrieval"] = retrieval_comparison(
                clients, stack, args.lambda_requests, args.workshop_requests
            )
            print(
                f"retrieval: ours {report['retrieval']['ours']}, workshop {report['retrieval']['workshop']}"
            )
        finally:
            lifecycle.destroy(backend, log=print)
    report["targets_met"] = verdicts(report)
    plot(report, RESULTS / "serving.png")
    json_path, md_path = write_report("serving", report, markdown(report))
    print(f"wrote {json_path}, {md_path} and {RESULTS / 'serving.png'}")


if __name__ == "__main__":
    main()
