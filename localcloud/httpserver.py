"""The ONE HTTP/1.1 framing layer of the local cloud: every service (S3 included) is served by it.

It owns what a hostile client can abuse: a bounded pool of worker threads (one connection at a time
each; when every worker is busy and the queue is full a connection gets 503 at once), a read timeout
on every socket read (a declared body that never comes frees its worker), strict `Content-Length`
(digits only, one value) and chunked framing, per-route body limits checked before anything is read,
and the gate (`localcloud.security`) that refuses foreign origins and unsigned requests before any
route sees them.

Why the stdlib server and not werkzeug/flask: an InvokeEndpoint for one rating pair must answer in
about a millisecond over loopback, so the layer stays thin. HTTP/1.1 keep-alive (botocore reuses its
connections) and TCP_NODELAY plus a single write per response avoid the Nagle/delayed-ACK stall.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from localcloud.awswire import HEALTH_PATH, AwsError, Request, Response, Route, health_response, shown

log = logging.getLogger("localcloud")

# A chunk-size line (hex size plus extensions) longer than this is not HTTP.
MAX_CHUNK_LINE = 4096
# Bodies of unknown routes and the unread rest of refused ones are drained up to this much, then the
# connection is closed instead.
MAX_DRAIN = 8 * 1024 * 1024
# ... and for a request the gate refused (its sender may not even have a key), much less.
REFUSED_DRAIN = 64 * 1024
_DIGITS = re.compile(r"[0-9]{1,18}")


class MalformedBody(Exception):
    """A body whose framing is broken; the message is the one-line answer."""


class Gate(Protocol):
    """Who may talk to a service: `admit` sees the head of a request, `verify` the whole of it."""

    def admit(self, method: str, target: str, headers: Any) -> AwsError | None: ...

    def verify(self, method: str, target: str, headers: Any, body: bytes) -> AwsError | None: ...


class OpenGate:
    """No checks (the server's own unit tests, and the health route of every service)."""

    def admit(self, method: str, target: str, headers: Any) -> AwsError | None:
        return None

    def verify(self, method: str, target: str, headers: Any, body: bytes) -> AwsError | None:
        return None


ErrorRenderer = Callable[[AwsError, "Route | None"], Response]


class AwsHTTPServer(HTTPServer):
    """One service on one port: a route table, a health route, a gate and one error serializer,
    served by `workers` threads."""

    def __init__(
        self,
        listener: socket.socket,
        name: str,
        routes: list[Route],
        state_dir: str,
        *,
        render_error: ErrorRenderer,
        gate: Gate | None = None,
        workers: int = 32,
        read_timeout: float = 30.0,
    ) -> None:
        """Serve on an already bound and listening socket (so binding errors surface before any work).
        `state_dir` is reported on the health route: it tells two local clouds apart."""
        self.service_name = name
        self.routes = routes
        self.state_dir = state_dir
        self.render_error = render_error
        self.gate = gate or OpenGate()
        self.read_timeout = read_timeout
        self.ready = threading.Event()
        super().__init__(listener.getsockname(), AwsRequestHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.server_name, self.server_port = listener.getsockname()[:2]
        # Connections wait here for a worker; beyond that they are refused, never queued without bound.
        self._connections: queue.Queue[tuple[socket.socket, Any] | None] = queue.Queue(maxsize=workers * 4)
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}-http-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._workers:
            thread.start()

    # -- the bounded pool ---------------------------------------------------------------------------

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            self._connections.put_nowait((request, client_address))
        except queue.Full:
            self._refuse_busy(request)

    def _work(self) -> None:
        while (item := self._connections.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def _refuse_busy(self, request: socket.socket) -> None:
        """Every worker busy and the queue full: answer 503 at once instead of growing."""
        error = AwsError("ServiceUnavailable", "The local cloud is too busy; retry later.", 503)
        response = self.render_error(error, None)
        head = [f"HTTP/1.1 503 {HTTPStatus(503).phrase}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        head.append(f"Content-Length: {len(response.body)}")
        with contextlib.suppress(OSError):
            request.settimeout(1.0)
            request.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
        self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        for _ in self._workers:
            with contextlib.suppress(queue.Full):
                self._connections.put_nowait(None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up or stalls is routine; anything else is logged, never fatal."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        log.exception("%s: error while serving %s", self.service_name, client_address)

    # -- routing ------------------------------------------------------------------------------------

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

    def setup(self) -> None:
        self.timeout = self.server.read_timeout  # every read of this connection, headers and body
        super().setup()

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

    def do_PATCH(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Access logging would cost more than the request itself; errors are logged where raised."""

    def _handle(self) -> None:
        request_id = str(uuid.uuid4())
        try:
            self._serve(request_id)
        except (TimeoutError, ConnectionError):
            self.close_connection = True  # a client that stalls or leaves mid-request: drop it

    def _serve(self, request_id: str) -> None:
        server = self.server
        split = urlsplit(self.path)
        path = split.path
        refusal = server.gate.admit(self.command, self.path, self.headers)
        if refusal is None and path == HEALTH_PATH:
            self._send(server.health(), request_id)
            return
        try:
            chunked, length = self._framing()
        except MalformedBody as exc:
            self._fail(AwsError("SerializationException", str(exc)), None, request_id)
            return
        found = server.find(self.command, path)
        if refusal is not None:  # answered in the shape of the route it was meant for
            self._skip_body(chunked, length, REFUSED_DRAIN)  # a stranger's body is barely read
            self._send(server.render_error(refusal, found[0] if found else None), request_id)
            return
        if found is None:
            self._skip_body(chunked, length)
            error = AwsError(
                "UnknownOperationException", f"No operation at {self.command} {shown(path)}", 404
            )
            self._send(server.render_error(error, None), request_id)
            return
        r, params = found
        body = self._body(r, chunked, length, request_id)
        if body is None:
            return
        refusal = server.gate.verify(self.command, self.path, self.headers, body)
        if refusal is not None:
            self._send(server.render_error(refusal, r), request_id)
            return
        request = Request(self.command, path, parse_qs(split.query), self.headers, body, params, self.path)
        self._send(self._dispatch(r, request), request_id)

    def _dispatch(self, r: Route, request: Request) -> Response:
        try:
            return r.handler(request)
        except AwsError as error:
            return self.server.render_error(error, r)
        except Exception as exc:  # a bug in a backend must not kill the connection thread
            log.exception("%s %s failed", request.method, request.path)
            error = AwsError("InternalFailure", f"{type(exc).__name__}: {exc}", 500)
            return self.server.render_error(error, r)

    def _fail(self, error: AwsError, r: Route | None, request_id: str) -> None:
        """Answer a request whose framing is lost: nothing after it on this connection can be parsed."""
        self.close_connection = True
        self._send(self.server.render_error(error, r), request_id)

    # -- framing ------------------------------------------------------------------------------------

    def _framing(self) -> tuple[bool, int]:
        """(chunked, content length): Transfer-Encoding overrides Content-Length (RFC 9112 6.3), and a
        Content-Length must be digits only, given once (or repeated with one value)."""
        codings = self.headers.get_all("Transfer-Encoding") or []
        if codings:
            last = ",".join(codings).rsplit(",", 1)[-1].strip().lower()
            if last != "chunked":
                raise MalformedBody(f"Unsupported Transfer-Encoding {codings[-1][:40]!r}")
            self.close_connection = self.close_connection or bool(self.headers.get("Content-Length"))
            return True, 0
        values = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if not values:
            return False, 0
        if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
            shown = ", ".join(sorted(values))[:40]
            raise MalformedBody(f"Invalid Content-Length {shown!r}: it must be one decimal number")
        return False, int(values.pop())

    def _body(self, r: Route, chunked: bool, length: int, request_id: str) -> bytes | None:
        """The request body, or None once an oversize or malformed one has been answered."""
        try:
            body, size = self._read_body(chunked, length, r.max_body)
        except MalformedBody as exc:
            self._fail(AwsError("SerializationException", str(exc)), r, request_id)
            return None
        if size > r.max_body:
            self._refuse_body(r, size, chunked, request_id)
            return None
        return body

    def _read_body(self, chunked: bool, length: int, limit: int) -> tuple[bytes, int]:
        """The body and its size; past `limit` bytes reading stops and the body is b"" (size > limit)."""
        if not chunked:
            if length > limit:
                return b"", length
            body = self._read_exact(length)
            return body, length
        kept: list[bytes] = []
        size = 0
        for piece in self._chunks():
            size += len(piece)
            if size > limit:
                return b"", size
            kept.append(piece)
        return b"".join(kept), size

    def _read_exact(self, length: int) -> bytes:
        pieces: list[bytes] = []
        remaining = length
        while remaining:
            piece = self.rfile.read(min(remaining, 1 << 20))
            if not piece:
                raise MalformedBody("The connection closed before the declared Content-Length arrived")
            pieces.append(piece)
            remaining -= len(piece)
        return b"".join(pieces)

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

    def _skip_body(self, chunked: bool, length: int, limit: int = MAX_DRAIN) -> None:
        """Drop a body nobody will read; a large one ends the connection instead of being read."""
        if not chunked and length == 0:
            return
        try:
            _, size = self._read_body(chunked, length, limit)
        except MalformedBody:
            size = limit + 1
        if size > limit:
            self.close_connection = True

    def _refuse_body(self, r: Route, size: int, chunked: bool, request_id: str) -> None:
        """Answer an oversize request like AWS; the client must still be able to read the answer."""
        error = r.too_large(size) if r.too_large else AwsError("RequestEntityTooLarge", "Too large", 413)
        response = self.server.render_error(error, r)
        if chunked:
            # Answer at once (a client reading early stops sending), then drop what is still coming:
            # closing on unread data would reset the connection before the client read the answer.
            self.close_connection = True
            self._send(response, request_id)
            with contextlib.suppress(MalformedBody, OSError):
                self._read_body(True, 0, MAX_DRAIN)
            return
        if size <= MAX_DRAIN:
            self._read_exact(size)
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
        if self.command == "HEAD":
            body = b""  # a HEAD answer keeps the Content-Length of what a GET would send
            headers.setdefault("Content-Length", str(len(response.body)))
        else:
            body = response.body
            headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
            headers["Content-Length"] = str(len(body))
        if self.close_connection:
            headers["Connection"] = "close"
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
        self.wfile.write(head + body)  # one write: no Nagle/delayed-ACK stall between head and body


def serve_in_thread(server: HTTPServer, service: str) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name=f"{service}-http", daemon=True)
    thread.start()
    return thread
