"""The function's bucket: reading objects, with S3's failures turned into answers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handlers.aws_errors import error_code
from handlers.responses import HandlerError, Unavailable

# What S3 answers for an absent key: HeadObject has no body, so only its status code names the error.
MISSING_KEY_CODES = ("404", "NoSuchKey", "NotFound")


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


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    where = f"s3://{bucket}/{key}"
    with s3_errors(where, unreadable=Unavailable, unreachable=f"cannot reach S3 for {where}"):
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
