"""Pieces every SageMaker resource needs: ARNs, name validation, AWS's error texts, persistence, lists.

Error texts are AWS's own where a public source shows them (cited on each helper).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from localcloud.awswire import AwsError, pattern_constraint, shown, validation_message
from localcloud.config import ACCOUNT_ID
from localcloud.storage import atomic_write_json, child, clean_trash, fsync_dir, read_json

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"  # botocore: EntityName / TrainingJobName / EndpointName
_NAME = re.compile(NAME_PATTERN)


def arn(region: str, kind: str, name: str) -> str:
    """SageMaker lower-cases the name in ARNs (see EndpointArn in aws/amazon-sagemaker-examples#293)."""
    return f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:{kind}/{name.lower()}"


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def not_found(what: str, resource_arn: str) -> AwsError:
    """e.g. 'Could not find endpoint "arn:…:endpoint/x".' (aws/amazon-sagemaker-examples#2402)."""
    return validation(f'Could not find {what} "{resource_arn}".')


def already_exists(what: str, resource_arn: str) -> AwsError:
    """e.g. 'Cannot create already existing endpoint configuration "arn:…".' (awslabs/spot-tagging-bot#2)."""
    return validation(f'Cannot create already existing {what} "{resource_arn}".')


def require(body: dict[str, Any], key: str, wire_name: str) -> Any:
    value = body.get(key)
    if value in (None, "", [], {}):
        raise validation(validation_message("null", wire_name, "Member must not be null"))
    return value


def check_name(name: str, wire_name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise validation(validation_message(f"'{name}'", wire_name, pattern_constraint(NAME_PATTERN)))
    return name


def now() -> float:
    return round(time.time(), 3)


class RecordStore:
    """One JSON file per resource under `folder`; every change is written atomically before it is seen.

    Records are the wire shapes of Describe* (timestamps as epoch seconds); keys starting with "_"
    are ours and never leave the process.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.RLock()
        clean_trash(folder)
        self._records: dict[str, dict[str, Any]] = {}
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                record = read_json(path)
                self._records[record["_name"]] = record

    def get(self, name: str) -> dict[str, Any] | None:
        with self.lock:
            return self._records.get(name)

    def put(self, name: str, record: dict[str, Any]) -> None:
        with self.lock:
            record["_name"] = name
            atomic_write_json(self._path(name), record)
            self._records[name] = record

    def delete(self, name: str) -> None:
        with self.lock:
            self._path(name).unlink(missing_ok=True)
            fsync_dir(self.folder)  # the deletion survives a power cut too
            self._records.pop(name, None)

    def values(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self._records.values())

    def _path(self, name: str) -> Path:
        return child(self.folder, f"{name}.json")


def list_page(
    body: dict[str, Any],
    records: Iterable[dict[str, Any]],
    *,
    list_key: str,
    name_key: str,
    summary: Callable[[dict[str, Any]], dict[str, Any]],
    status_key: str | None = None,
) -> dict[str, Any]:
    """A List* answer, `{list_key: [...], "NextToken": ...}`: filter (NameContains, StatusEquals,
    CreationTime*), sort (SortBy/SortOrder) and page (MaxResults, NextToken as an offset) the way the
    List* operations do. Default: newest first, 10 per page."""
    items = [r for r in records if body.get("NameContains", "").lower() in r[name_key].lower()]
    if status_key and body.get("StatusEquals"):
        items = [r for r in items if r.get(status_key) == body["StatusEquals"]]
    for key, keep in (("CreationTimeAfter", float.__gt__), ("CreationTimeBefore", float.__lt__)):
        if body.get(key) is not None:
            limit = _epoch(body[key], key)
            items = [r for r in items if keep(float(r["CreationTime"]), limit)]
    sort_key = {"Name": name_key, "Status": status_key}.get(body.get("SortBy", ""), "CreationTime")
    items.sort(
        key=lambda r: (r.get(sort_key) or "", r[name_key]), reverse=body.get("SortOrder") != "Ascending"
    )
    token = body.get("NextToken") or "0"
    if not token.isdigit() or len(token) > 9:  # our tokens are offsets we issued
        raise validation(f"Invalid pagination token: {shown(token)}")
    start = int(token)
    size = int(body.get("MaxResults") or 10)
    answer: dict[str, Any] = {list_key: [summary(r) for r in items[start : start + size]]}
    if start + size < len(items):
        answer["NextToken"] = str(start + size)
    return answer


def _epoch(value: Any, key: str) -> float:
    """A timestamp member as epoch seconds: a number, or an ISO 8601 string (botocore sends either)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        raise validation(f"{key} {shown(value)} is not a timestamp.") from None
