"""Send every event in events/ to its Lambda function with `lambda.invoke`, and tabulate the answers.

Events live in `events/<function folder>/<name>.json`; the folder names the function (see
`FunctionSpec.events_folder`). `${BUCKET_NAME}` in an event is replaced with the stack's bucket.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobs.movielens.errors import clip
from jobs.paths import EVENTS_DIR
from jobs.stack.errors import StackError, error_code
from jobs.stack.names import FunctionSpec, Stack

SUMMARY_WIDTH = 110


@dataclass(frozen=True)
class EventResult:
    function: str
    event: str
    status: int | None  # the answer's statusCode; None when the invocation itself failed
    function_error: str | None
    milliseconds: float
    summary: str

    @property
    def ok(self) -> bool:
        return self.function_error is None and self.status is not None and 200 <= self.status < 300


def load_events(stack: Stack, events_dir: Path = EVENTS_DIR) -> list[tuple[FunctionSpec, Path, bytes]]:
    events = []
    for function in stack.functions:
        for path in sorted((events_dir / function.events_folder).glob("*.json")):
            text = path.read_text().replace("${BUCKET_NAME}", stack.bucket)
            try:
                json.loads(text)
            except ValueError as err:
                raise StackError(f"{path}: not valid JSON: {err}") from None
            events.append((function, path, text.encode()))
    if not events:
        raise StackError(f"no event files under {events_dir}/<function>/*.json")
    return events


def send(lambda_client: Any, function: FunctionSpec, path: Path, payload: bytes) -> EventResult:
    started = time.perf_counter()
    try:
        response = lambda_client.invoke(
            FunctionName=function.name, InvocationType="RequestResponse", Payload=payload
        )
    except (ClientError, BotoCoreError) as err:  # one failed call is one failed row, not a lost table
        elapsed = (time.perf_counter() - started) * 1000
        code = error_code(err) if isinstance(err, ClientError) else type(err).__name__
        return EventResult(function.name, path.name, None, code, elapsed, f"{code}: {err}")
    elapsed = (time.perf_counter() - started) * 1000
    answer = json.loads(response["Payload"].read() or b"null")
    error = response.get("FunctionError")
    if error:
        message = answer.get("errorMessage", "") if isinstance(answer, dict) else str(answer)
        return EventResult(function.name, path.name, None, error, elapsed, f"{error}: {message}")
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    body = json.loads(answer["body"]) if isinstance(answer, dict) and "body" in answer else answer
    return EventResult(function.name, path.name, status, None, elapsed, summarize(body))


def send_all(lambda_client: Any, stack: Stack, events_dir: Path = EVENTS_DIR) -> list[EventResult]:
    return [
        send(lambda_client, function, path, payload)
        for function, path, payload in load_events(stack, events_dir)
    ]


def summarize(body: Any) -> str:
    """One line that shows the answer itself, not just that there was one."""
    if not isinstance(body, dict):
        return repr(body)
    if "error" in body:
        return f"{body['error']}: {body.get('message', '')}"
    if "neighbours" in body:
        near = ", ".join(f"{n['title']} ({n['distance']:.3f})" for n in body["neighbours"][:3])
        return f"{body['title']} -> {near}"
    if "recommendations" in body:
        return f"user {body['user_id']}: " + ", ".join(r["title"] for r in body["recommendations"])
    if body.get("type") == "rating":
        return "; ".join(f"{p['user_id']}x{p['title']}: {p['rating']:.2f}" for p in body["predictions"])
    if body.get("type") == "recommendation":
        return "; ".join(
            f"{p['user_id']}x{p['title']}: {'yes' if p['recommend'] else 'no'} ({p['probability']:.2f})"
            for p in body["predictions"]
        )
    return json.dumps(body)


def format_table(results: list[EventResult]) -> str:
    rows = [("function", "event", "status", "ms", "answer")]
    for r in results:
        status = str(r.status) if r.status is not None else (r.function_error or "-")
        rows.append((r.function, r.event, status, f"{r.milliseconds:.0f}", clip(r.summary, SUMMARY_WIDTH)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    return "\n".join([lines[0], "-" * min(len(lines[0]) + 40, 160), *lines[1:]])
