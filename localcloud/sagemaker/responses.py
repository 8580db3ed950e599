"""SageMaker's protocol layer: awsJson1_1 control plane (`POST /`, `X-Amz-Target: SageMaker.<Op>`)
and the rest-json runtime (`POST /endpoints/{EndpointName}/invocations`). Parses, calls a backend,
builds headers; no state of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localcloud.awswire import AwsError, Request, Response, json_response, shown
from localcloud.sagemaker.hosting import HostingBackend
from localcloud.sagemaker.model_registry import ModelRegistryBackend
from localcloud.sagemaker.training_jobs import TrainingBackend
from localcloud.validation import ShapeValidator

# botocore's sagemaker-runtime model: BodyBlob max 6291456 bytes. Beyond it AWS answers 413 with no
# error code, "HTTP content length exceeded N bytes." (aws/sagemaker-python-sdk#171).
MAX_INVOKE_BODY = 6 * 1024 * 1024
AMZ_JSON = "application/x-amz-json-1.1"


class SageMakerResponses:
    def __init__(
        self, hosting: HostingBackend, training: TrainingBackend, registry: ModelRegistryBackend | None = None
    ) -> None:
        self.hosting = hosting
        self.training = training
        self.validator = ShapeValidator("sagemaker")
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateModel": hosting.create_model,
            "DescribeModel": hosting.describe_model,
            "DeleteModel": hosting.delete_model,
            "ListModels": hosting.list_models,
            "CreateEndpointConfig": hosting.create_endpoint_config,
            "DescribeEndpointConfig": hosting.describe_endpoint_config,
            "DeleteEndpointConfig": hosting.delete_endpoint_config,
            "ListEndpointConfigs": hosting.list_endpoint_configs,
            "CreateEndpoint": hosting.create_endpoint,
            "UpdateEndpoint": hosting.update_endpoint,
            "DescribeEndpoint": hosting.describe_endpoint,
            "DeleteEndpoint": hosting.delete_endpoint,
            "ListEndpoints": hosting.list_endpoints,
            "CreateTrainingJob": training.create_training_job,
            "DescribeTrainingJob": training.describe_training_job,
            "StopTrainingJob": training.stop_training_job,
            "ListTrainingJobs": training.list_training_jobs,
        }
        if registry is not None:
            self.operations.update(registry.operations())

    def control_plane(self, request: Request) -> Response:
        target = request.header("X-Amz-Target") or ""
        service, _, operation = target.partition(".")
        handler = self.operations.get(operation) if service == "SageMaker" else None
        if handler is None:
            raise AwsError(
                "UnknownOperationException",
                f"Operation {shown(target) or '(no X-Amz-Target)'} is not supported",
            )
        body = request.json()
        self.validator.check(operation, body)
        return json_response(handler(body), content_type=AMZ_JSON)

    def invoke_endpoint(self, request: Request) -> Response:
        body, content_type, variant = self.hosting.invoke(
            request.params["name"],
            request.body,
            request.header("Content-Type") or "application/octet-stream",
            request.header("Accept"),
            request.header("X-Amzn-SageMaker-Target-Variant"),
        )
        return Response(
            200, body, {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": variant}
        )


def body_too_large(length: int) -> AwsError:
    return AwsError(
        "413", f"HTTP content length exceeded {MAX_INVOKE_BODY} bytes.", 413, error_type_header=False
    )
