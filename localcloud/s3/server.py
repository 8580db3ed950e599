"""S3 is moto's own server (we do not write S3), wrapped in a WSGI middleware that mirrors each
mutating request to disk once moto has handled it, and that answers our health route.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from localcloud.protocol import HEALTH_PATH, health_response
from localcloud.s3.persistence import S3Mirror

StartResponse = Callable[..., Any]
_MUTATING = {"PUT", "POST", "DELETE"}


class PersistentS3App:
    """WSGI app: moto's dispatcher, with write-through persistence of the buckets a request touched.

    Mutations are serialized by one lock held across moto's handling and the sync, so the disk copy
    is written in the same order as moto applied the changes; reads stay concurrent.
    """

    def __init__(self, mirror: S3Mirror, ready: threading.Event, state_dir: str) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.state_dir = state_dir
        self.mirror = mirror
        self.ready = ready
        self.mutation_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            return self._health(start_response)
        if environ["REQUEST_METHOD"] not in _MUTATING:
            return self.moto(environ, start_response)
        with self.mutation_lock:
            body = list(self.moto(environ, start_response))  # moto has applied the change when this returns
            buckets = _buckets_of(environ)
            if buckets:
                for name in buckets:
                    self.mirror.sync(name)
            else:  # a request we cannot attribute to a bucket (e.g. /moto-api/reset): mirror everything
                self.mirror.sync_all()
            return body

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        health = health_response("s3", self.ready.is_set(), self.state_dir)
        headers = [*health.headers.items(), ("Content-Length", str(len(health.body)))]
        start_response(f"{health.status} {HTTPStatus(health.status).phrase}", headers)
        return [health.body]


def _buckets_of(environ: dict[str, Any]) -> set[str]:
    """Bucket names a request may have changed: path-style first segment, or virtual-host label."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api"):
        return set()
    names = set()
    host = environ.get("HTTP_HOST", "").rsplit(":", 1)[0]
    label = host.split(".", 1)[0]
    if "." in host and not _is_ip(host) and label not in ("s3", "localhost"):
        names.add(label)
    first = unquote(path.lstrip("/").split("/", 1)[0])
    if first:
        names.add(first)
    return names


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def make_s3_server(
    listener: socket.socket, state_dir: Path, ready: threading.Event
) -> tuple[BaseWSGIServer, S3Mirror]:
    """moto's server on an already bound 127.0.0.1 socket (werkzeug would sys.exit on a busy port).
    Call `mirror.restore()` before serving."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log lines
    mirror = S3Mirror(state_dir / "s3")
    app = PersistentS3App(mirror, ready, str(state_dir))
    host, port = listener.getsockname()[:2]
    server = make_server(
        host, port, app, threaded=True, request_handler=MotoRequestHandler, fd=listener.fileno()
    )
    listener.close()  # werkzeug holds its own duplicate of the socket
    return server, mirror
