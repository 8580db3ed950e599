"""Validation of what CreateFunction, UpdateFunctionConfiguration and Invoke are given, with Lambda's
rules and texts (sources on each check)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from localcloud.awslambda.errors import invalid, pattern_error, user_error, validation_error

RUNTIMES = tuple(f"python3.{minor}" for minor in range(9, 15))
RETIRED_RUNTIMES = ("python2.7", "python3.6", "python3.7", "python3.8")
# Keys the runtime sets; Lambda refuses them in Environment.Variables.
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
ROLE_PATTERN = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
FUNCTION_REF = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)
_ENV_KEY = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")


def parse_ref(ref: object) -> tuple[str, str | None]:
    """(name, qualifier) of a function name, ARN or partial ARN."""
    match = FUNCTION_REF.fullmatch(ref) if isinstance(ref, str) else None
    if match is None:
        raise pattern_error(ref, "functionName", FUNCTION_REF.pattern)
    return match.group("name"), match.group("qualifier")


def function_settings(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The configuration fields a Create/UpdateFunctionConfiguration body sets, validated (Layers aside)."""
    settings: dict[str, Any] = {}
    if body.get("Runtime") is not None or creating:
        settings["Runtime"] = check_runtime(body.get("Runtime"))
    if body.get("Role") is not None or creating:
        settings["Role"] = check_pattern(body.get("Role"), "role", ROLE_PATTERN)
    if body.get("Handler") is not None or creating:
        settings["Handler"] = check_pattern(body.get("Handler"), "handler", r"[^\s]+")
    for key, low, high in (("Timeout", 1, 900), ("MemorySize", 128, 10240)):
        if body.get(key) is not None:
            settings[key] = check_range(body[key], key[0].lower() + key[1:], low, high)
    if body.get("Description") is not None:
        settings["Description"] = str(body["Description"])
    if body.get("Environment") is not None:
        settings["Environment"] = {"Variables": check_environment(body["Environment"].get("Variables") or {})}
    if body.get("EphemeralStorage") is not None:
        settings["EphemeralStorage"] = body["EphemeralStorage"]
    return settings


def check_runtime(runtime: object) -> str:
    if runtime in RETIRED_RUNTIMES:
        raise invalid(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS "
            "Lambda functions. We recommend you use the new runtime (python3.13) while creating or "
            "updating functions."
        )  # text: fortinet/fortiweb-ha#5
    if runtime not in RUNTIMES:
        raise invalid(
            f"Runtime {runtime} is not supported by the local cloud; use one of {', '.join(RUNTIMES)}."
        )
    return str(runtime)


def check_pattern(value: object, where: str, pattern: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise pattern_error(value, where, pattern)
    return value


def check_range(value: object, where: str, low: int, high: int) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise validation_error(value, where, "Member must be a number") from None
    if number < low:
        raise validation_error(value, where, f"Member must have value greater than or equal to {low}")
    if number > high:
        raise validation_error(value, where, f"Member must have value less than or equal to {high}")
    return number


def check_environment(variables: dict[str, Any]) -> dict[str, str]:
    bad = [k for k in variables if not _ENV_KEY.fullmatch(k)]
    if bad:
        raise validation_error(
            bad[0],
            "environment.variables",
            "Map keys must satisfy constraint: "
            "[Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
        )
    reserved = sorted(RESERVED_ENV & set(variables))
    if reserved:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment variables you "
            "have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {', '.join(reserved)}"
        )
    values = {k: str(v) for k, v in variables.items()}
    measured = json.dumps(values, separators=(",", ":"))
    if len(measured.encode()) > 4096:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment variables you "
            f"have provided exceeded the 4KB limit. String measured: {measured}"
        )
    return values


def event_bytes(payload: bytes) -> bytes:
    """Lambda passes `{}` for an empty payload and refuses a body that is not JSON."""
    if not payload.strip():
        return b"{}"
    try:
        json.loads(payload)
    except ValueError as exc:
        raise user_error(
            "InvalidRequestContentException", f"Could not parse request body into json: {exc}", 400
        ) from None
    return payload


def client_context(raw: str | None) -> dict | None:
    """The X-Amz-Client-Context header: base64 of a JSON object."""
    if not raw:
        return None
    try:
        value = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        value = None
    if not isinstance(value, dict):
        raise user_error(
            "InvalidRequestContentException",
            "Client context must be a valid Base64-encoded JSON object.",
            400,
        )
    return value
