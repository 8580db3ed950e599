"""Lambda's error shapes: `{"Type": "User", "message": ...}` (or "Message", as botocore's model has it
for ResourceNotFoundException) behind the `x-amzn-ErrorType` header. Texts name their public source."""

from __future__ import annotations

from typing import Any

from localcloud.awswire import AwsError, pattern_constraint, validation_message


def user_error(code: str, message: str, status: int, *, capital: bool = False, **fields: Any) -> AwsError:
    return AwsError(
        code,
        message,
        status,
        message_key="Message" if capital else "message",
        fields={"Type": "User", **fields},
    )


def invalid(message: str) -> AwsError:
    return user_error("InvalidParameterValueException", message, 400)


def validation_error(value: object, where: str, constraint: str) -> AwsError:
    """The framework's constraint error, e.g. "Value 'x' at 'role' failed to satisfy constraint: ..."."""
    return AwsError("ValidationException", validation_message(f"'{value}'", where, constraint))


def pattern_error(value: object, where: str, pattern: str) -> AwsError:
    return validation_error(value, where, pattern_constraint(pattern))


def function_not_found(arn: str) -> AwsError:
    """404, "Function not found: arn:…" (moto's UnknownFunctionException; botocore's shape has "Message")."""
    return user_error("ResourceNotFoundException", f"Function not found: {arn}", 404, capital=True)


def throttled(reason: str = "ReservedFunctionConcurrentInvocationLimitExceeded") -> AwsError:
    """429, "Rate Exceeded." (alexcasalboni/aws-lambda-power-tuning#133), with the modelled Reason."""
    return user_error("TooManyRequestsException", "Rate Exceeded.", 429, Reason=reason)


def too_large(operation: str, limit: int) -> AwsError:
    """413, "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    (pelmers/streetwarp-web#14, motdotla/node-lambda#123)."""
    return user_error(
        "RequestEntityTooLargeException",
        f"Request must be smaller than {limit} bytes for the {operation} operation",
        413,
    )
