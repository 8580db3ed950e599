"""The one validation step every control-plane action passes before its backend runs: the request body
against the operation's input shape in botocore's own service model (the model AWS's SDKs are generated
from). Types, lengths, ranges and patterns are checked the way AWS's front end does, and the first
violation is answered as AWS does, 400 ValidationException "1 validation error detected: Value ... at
'productionVariants.1.member.initialVariantWeight' failed to satisfy constraint: ...". So a list where a
name belongs, a string where a number belongs or a number out of range never reaches a backend (where
it would have been a 500, or worse, accepted).

Required members are left to the backends, which name them with AWS's texts.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import botocore.session
from botocore.model import Shape

from localcloud.awswire import AwsError, pattern_constraint, shown, validation_message


@functools.cache
def _service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


class ShapeValidator:
    """Checks JSON bodies against one service's botocore model (`check(operation, body)`)."""

    def __init__(self, service: str) -> None:
        self.model = _service_model(service)

    def check(self, operation: str, body: dict[str, Any]) -> None:
        shape = self.model.operation_model(operation).input_shape
        if shape is None:
            return
        for name, member in shape.members.items():
            if member.serialization.get("location") or name not in body or body[name] is None:
                continue  # path, query and header members are the routes' business
            _check(member, body[name], _wire(name))


def _wire(name: str) -> str:
    return name[:1].lower() + name[1:]


def _fail(value: Any, where: str, constraint: str) -> AwsError:
    text = "null" if value is None else f"'{shown(value)}'"
    return AwsError("ValidationException", validation_message(text, where, constraint))


def _check(shape: Shape, value: Any, where: str) -> None:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if meta.get("document"):
            return
        if not isinstance(value, dict):
            raise _fail(value, where, "Member must be an object")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _check(member, value[name], f"{where}.{_wire(name)}")
    elif kind == "list":
        if not isinstance(value, list):
            raise _fail(value, where, "Member must be a list")
        _length(value, len(value), meta, where)
        for index, item in enumerate(value, 1):
            _check(shape.member, item, f"{where}.{index}.member")
    elif kind == "map":
        if not isinstance(value, dict):
            raise _fail(value, where, "Member must be a map")
        _length(value, len(value), meta, where)
        for key, item in value.items():
            _check(shape.key, key, f"{where}.key")
            _check(shape.value, item, f"{where}.{shown(key, 32)}")
    elif kind in ("string", "blob"):
        if not isinstance(value, str):
            raise _fail(value, where, "Member must be a string")
        _length(value, len(value), meta, where)
        pattern = meta.get("pattern")
        if kind == "string" and pattern and not _matches(pattern, value):
            raise _fail(value, where, pattern_constraint(pattern))
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(value, where, "Member must be an integer")
        _range(value, meta, where)
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _fail(value, where, "Member must be a finite number")
        _range(value, meta, where)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _fail(value, where, "Member must be a boolean")
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _fail(value, where, "Member must be a timestamp")
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(value, where, "Member must be a timestamp")


def _length(value: Any, size: int, meta: dict[str, Any], where: str) -> None:
    if "min" in meta and size < meta["min"]:
        raise _fail(value, where, f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and size > meta["max"]:
        raise _fail(value, where, f"Member must have length less than or equal to {meta['max']}")


def _range(value: float, meta: dict[str, Any], where: str) -> None:
    if "min" in meta and value < meta["min"]:
        raise _fail(value, where, f"Member must have value greater than or equal to {meta['min']}")
    if "max" in meta and value > meta["max"]:
        raise _fail(value, where, f"Member must have value less than or equal to {meta['max']}")


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct in the model: such a pattern is not checked
        return None


def _matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    # AWS's patterns match the whole value; a trailing newline is not "the end".
    return compiled is None or compiled.fullmatch(value) is not None
