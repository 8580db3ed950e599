"""Function configuration from environment variables, read per invocation (cheap) so that a missing
variable is a clear 500 answer naming it, not a `KeyError` at import (the workshop's cold-start crash)."""

from __future__ import annotations

import os

from botocore.config import Config

from handlers.responses import ConfigurationError

# Endpoint calls fail fast enough to answer 503 well inside the function's timeout.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"})

DEFAULT_DATA_PREFIX = "object2vec/movielens/ml-100k"
DEFAULT_INDEX_PREFIX = "object2vec/movielens/index"


def env(*names: str, default: str | None = None) -> str:
    """The first of `names` that is set; later names are accepted spellings (the workshop's typos)."""
    for name in names:
        value = os.environ.get(name)
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
