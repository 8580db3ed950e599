"""The AWS error code of a failed botocore call, read the same way by every handler module."""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "Unknown")
