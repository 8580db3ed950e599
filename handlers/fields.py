"""Reading typed fields out of an event, with a 400 that names the bad field on any mistake."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from handlers.responses import BadRequest

_DIGITS = re.compile(r"^\s*[0-9]{1,18}\s*$")

MAX_K = 100
# Ids are at most this (a 64-bit signed integer): a longer one is a mistake, not an id.
MAX_ID = 2**63 - 1
# Error messages quote at most this much of a bad value: a 6 MB bad event must not give a 6 MB answer.
SHOWN_CHARS = 60


def shown(value: Any) -> str:
    """`repr(value)` cut to SHOWN_CHARS, so an answer never echoes a hostile value whole."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, list | dict | str) and len(value) > SHOWN_CHARS:
        value = value[:SHOWN_CHARS] if not isinstance(value, dict) else dict(list(value.items())[:3])
        return repr(value)[:SHOWN_CHARS] + "..."
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."


def as_object(event: Any, where: str = "event") -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise BadRequest(f"{where} must be a JSON object, got {type(event).__name__}")
    return event


def only_known(event: Mapping[str, Any], allowed: set[str], what: str = "") -> None:
    """A misspelt optional field ("exclude_ratd") would silently take its default: refuse it instead."""
    unknown = sorted(set(event) - allowed)
    if unknown:
        listed = ", ".join(sorted(allowed))
        named = ", ".join(shown(key) for key in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise BadRequest(f"unknown field(s) {named}{what}; allowed: {listed}")


def required(event: Mapping[str, Any], key: str, where: str | None = None) -> Any:
    """`where` names the field in the message when it sits inside a list ("pairs[0].user_id")."""
    if key not in event:
        raise BadRequest(f"missing required field '{where or key}'")
    return event[key]


def positive_int(value: Any, key: str) -> int:
    """An id: a positive integer, or a string of digits (the workshop accepted `int(...)` of either)."""
    if isinstance(value, bool):
        raise BadRequest(f"'{key}' must be a positive integer, got {shown(value)}")
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    if isinstance(value, str) and _DIGITS.match(value) and 0 < int(value) <= MAX_ID:
        return int(value)
    digits = value.strip() if isinstance(value, str) else ""
    if (isinstance(value, int) and value > MAX_ID) or (digits.isdigit() and len(digits) > 18):
        # Checked by length and bits, never by int(): 4,301+ digits are beyond what int() will read.
        raise BadRequest(f"'{key}' must be a positive integer up to {MAX_ID}, got {shown(value)}")
    raise BadRequest(f"'{key}' must be a positive integer, got {shown(value)}")


def required_id(event: Mapping[str, Any], key: str, where: str | None = None) -> int:
    return positive_int(required(event, key, where), where or key)


def bounded_int(event: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = event.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"'{key}' must be an integer in {low}..{high}, got {shown(value)}")
    return value


def top_k(event: Mapping[str, Any]) -> int:
    """How many movies to answer (`k`): one rule for both functions, so their events agree."""
    return bounded_int(event, "k", default=10, low=1, high=MAX_K)


def boolean(event: Mapping[str, Any], key: str, default: bool) -> bool:
    value = event.get(key, default)
    if not isinstance(value, bool):
        raise BadRequest(f"'{key}' must be true or false, got {shown(value)}")
    return value


def choice(event: Mapping[str, Any], key: str, options: tuple[str, ...], default: str | None = None) -> str:
    value = event.get(key, default)
    if value is None:
        raise BadRequest(f"missing required field '{key}' (one of {', '.join(options)})")
    if not isinstance(value, str) or value not in options:
        raise BadRequest(f"'{key}' must be one of {', '.join(options)}, got {shown(value)}")
    return value
