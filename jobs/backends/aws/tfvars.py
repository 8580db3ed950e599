"""Terraform's variables files, written from the `Stack`: names go one way, Python -> JSON -> Terraform.

`terraform/stack.auto.tfvars.json` (committed) holds the default Stack's names, and a test regenerates
and compares it; a run with other names (a bucket of the user's own) writes the same shape to a
git-ignored file passed with `-var-file`, which overrides it. The built zips and the registered models
go to git-ignored `*.auto.tfvars.json` files beside it (terraform/README.md, "Variables files").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.atomic import write_json_atomic
from handlers import contract
from jobs.paths import repo_root
from jobs.stack.endpoints import EVALUATION_INSTANCE_TYPE
from jobs.stack.lambda_package import code_sha256
from jobs.stack.names import FunctionSpec, Stack
from jobs.stack.registry import ModelRecord

TERRAFORM_DIR = repo_root() / "terraform"
STACK_VARS = "stack.auto.tfvars.json"
BUILD_VARS = "build.auto.tfvars.json"
MODELS_VARS = "models.auto.tfvars.json"


@dataclass(frozen=True)
class StackSettings:
    """What Terraform needs besides the Stack's names: where, under which prefix, how to tear down."""

    region: str = "us-east-1"
    name_prefix: str = "o2v-demo"
    # The demo stack: `make destroy` deletes the bucket with everything in it (all of it rebuilds).
    force_destroy: bool = True


def function_access(stack: Stack, spec: FunctionSpec) -> tuple[list[str], list[str]]:
    """The endpoints a function invokes and the object keys it reads (exact keys, or prefixes ending
    in '/'): what its IAM role is built from. Follows what each handler does (the contract tests
    check it against their code)."""
    if spec == stack.recommendation_function:
        return [slot.endpoint for slot in stack.models], sorted(
            stack.data_key(n) for n in contract.DATA_FILES
        )
    return [], [contract.index_prefix_of(stack.index_prefix, stack.retrieval_endpoint)]


def stack_variables(stack: Stack, settings: StackSettings) -> dict[str, Any]:
    functions = {}
    for spec in stack.functions:
        invokes, reads = function_access(stack, spec)
        functions[spec.name] = {
            "handler": spec.handler,
            "timeout": spec.timeout,
            "memory_size": spec.memory_size,
            "environment": stack.function_environment(spec),
            "invokes_endpoints": invokes,
            "reads_keys": reads,
        }
    return {
        "region": settings.region,
        "name_prefix": settings.name_prefix,
        "bucket_name": stack.bucket,
        "force_destroy": settings.force_destroy,
        "prefixes": {
            "data": stack.data_prefix,
            "input": stack.input_prefix,
            "output": stack.output_prefix,
            "registry": stack.registry_prefix,
            "index": stack.index_prefix,
        },
        "endpoint_names": [slot.endpoint for slot in stack.models],
        "functions": functions,
    }


def package_variable(path: Path) -> dict[str, str]:
    """A zip as Terraform's package variables take it: absolute path, base64 SHA-256 of its bytes."""
    return {"path": str(path.resolve()), "sha256_base64": code_sha256(path.read_bytes())}


def build_variables(lambda_zip: Path, layer_zip: Path) -> dict[str, Any]:
    return {"lambda_package": package_variable(lambda_zip), "layer_package": package_variable(layer_zip)}


@dataclass(frozen=True)
class EndpointSizing:
    """How an endpoint is hosted: instances (type, count) or, when `serverless_memory_mb` is set,
    serverless inference with that memory and concurrency."""

    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int = 5

    def variables(self) -> dict[str, Any]:
        if self.serverless_memory_mb is not None:
            memory, concurrency = self.serverless_memory_mb, self.serverless_max_concurrency
            return {"serverless": {"memory_size_in_mb": memory, "max_concurrency": concurrency}}
        return {"instance_type": self.instance_type, "instance_count": self.instance_count}


def models_variables(
    current: Mapping[str, Any], records: Sequence[ModelRecord], sizing: EndpointSizing
) -> dict[str, Any]:
    """`current` (the models file as it is) with each record's endpoint moved to the record's version;
    endpoints without a new record keep theirs, so deploying one model never removes another."""
    models = dict(current.get("models", {}))
    for record in records:
        models[record.endpoint] = {
            "model_version": record.model_version,
            "model_data_url": record.artifact_uri,
            **sizing.variables(),
        }
    return {**current, "models": models}


def evaluations_variables(current: Mapping[str, Any], evaluations: Mapping[str, str]) -> dict[str, Any]:
    """`current` with the temporary evaluation endpoints set to `evaluations` (endpoint name -> artifact
    URI) and nothing else: an evaluation a crash left behind is removed by the next one."""
    endpoints = {
        name: {"model_version": name, "model_data_url": uri, "instance_type": EVALUATION_INSTANCE_TYPE}
        for name, uri in evaluations.items()
    }
    return {**current, "evaluations": endpoints}


def read_variables(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def write_variables(path: Path, variables: Mapping[str, Any]) -> Path:
    """Written under a temporary name and renamed, so Terraform never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, dict(variables))
    return path
