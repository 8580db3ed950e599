"""One response shape for every handler, and the errors that map onto it.

Every answer is `{"statusCode", "headers", "body"}` with a JSON string body (the API Gateway proxy
format), so an HTTP API could front the functions later without changing them. Errors are raised as
`HandlerError` subclasses anywhere below the handler and turned into a response in one place,
`api_handler`, which also guarantees that no event makes a handler raise.
"""

from __future__ import annotations

import functools
import json
import traceback
from collections.abc import Callable
from typing import Any

Event = Any
Body = dict[str, Any]
Response = dict[str, Any]


class HandlerError(Exception):
    """An answer that is not a success; `status` is the HTTP-style status code it maps to."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(HandlerError):
    status = 400


class Forbidden(HandlerError):
    status = 403


class NotFound(HandlerError):
    status = 404


class ConfigurationError(HandlerError):
    """The function itself is misconfigured (a missing environment variable)."""

    status = 500


class UpstreamError(HandlerError):
    """A dependency (endpoint, bucket) answered with a failure."""

    status = 502


class Unavailable(HandlerError):
    """A dependency is missing or unreachable."""

    status = 503


def respond(status: int, body: Body) -> Response:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, allow_nan=False),  # NaN is not JSON: a bug, never a 200 of it
    }


def api_handler(compute: Callable[[Event, Any], Body]) -> Callable[[Event, Any], Response]:
    """Wrap `compute(event, context) -> body` so that every outcome is a response, never an exception."""

    @functools.wraps(compute)
    def handler(event: Event, context: Any) -> Response:
        try:
            return respond(200, compute(event, context))
        except HandlerError as err:
            print(json.dumps({"level": "WARNING", "status": err.status, "message": err.message}))
            return respond(err.status, {"error": type(err).__name__, "message": err.message})
        except Exception as err:  # the contract: a bug becomes a 500 answer, with the trace in the logs
            traceback.print_exc()
            message = f"internal error: {type(err).__name__}: {err}"
            return respond(500, {"error": "InternalError", "message": message})

    return handler
