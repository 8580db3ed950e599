"""The stack's bucket on the local cloud: created by `apply` and deleted by `destroy` (what Terraform's
bucket module declares on AWS)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from jobs.stack.errors import error_code


def ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError:
        pass
    # S3 refuses a LocationConstraint of us-east-1 (its original region): only other regions name one.
    options = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **options)


def delete_bucket(s3: Any, bucket: str) -> bool:
    """Delete every object version and the bucket; False if there was no such bucket."""
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket):
            objects = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
        s3.delete_bucket(Bucket=bucket)
    except ClientError as err:
        if error_code(err) == "NoSuchBucket":
            return False
        raise
    return True
