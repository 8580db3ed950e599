"""Reading typed fields out of an event, with a 400 that names the bad field on any mistake."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from handlers.responses import BadRequest

_DIGITS = re.compile(r"^\s*[0-9]+\s*$")

MAX_K = 100


def as_object(event: Any, where: str = "event") -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise BadRequest(f"{where} must be a JSON object, got {type(event).__name__}")
    return event


def only_known(event: Mapping[str, Any], allowed: set[str], what: str = "") -> None:
    """A misspelt optional field ("exclude_ratd") would silently take its default: refuse it instead."""
    unknown = sorted(set(event) - allowed)
    if unknown:
        listed = ", ".join(sorted(allowed))
        raise BadRequest(f"unknown field(s) {', '.join(map(repr, unknown))}{what}; allowed: {listed}")


def required(event: Mapping[str, Any], key: str, where: str | None = None) -> Any:
    """`where` names the field in the message when it sits inside a list ("pairs[0].user_id")."""
    if key not in event:
        raise BadRequest(f"missing required field '{where or key}'")
    return event[key]


def positive_int(value: Any, key: str) -> int:
    """An id: a positive integer, or a string of digits (the workshop accepted `int(...)` of either)."""
    if isinstance(value, bool):
        raise BadRequest(f"'{key}' must be a positive integer, got {value!r}")
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and _DIGITS.match(value) and int(value) > 0:
        return int(value)
    raise BadRequest(f"'{key}' must be a positive integer, got {value!r}")


def required_id(event: Mapping[str, Any], key: str, where: str | None = None) -> int:
    return positive_int(required(event, key, where), where or key)


def bounded_int(event: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = event.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"'{key}' must be an integer in {low}..{high}, got {value!r}")
    return value


def top_k(event: Mapping[str, Any]) -> int:
    """How many movies to answer (`k`): one rule for both functions, so their events agree."""
    return bounded_int(event, "k", default=10, low=1, high=MAX_K)


def boolean(event: Mapping[str, Any], key: str, default: bool) -> bool:
    value = event.get(key, default)
    if not isinstance(value, bool):
        raise BadRequest(f"'{key}' must be true or false, got {value!r}")
    return value


def choice(event: Mapping[str, Any], key: str, options: tuple[str, ...], default: str | None = None) -> str:
    value = event.get(key, default)
    if value is None:
        raise BadRequest(f"missing required field '{key}' (one of {', '.join(options)})")
    if value not in options:
        raise BadRequest(f"'{key}' must be one of {', '.join(options)}, got {value!r}")
    return value
