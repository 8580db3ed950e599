"""Errors of the stack operations (apply, train, deploy, test-events, destroy): one line each,
naming the resource and what to do. The CLI turns them into click errors."""

from __future__ import annotations

from botocore import exceptions as botocore_errors
from botocore.exceptions import ClientError


class StackError(Exception):
    """A stack operation could not be carried out."""


# What AWS or the environment answers, as opposed to a bug of ours: AWS's own refusals (one line already,
# "An error occurred (Code) when calling the Op operation: ..."), unreachable services and missing or
# expired credentials. A ParamValidationError is a malformed request of ours, so it is not here: its
# traceback must show.
AWS_ERRORS: tuple[type[Exception], ...] = (
    ClientError,
    botocore_errors.ConnectionError,
    botocore_errors.HTTPClientError,
    botocore_errors.NoCredentialsError,
    botocore_errors.PartialCredentialsError,
    botocore_errors.CredentialRetrievalError,
    botocore_errors.TokenRetrievalError,
    botocore_errors.SSOError,
    botocore_errors.NoRegionError,
    botocore_errors.ProfileNotFound,
)


def error_code(err: ClientError) -> str | None:
    """The AWS error code of a failed call (`NoSuchBucket`, `ValidationException`), if it has one."""
    return err.response.get("Error", {}).get("Code")


# SageMaker has no NotFound code: a missing Model/EndpointConfig/Endpoint is a ValidationException
# "Could not find ...", a missing model package (group) one that says it "does not exist".
_SAGEMAKER_MISSING = ("Could not find", "does not exist")


def sagemaker_resource_missing(err: ClientError) -> bool:
    """The SageMaker call failed because the resource it names does not exist."""
    message = err.response.get("Error", {}).get("Message", "")
    return error_code(err) == "ValidationException" and any(m in message for m in _SAGEMAKER_MISSING)
