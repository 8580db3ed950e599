"""botocore's failures of an S3 or SageMaker call, read the same way by every handler module."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError

from handlers.responses import HandlerError, Unavailable

# What S3 answers for an absent key: HeadObject has no body, so only its status code names the error.
MISSING_KEY_CODES = ("404", "NoSuchKey", "NotFound")


def error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "Unknown")


@contextlib.contextmanager
def s3_errors(
    where: str, unreadable: type[HandlerError], unreachable: str, missing: str | None = None
) -> Iterator[None]:
    """S3 failures inside the block as answers: `missing` (when given) for an absent key, `unreadable`
    for any other refusal, and `unreachable: <reason>` when S3 cannot be reached at all."""
    try:
        yield
    except ClientError as err:
        code = error_code(err)
        if missing is not None and code in MISSING_KEY_CODES:
            raise Unavailable(missing) from err
        raise unreadable(f"cannot read {where}: {code}") from err
    except BotoCoreError as err:
        raise Unavailable(f"{unreachable}: {err}") from err
