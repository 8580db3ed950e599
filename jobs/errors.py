"""Errors of the stack operations (apply, train, deploy, test-events, destroy): one line each,
naming the resource and what to do. The CLI turns them into click errors."""

from __future__ import annotations

from botocore.exceptions import ClientError


class StackError(Exception):
    """A stack operation could not be carried out."""


def error_code(err: ClientError) -> str | None:
    """The AWS error code of a failed call (`NoSuchBucket`, `ValidationException`), if it has one."""
    return err.response.get("Error", {}).get("Code")
