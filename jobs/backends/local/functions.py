"""Deploy and delete the stack's Lambda functions through the Lambda API (create or update): what
Terraform's function module declares on AWS, with the same names and settings."""

from __future__ import annotations

from typing import Any

from jobs.stack.lambda_package import code_sha256
from jobs.stack.names import FunctionSpec, Stack

RUNTIME = "python3.12"
_WAIT = {"Delay": 1, "MaxAttempts": 120}


def deploy_function(
    lambda_client: Any, stack: Stack, spec: FunctionSpec, package: bytes, role_arn: str
) -> str:
    """Create the function, or bring its code and configuration up to date. Returns what was done."""
    configuration = {
        "Runtime": RUNTIME,
        "Role": role_arn,
        "Handler": spec.handler,
        "Timeout": spec.timeout,
        "MemorySize": spec.memory_size,
        "Environment": {"Variables": stack.function_environment(spec)},
    }
    try:
        current = lambda_client.get_function_configuration(FunctionName=spec.name)
    except lambda_client.exceptions.ResourceNotFoundException:
        lambda_client.create_function(FunctionName=spec.name, Code={"ZipFile": package}, **configuration)
        lambda_client.get_waiter("function_active_v2").wait(FunctionName=spec.name, WaiterConfig=_WAIT)
        return "created"
    changed = []
    if current.get("CodeSha256") != code_sha256(package):
        lambda_client.update_function_code(FunctionName=spec.name, ZipFile=package)
        lambda_client.get_waiter("function_updated_v2").wait(FunctionName=spec.name, WaiterConfig=_WAIT)
        changed.append("code")
    if _differs(current, configuration):
        lambda_client.update_function_configuration(FunctionName=spec.name, **configuration)
        lambda_client.get_waiter("function_updated_v2").wait(FunctionName=spec.name, WaiterConfig=_WAIT)
        changed.append("configuration")
    return "updated " + " and ".join(changed) if changed else "unchanged"


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    variables = current.get("Environment", {}).get("Variables", {})
    if variables != wanted["Environment"]["Variables"]:
        return True
    return any(current.get(key) != value for key, value in wanted.items() if key != "Environment")


def delete_function(lambda_client: Any, name: str) -> bool:
    try:
        lambda_client.delete_function(FunctionName=name)
    except lambda_client.exceptions.ResourceNotFoundException:
        return False
    return True
