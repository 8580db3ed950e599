"""AWS wire types shared by our services: the request and response a backend sees, the route table
entry, and the ONE place where AWS errors and JSON answers are serialized. No sockets here: the HTTP/1.1
framing that produces a `Request` is `localcloud.httpserver`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

HEALTH_PATH = "/_localcloud/health"
# What a route reads unless it says otherwise: the control planes' JSON bodies are small.
DEFAULT_MAX_BODY = 1024 * 1024
# Deeper JSON is refused before it is parsed: no AWS shape nests this deep, and Python's parser would
# recurse once per level.
MAX_JSON_DEPTH = 64


class AwsError(Exception):
    """An error an AWS service returns: error code, message and HTTP status, plus extra body members.

    `message_key` is "message" or "Message" depending on the error shape in botocore's model;
    `error_type_header=False` reproduces the few AWS answers that carry no error code at all.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        fields: dict[str, Any] | None = None,
        message_key: str = "message",
        error_type_header: bool = True,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields or {}
        self.message_key = message_key
        self.error_type_header = error_type_header


def validation_message(shown: str, where: str, constraint: str) -> str:
    """AWS's text for one failed constraint; `shown` is the value as AWS shows it: quoted, or null."""
    return (
        f"1 validation error detected: Value {shown} at '{where}' failed to satisfy constraint: {constraint}"
    )


def pattern_constraint(pattern: str) -> str:
    return f"Member must satisfy regular expression pattern: {pattern}"


def shown(value: object, limit: int = 64) -> str:
    """A value as an error message may quote it: short, on one line (hostile input is never echoed whole)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[:limit] + "..."


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record's wire shape: our own "_" keys and unset members never leave the process."""
    return {k: v for k, v in record.items() if not k.startswith("_") and v is not None}


def parse_json(data: bytes) -> Any:
    """Strict JSON, as AWS's parsers read it: no NaN/Infinity, no nesting deeper than MAX_JSON_DEPTH;
    anything else is a SerializationException (never a 500)."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise AwsError(
            "SerializationException", f"Request body is not valid JSON: {shown(str(exc))}"
        ) from None
    if nesting(value) > MAX_JSON_DEPTH:
        raise AwsError("SerializationException", f"Request body nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def nesting(value: Any) -> int:
    """How deep lists and objects nest in `value` (iterative: a hostile value cannot recurse)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return deepest


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    target: str = ""  # the request-target as sent (percent-encoded path and query)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def query_one(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        value = parse_json(self.body)
        if not isinstance(value, dict):
            raise AwsError("SerializationException", "Request body must be a JSON object")
        return value


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    max_body: int = DEFAULT_MAX_BODY
    # What to answer when the body is over max_body (the caller builds the AWS-specific error).
    too_large: Callable[[int], AwsError] | None = None
    # awsJson protocol (errors carry "__type") rather than rest-json.
    aws_json: bool = False


def route(
    method: str,
    pattern: str,
    handler: Handler,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    too_large: Callable[[int], AwsError] | None = None,
    aws_json: bool = False,
) -> Route:
    return Route(method, re.compile(pattern), handler, max_body, too_large, aws_json)


def json_response(value: Any, status: int = 200, content_type: str = "application/json") -> Response:
    """Timestamps are already epoch seconds (or Lambda's date strings) in every record we answer with."""
    return Response(status, json.dumps(value).encode(), {"Content-Type": content_type})


def health_response(service: str, ready: bool, state_dir: str) -> Response:
    """What every service answers on HEALTH_PATH; `state_dir` tells two local clouds apart."""
    body = {"service": service, "pid": os.getpid(), "ready": ready, "state_dir": state_dir}
    return json_response(body, 200 if ready else 503)


def error_response(error: AwsError, *, aws_json: bool = False) -> Response:
    """Serialize an AWS error: `x-amzn-ErrorType` header and a JSON body (plus `__type` for awsJson)."""
    body: dict[str, Any] = {error.message_key: error.message, **error.fields}
    headers = {"Content-Type": "application/x-amz-json-1.1" if aws_json else "application/json"}
    if error.error_type_header:
        headers["x-amzn-ErrorType"] = error.code
        if aws_json:
            body = {"__type": error.code, **body}
    return Response(error.status, json.dumps(body).encode(), headers)
