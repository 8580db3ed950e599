"""Deployment packages: where a function's or layer's zip comes from (inline or our S3), its checks
and its extraction. Errors use Lambda's texts (moto's `awslambda` and the Lambda API reference)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common.atomic import fsync_dir
from localcloud.awslambda.errors import invalid
from localcloud.config import CloudConfig
from localcloud.s3client import s3_client
from localcloud.storage import atomic_write_bytes, sync_tree

MAX_UNZIPPED_BYTES = 262_144_000  # Lambda's 250 MB quota for the extracted package (layers included)
MAX_ZIP_REQUEST = 69_905_067  # "Request must be smaller than 69905067 bytes for the CreateFunction operation"


@dataclass(frozen=True)
class Package:
    data: bytes

    @cached_property
    def _digest(self) -> bytes:
        """Hashed once: a package can be 70 MB, and both forms are needed on every create or publish."""
        return hashlib.sha256(self.data).digest()

    @property
    def sha256_hex(self) -> str:
        return self._digest.hex()

    @property
    def code_sha256(self) -> str:
        """What Lambda reports as CodeSha256: the base64 of the SHA-256 digest."""
        return base64.b64encode(self._digest).decode()


def zip_path(folder: Path, sha256_hex: str) -> Path:
    """Where `extract` keeps a package's zip, beside its extracted folder."""
    return folder / f"{sha256_hex}.zip"


def fetch_package(config: CloudConfig, code: dict[str, Any], what: str) -> Package:
    """The zip given as `ZipFile` (base64 in the JSON body) or as `S3Bucket`/`S3Key` in our S3."""
    if code.get("ZipFile"):
        try:
            return Package(base64.b64decode(code["ZipFile"], validate=True))
        except (binascii.Error, ValueError):
            raise invalid(f"{what}.ZipFile is not valid base64.") from None
    if code.get("S3Bucket") and code.get("S3Key"):
        args = {"Bucket": code["S3Bucket"], "Key": code["S3Key"]}
        if code.get("S3ObjectVersion"):
            args["VersionId"] = code["S3ObjectVersion"]
        try:
            return Package(s3_client(config).get_object(**args)["Body"].read())
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise invalid(
                f"Error occurred while GetObject. S3 Error Code: {error.get('Code')}. "
                f"S3 Error Message: {error.get('Message')}"
            ) from None
    if code.get("ImageUri"):
        raise invalid("Container image functions are not supported by the local cloud; use a .zip package.")
    raise invalid(f"Please provide a source for function code ({what}.ZipFile or {what}.S3Bucket and S3Key).")


def extract(package: Package, folder: Path) -> Path:
    """`folder/<sha256>/` holding the package's files (extracted once, atomically) and its zip beside it."""
    target = folder / package.sha256_hex
    if target.is_dir():
        return target
    try:
        archive = zipfile.ZipFile(io.BytesIO(package.data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    if sum(info.file_size for info in infos) > MAX_UNZIPPED_BYTES:
        raise invalid(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder))
    try:
        archive.extractall(tmp)  # zipfile drops absolute paths and ".." components
        sync_tree(tmp)  # the files, not only their names, must survive a power cut
        os.replace(tmp, target)
    except zipfile.BadZipFile:
        shutil.rmtree(tmp, ignore_errors=True)
        raise invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not target.is_dir():  # otherwise a concurrent request extracted the same package first
            raise
    fsync_dir(folder)
    atomic_write_bytes(zip_path(folder, package.sha256_hex), package.data)
    return target
