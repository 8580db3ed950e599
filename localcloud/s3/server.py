"""S3 is moto's own S3 application (we do not write S3), served through our HTTP layer like every other
service and mirrored write-through to disk.

Only moto's S3 app is mounted: moto's management API (`/moto-api/...`, e.g. `POST /moto-api/reset`, which
would wipe every bucket) and its instance-metadata emulation are not reachable. The HTTP layer has read
the whole body (and checked its signature) before moto sees the request, so the lock that orders
mutations is never held while a slow client uploads.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from typing import Any
from urllib.parse import unquote_to_bytes
from xml.sax.saxutils import escape

from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.moto_server.werkzeug_app import create_backend_app

from localcloud.awswire import AwsError, Request, Response, Route, route
from localcloud.config import HOST
from localcloud.s3.commits import GroupCommit
from localcloud.s3.persistence import S3Mirror

log = logging.getLogger("localcloud.s3")
_MUTATING = {"PUT", "POST", "DELETE"}
# S3's limit for one PUT (a multipart upload's parts are each far smaller).
MAX_S3_BODY = 5 * 1024 * 1024 * 1024
_SKIPPED_HEADERS = {"content-length", "transfer-encoding", "connection"}


class S3Service:
    """moto's S3 app with write-through persistence of the buckets a request touched.

    moto applies mutations one at a time; each is answered once it is on disk (`GroupCommit`: one disk
    write covers every change applied meanwhile). If the disk copy cannot be written, moto's bucket is
    put back to what is on disk and the client gets a 500, so no object ever lives in memory only.
    Reads stay concurrent.
    """

    def __init__(self, mirror: S3Mirror, port: int) -> None:
        self.app = create_backend_app("s3")
        self.mirror = mirror
        self.port = port
        self.apply_lock = threading.Lock()  # moto applies one mutation at a time
        self.commits = GroupCommit(mirror, self.apply_lock)

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/moto-api") or request.path.startswith("/latest/"):
            raise AwsError("AccessDenied", "moto's management API is not exposed by the local cloud", 403)
        self._check_upload(request)
        environ = self._environ(request)
        if request.method not in _MUTATING:
            return self._call(environ)
        bucket = bucket_of(request)
        with self.apply_lock:
            response = self._call(environ)  # moto has applied the change when this returns
            ticket = self.commits.applied(bucket) if bucket else None
        if bucket and ticket is not None:
            try:
                self.commits.wait_durable(bucket, ticket)
            except OSError as exc:
                log.error("could not persist bucket %s (%s); the change was undone", bucket, exc)
                raise AwsError(
                    "InternalError", "We encountered an internal error. Please try again.", 500
                ) from exc
        return response

    def _check_upload(self, request: Request) -> None:
        """S3's NoSuchUpload for an upload id moto does not know (moto itself raises a KeyError: a 500),
        e.g. an upload that was in progress when the local cloud was killed."""
        upload_id = request.query_one("uploadId")
        if upload_id is None:
            return
        bucket = self.mirror.backend.buckets.get(bucket_of(request) or "")
        if bucket is not None and upload_id not in bucket.multiparts:
            raise AwsError(
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, or the upload may "
                "have been aborted or completed.",
                404,
                fields={"UploadId": upload_id[:128]},
            )

    def routes(self) -> list[Route]:
        return [
            route(method, r"/.*", self.handle, max_body=MAX_S3_BODY, too_large=entity_too_large)
            for method in ("GET", "PUT", "POST", "DELETE", "HEAD")
        ]

    def _call(self, environ: dict[str, Any]) -> Response:
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        headers: dict[str, str] = {}
        for name, value in captured["headers"]:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return Response(int(captured["status"].split(" ", 1)[0]), body, headers)

    def _environ(self, request: Request) -> dict[str, Any]:
        """The WSGI environ werkzeug's server (with moto's handler) would build for this request."""
        raw_path, _, query = request.target.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": request.target,
            "REQUEST_URI": request.target,
            "SERVER_NAME": HOST,
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": HOST,
            "CONTENT_LENGTH": str(len(request.body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        preserved: dict[str, str] = {}
        for name, value in request.headers.items():
            if name.lower() in _SKIPPED_HEADERS:
                continue
            if "_" in name and not should_preserve_original_header_name(name):
                continue  # werkzeug's rule: X_Foo must not pass for X-Foo
            key = environ_key_for_header(name)
            if "_" in name:
                preserved.setdefault(key, name)
            value = value.replace("\r\n", "")
            environ[key] = f"{environ[key]},{value}" if key in environ and key.startswith("HTTP_") else value
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
        return environ


def bucket_of(request: Request) -> str | None:
    """The bucket a request addresses: virtual-host label (`<bucket>.localhost`) or first path segment."""
    host = (request.header("Host") or "").rsplit(":", 1)[0]
    if host.endswith(".localhost"):
        return host[: -len(".localhost")]
    first = request.path.lstrip("/").split("/", 1)[0]
    return unquote_to_bytes(first).decode("utf-8", errors="replace") if first else None


def entity_too_large(size: int) -> AwsError:
    return AwsError(
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed object size.",
        400,
        fields={"ProposedSize": size, "MaxSizeAllowed": MAX_S3_BODY},
    )


def s3_error_response(error: AwsError, _route: Route | None = None) -> Response:
    """S3's error shape: `<Error><Code/><Message/>...</Error>` in XML (no x-amzn-ErrorType header)."""
    members = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in error.fields.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>{members}"
        "<RequestId>localcloud</RequestId><HostId>localcloud</HostId></Error>"
    )
    return Response(error.status, body.encode(), {"Content-Type": "application/xml"})
