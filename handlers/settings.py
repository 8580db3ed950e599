"""Function configuration from environment variables, read per invocation (cheap) so that a missing
variable is a clear 500 answer naming it, not a `KeyError` at import (the workshop's cold-start crash)."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from botocore.config import Config

from handlers import contract
from handlers.responses import ConfigurationError

# A dependency call (endpoint or S3) gives up after 2 attempts of (connect 1 s + read N s) plus a
# backoff under 1 s, about 13 s with the default N = 5, and a failed call ends the invocation with a
# 502/503 answer: a hung dependency is answered inside the functions' 30 s timeout, never turned
# into Lambda's own Sandbox.Timedout error. Our endpoints answer in milliseconds.
DEFAULT_DEPENDENCY_TIMEOUT = 5.0
CONNECT_TIMEOUT = 1.0
ATTEMPTS = 2


def env(name: str, default: str | None = None) -> str:
    """The variable's value, or its workshop spelling's (`ENDPOINT_NANE_REC`); else `default`."""
    names = (name, contract.WORKSHOP_SPELLINGS[name]) if name in contract.WORKSHOP_SPELLINGS else (name,)
    for candidate in names:
        value = os.environ.get(candidate)
        if value:
            return value
    if default is not None:
        return default
    raise ConfigurationError(f"environment variable {names[0]} is not set on this function")


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be a number, got {raw!r}") from None


def dependency_timeout() -> float:
    """Seconds a dependency may take to answer one attempt (`DEPENDENCY_TIMEOUT_SECONDS`)."""
    seconds = env_float(contract.DEPENDENCY_TIMEOUT_SECONDS, DEFAULT_DEPENDENCY_TIMEOUT)
    if not 0 < seconds <= 60:
        raise ConfigurationError(
            f"environment variable DEPENDENCY_TIMEOUT_SECONDS must be in (0, 60], got {seconds}"
        )
    return seconds


@functools.cache
def client(service: str) -> Any:
    """One boto3 client per service per container, made at first use so that a bad setting is a 500
    answer naming it rather than an import error."""
    # botocore's `max_attempts` counts retries only; `total_max_attempts` counts the first call too.
    retries = {"total_max_attempts": ATTEMPTS, "mode": "standard"}
    config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=dependency_timeout(), retries=retries)
    return boto3.client(service, config=config)  # type: ignore[call-overload]
