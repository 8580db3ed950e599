"""The HTTP layer shared by our SageMaker and Lambda services: routing, request parsing, and the ONE
place where responses and AWS errors are serialized.

Why the stdlib server and not werkzeug/flask: an InvokeEndpoint for one rating pair must answer in
about a millisecond over loopback, so the layer stays thin. HTTP/1.1 keep-alive (botocore reuses its
connections) and TCP_NODELAY plus a single write per response avoid the Nagle/delayed-ACK stall.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import socketserver
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("localcloud")

# Larger bodies are never read into memory: the connection is answered and closed instead.
HARD_BODY_LIMIT = 128 * 1024 * 1024
# A chunk-size line (hex size plus extensions) longer than this is not HTTP.
MAX_CHUNK_LINE = 4096
HEALTH_PATH = "/_localcloud/health"


class MalformedBody(Exception):
    """A chunked body whose framing is broken; the message is the one-line answer."""


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


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record's wire shape: our own "_" keys and unset members never leave the process."""
    return {k: v for k, v in record.items() if not k.startswith("_") and v is not None}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def query_one(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            value = json.loads(self.body)
        except ValueError as exc:
            raise AwsError("SerializationException", f"Request body is not valid JSON: {exc}") from exc
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
    max_body: int = HARD_BODY_LIMIT
    # What to answer when the body is over max_body (the caller builds the AWS-specific error).
    too_large: Callable[[int], AwsError] | None = None
    # awsJson protocol (errors carry "__type") rather than rest-json.
    aws_json: bool = False


def route(
    method: str,
    pattern: str,
    handler: Handler,
    *,
    max_body: int = HARD_BODY_LIMIT,
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


class AwsHTTPServer(ThreadingHTTPServer):
    """One service on one port: a route table, a health route, and one error serializer."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listener: socket.socket, name: str, routes: list[Route], state_dir: str) -> None:
        """Serve on an already bound and listening socket (so binding errors surface before any work).
        `state_dir` is reported on the health route: it tells two local clouds apart."""
        self.service_name = name
        self.routes = routes
        self.state_dir = state_dir
        self.ready = threading.Event()
        super().__init__(listener.getsockname(), AwsRequestHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is routine; anything else is logged, never fatal."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        log.exception("%s: error while serving %s", self.service_name, client_address)

    def health(self) -> Response:
        return health_response(self.service_name, self.ready.is_set(), self.state_dir)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for r in self.routes:
            if r.method != method:
                continue
            match = r.pattern.fullmatch(path)
            if match:
                return r, {k: unquote(v) for k, v in match.groupdict().items()}
        return None


class AwsRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: AwsHTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Access logging would cost more than the request itself; errors are logged where raised."""

    def _handle(self) -> None:
        request_id = str(uuid.uuid4())
        split = urlsplit(self.path)
        path = split.path
        if path == HEALTH_PATH:
            self._send(self.server.health(), request_id)
            return
        found = self.server.find(self.command, path)
        chunks = self._chunks() if self._chunked() else None
        # Transfer-Encoding overrides Content-Length (RFC 9112 6.3): a chunked body is counted as it comes.
        length = 0 if chunks is not None else int(self.headers.get("Content-Length") or 0)
        if found is None:
            self._skip_body(chunks, length)
            error = AwsError("UnknownOperationException", f"No operation at {self.command} {path}", 404)
            self._send(error_response(error), request_id)
            return
        r, params = found
        body = self._body(r, chunks, length, request_id)
        if body is None:
            return
        request = Request(self.command, path, parse_qs(split.query), self.headers, body, params)
        self._send(self._dispatch(r, request), request_id)

    def _dispatch(self, r: Route, request: Request) -> Response:
        try:
            return r.handler(request)
        except AwsError as error:
            return error_response(error, aws_json=r.aws_json)
        except Exception as exc:  # a bug in a backend must not kill the connection thread
            log.exception("%s %s failed", request.method, request.path)
            error = AwsError("InternalFailure", f"{type(exc).__name__}: {exc}", 500)
            return error_response(error, aws_json=r.aws_json)

    def _chunked(self) -> bool:
        codings = self.headers.get("Transfer-Encoding", "")
        return codings.rsplit(",", 1)[-1].strip().lower() == "chunked"

    def _body(self, r: Route, chunks: Iterator[bytes] | None, length: int, request_id: str) -> bytes | None:
        """The request body, or None once an oversize or malformed one has been answered."""
        try:
            body, size = self._read_body(chunks, length, r.max_body)
        except MalformedBody as exc:
            self.close_connection = True  # the framing is lost: nothing after this can be parsed
            error = AwsError("SerializationException", str(exc))
            self._send(error_response(error, aws_json=r.aws_json), request_id)
            return None
        if size > r.max_body:
            self._refuse_body(r, size, chunks, request_id)
            return None
        return body

    def _read_body(self, chunks: Iterator[bytes] | None, length: int, limit: int) -> tuple[bytes, int]:
        """The body and its size; past `limit` bytes reading stops and the body is b"" (size > limit)."""
        if chunks is None:
            if length > limit:
                return b"", length
            return (self.rfile.read(length) if length else b""), length
        kept: list[bytes] = []
        size = 0
        for piece in chunks:
            size += len(piece)
            if size > limit:
                return b"", size
            kept.append(piece)
        return b"".join(kept), size

    def _chunks(self) -> Iterator[bytes]:
        """The data of a chunked body in pieces of at most 1 MB, trailer consumed; raises MalformedBody."""
        while True:
            line = self.rfile.readline(MAX_CHUNK_LINE)
            size_field = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not re.fullmatch(rb"[0-9A-Fa-f]{1,15}", size_field):
                shown = line.strip()[:40].decode("latin-1")
                raise MalformedBody(f"Malformed chunked request body: bad chunk size line {shown!r}")
            remaining = int(size_field, 16)
            if remaining == 0:
                while self.rfile.readline(MAX_CHUNK_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields: none of our operations reads them
                return
            while remaining:
                piece = self.rfile.read(min(remaining, 1 << 20))
                if not piece:
                    raise MalformedBody("Malformed chunked request body: the connection closed mid-chunk")
                remaining -= len(piece)
                yield piece
            if self.rfile.readline(MAX_CHUNK_LINE) not in (b"\r\n", b"\n"):
                raise MalformedBody("Malformed chunked request body: no line break after a chunk")

    def _drain(self, chunks: Iterator[bytes], size: int) -> bool:
        """Read and drop the rest of a chunked body, up to HARD_BODY_LIMIT in all; True if it all came."""
        try:
            for piece in chunks:
                size += len(piece)
                if size > HARD_BODY_LIMIT:
                    return False
        except (MalformedBody, OSError):
            return False
        return True

    def _skip_body(self, chunks: Iterator[bytes] | None, length: int) -> None:
        if chunks is None:
            self._discard_body(length)
        elif not self._drain(chunks, 0):
            self.close_connection = True

    def _discard_body(self, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _refuse_body(self, r: Route, size: int, chunks: Iterator[bytes] | None, request_id: str) -> None:
        """Answer an oversize request like AWS; the client must still be able to read the answer."""
        error = r.too_large(size) if r.too_large else AwsError("RequestEntityTooLarge", "Too large", 413)
        response = error_response(error, aws_json=r.aws_json)
        if chunks is not None:
            # Answer at once (a client reading early stops sending), then drop what is still coming:
            # closing on unread data would reset the connection before the client read the answer.
            self.close_connection = True
            self._send(response, request_id)
            self._drain(chunks, size)
            return
        if size <= HARD_BODY_LIMIT:
            self._discard_body(size)
        else:
            self.close_connection = True
        self._send(response, request_id)

    def _send(self, response: Response, request_id: str) -> None:
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:  # e.g. SageMaker's 530: no standard reason phrase
            phrase = "Error"
        lines = [f"HTTP/1.1 {response.status} {phrase}"]
        headers = {"x-amzn-RequestId": request_id, "Date": formatdate(usegmt=True), **response.headers}
        body = b"" if self.command == "HEAD" else response.body
        headers["Content-Length"] = str(len(response.body))
        if self.close_connection:
            headers["Connection"] = "close"
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
        self.wfile.write(head + body)  # one write: no Nagle/delayed-ACK stall between head and body


def serve_in_thread(server: socketserver.BaseServer, service: str) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name=f"{service}-http", daemon=True)
    thread.start()
    return thread
