"""S3 URIs (`s3://bucket/key`), parsed one way everywhere."""

from __future__ import annotations

from urllib.parse import urlsplit


def split_s3_uri(uri: str) -> tuple[str, str]:
    """("bucket", "key/prefix") of "s3://bucket/key/prefix"; ValueError if it is not an s3:// URI.

    The key may be empty (`s3://bucket/` names a whole bucket, as a channel's S3Uri may).
    """
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return parts.netloc, parts.path.lstrip("/")
