"""Deploy a registered model behind its endpoint, and take endpoints down, with the SageMaker API: what
Terraform's endpoint module declares on AWS, with the same names.

A model being evaluated gets a temporary endpoint named after its training job, deleted afterwards.
Each model version gets its own SageMaker Model and EndpointConfig, both named after the version
(`ratingModel-v0003-1a2b3c4d`); the endpoint (`ratingModel`) is created once and afterwards
updated to the new config, so a redeploy swaps models without taking the endpoint down.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from jobs.stack.endpoints import EVALUATION_INSTANCE_TYPE, production_variants, wait_in_service
from jobs.stack.errors import sagemaker_resource_missing
from jobs.stack.names import Stack
from jobs.stack.registry import ModelRecord


def deploy_endpoint(
    sagemaker: Any, record: ModelRecord, image: str, role_arn: str, *, timeout: float = 600
) -> str:
    """Point `record.endpoint` at `record`'s model (`image` serving its artifact), and wait until it is
    InService. Returns what was done."""
    name = record.model_version
    if _describe(sagemaker.describe_model, ModelName=name) is None:
        sagemaker.create_model(
            ModelName=name,
            PrimaryContainer={"Image": image, "ModelDataUrl": record.artifact_uri},
            ExecutionRoleArn=role_arn,
        )
    if _describe(sagemaker.describe_endpoint_config, EndpointConfigName=name) is None:
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=production_variants(name),
        )
    endpoint = record.endpoint
    current = _describe(sagemaker.describe_endpoint, EndpointName=endpoint)
    if current is None:
        sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=name)
        action = "created"
    elif current["EndpointConfigName"] != name:
        sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=name)
        action = "updated"
    else:
        action = "unchanged"
    wait_in_service(sagemaker, endpoint, timeout)
    return action


def delete_endpoints(sagemaker: Any, stack: Stack) -> list[str]:
    """Delete the stack's endpoints and every model/config version they were built from."""
    deleted = []
    for slot in stack.models:
        if _describe(sagemaker.describe_endpoint, EndpointName=slot.endpoint) is not None:
            sagemaker.delete_endpoint(EndpointName=slot.endpoint)
            deleted.append(f"endpoint {slot.endpoint}")
        prefix = f"{slot.endpoint}-v"
        for config in _names(
            sagemaker.list_endpoint_configs, "EndpointConfigs", "EndpointConfigName", prefix
        ):
            sagemaker.delete_endpoint_config(EndpointConfigName=config)
            deleted.append(f"endpoint config {config}")
        for model in _names(sagemaker.list_models, "Models", "ModelName", prefix):
            sagemaker.delete_model(ModelName=model)
            deleted.append(f"model {model}")
    return deleted


def _names(list_call: Any, key: str, field: str, prefix: str) -> list[str]:
    names, token = [], None
    while True:
        page = list_call(NameContains=prefix, **({"NextToken": token} if token else {}))
        names += [item[field] for item in page[key] if item[field].startswith(prefix)]
        token = page.get("NextToken")
        if not token:
            return names


def _describe(describe: Any, **name: str) -> dict[str, Any] | None:
    """What a SageMaker `describe_*` call answers for `name`, or None if there is no such resource."""
    try:
        return describe(**name)
    except ClientError as err:
        if sagemaker_resource_missing(err):
            return None
        raise


@contextlib.contextmanager
def temporary_endpoint(
    sagemaker: Any,
    *,
    name: str,
    image: str,
    artifact_uri: str,
    role_arn: str,
    timeout: float = 1800,
    log: Callable[[str], None] = print,
) -> Iterator[str]:
    """Serve the artifact on endpoint `name` (Model and EndpointConfig of the same name) for the block,
    and delete all three whatever happens."""
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": image, "ModelDataUrl": artifact_uri},
        ExecutionRoleArn=role_arn,
    )
    try:
        sagemaker.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=production_variants(name, EVALUATION_INSTANCE_TYPE)
        )
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
        log(f"serving {name} on a temporary endpoint")
        wait_in_service(sagemaker, name, timeout)
        yield name
    finally:
        _delete_quietly(sagemaker.delete_endpoint, EndpointName=name)
        _delete_quietly(sagemaker.delete_endpoint_config, EndpointConfigName=name)
        _delete_quietly(sagemaker.delete_model, ModelName=name)


def _delete_quietly(delete: Any, **name: str) -> None:
    """Clean-up must not hide the error that interrupted the evaluation, and a resource that was never
    created is fine."""
    with contextlib.suppress(ClientError):
        delete(**name)
