"""One invocation on one worker: the cold start, the call, and what Lambda answers and logs when the
handler raises, times out, crashes, or returns too much. Texts name their public source."""

from __future__ import annotations

import base64
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localcloud.awslambda.workers import Worker, WorkerExited, WorkerTimeout

MAX_SYNC_PAYLOAD = 6_291_456  # "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
MAX_ASYNC_PAYLOAD = 1_048_576  # API_Invoke: "For asynchronous invocations, the maximum payload size is 1 MB."
MAX_RESPONSE = 6_291_556  # "exceeded maximum allowed payload size (6291556 bytes)" (DataBiosphere/azul#7466)
TAIL_BYTES = 4096  # LogResult: "The last 4 KB of the execution log"
INIT_LIMIT_SECONDS = 10.0  # Lambda's limit for the init phase of an on-demand function


@dataclass
class Invocation:
    """One invocation's outcome and the pieces of its log (START … REPORT, as Lambda writes them)."""

    request_id: str
    function_arn: str
    memory_mb: int
    timeout: float
    client_context: dict | None = None
    cold: bool = False
    init_ms: float | None = None
    init_log: bytes = b""
    output: bytes = b""
    platform_log: str = ""
    duration_ms: float = 0.0
    maxrss_kb: int = 0
    payload: bytes = b""
    function_error: str | None = None
    report_status: str = ""

    def fail(self, error: dict[str, Any], *, platform: bool = False) -> None:
        """A function error: 200 with X-Amz-Function-Error: Unhandled and the error as payload."""
        self.payload, self.function_error = json.dumps(error).encode(), "Unhandled"
        if platform:  # errors of the runtime, not of the handler, are named in the REPORT line
            self.report_status = f"\tStatus: error\tError Type: {error['errorType']}"

    def log_text(self) -> str:
        rid = self.request_id
        report = (
            f"REPORT RequestId: {rid}\tDuration: {self.duration_ms:.2f} ms"
            f"\tBilled Duration: {self.billed_ms()} ms\tMemory Size: {self.memory_mb} MB"
            f"\tMax Memory Used: {math.ceil(self.maxrss_kb / 1024)} MB"
        )
        if self.init_ms is not None:
            report += f"\tInit Duration: {self.init_ms:.2f} ms"
        return (
            self.init_log.decode(errors="replace")
            + f"START RequestId: {rid} Version: $LATEST\n"
            + self.output.decode(errors="replace")
            + self.platform_log
            + f"END RequestId: {rid}\n"
            + f"{report}{self.report_status}\n"
        )

    def billed_ms(self) -> int:
        # Since August 2025 the init phase of on-demand functions is billed too.
        return math.ceil(self.duration_ms) + (math.ceil(self.init_ms) if self.init_ms is not None else 0)

    def tail(self) -> str:
        return base64.b64encode(self.log_text().encode()[-TAIL_BYTES:]).decode()


def run_on(worker: Worker, run: Invocation, event: bytes) -> bool:
    """Fill `run` from one invocation on `worker`; True if the worker may serve again."""
    offset = 0
    started = time.monotonic()
    try:
        if run.cold:
            header, body = worker.wait_ready(started + max(run.timeout, INIT_LIMIT_SECONDS))
            run.init_ms = (time.monotonic() - worker.started) * 1000  # interpreter start + handler import
            offset = worker.output_size()
            run.init_log = worker.output_since(0)[:offset]  # init output precedes START, as in CloudWatch
            if header["type"] == "init_error":
                run.fail(json.loads(body), platform=True)
                return False
            started = time.monotonic()
        else:
            offset = worker.output_size()
        request = {
            "request_id": run.request_id,
            "deadline_ms": int((time.time() + run.timeout) * 1000),
            "arn": run.function_arn,
            "client_context": run.client_context,
        }
        header, body = worker.invoke(request, event, started + run.timeout, MAX_RESPONSE)
    except WorkerTimeout:
        worker.terminate()
        _timed_out(run, worker.maxrss_kb)
        return False
    except WorkerExited as exc:
        _exited(run, exc)
        return False
    finally:
        run.duration_ms = (time.monotonic() - started) * 1000
        run.output = worker.output_since(offset)
    run.maxrss_kb = header["maxrss_kb"]
    if header["error"]:
        run.fail(json.loads(body))
    elif "oversize" in header:
        run.fail(
            {
                "errorMessage": f"Response payload size ({header['oversize']} bytes) exceeded maximum "
                f"allowed payload size ({MAX_RESPONSE} bytes).",
                "errorType": "Function.ResponseSizeTooLarge",
            },
            platform=True,
        )  # text: umihico/pythonista-chromeless#11
    else:
        run.payload = body
    return True


def _timed_out(run: Invocation, maxrss_kb: int) -> None:
    """Sandbox.Timedout, "Task timed out after 3.00 seconds" (Lambda's troubleshooting guide; log line as
    in alexa-samples/skill-sample-nodejs-smarthome-switch#18)."""
    seconds = f"{run.timeout:.2f}"
    run.fail(
        {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {run.request_id} Error: Task timed out after {seconds} seconds",
        }
    )
    run.maxrss_kb = maxrss_kb
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    run.platform_log = f"{stamp} {run.request_id} Task timed out after {seconds} seconds\n"
    run.report_status = "\tStatus: timeout"


def _exited(run: Invocation, exc: WorkerExited) -> None:
    """Runtime.ExitError, "Runtime exited with error: signal: killed" (doug-macleod/Pipe-1Dev#18)."""
    reason = (
        f"Runtime exited with error: {exc.reason}"
        if exc.reason
        else "Runtime exited without providing a reason"
    )
    run.fail(
        {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {run.request_id} Error: {reason}"},
        platform=True,
    )
    run.maxrss_kb = exc.maxrss_kb
    run.platform_log = f"RequestId: {run.request_id} Error: {reason}\nRuntime.ExitError\n"
