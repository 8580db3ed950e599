"""SageMaker's route table: one port serves the control plane and the runtime (their URIs differ)."""

from __future__ import annotations

from localcloud.awswire import Route, route
from localcloud.sagemaker.responses import MAX_INVOKE_BODY, SageMakerResponses, body_too_large


def sagemaker_routes(responses: SageMakerResponses) -> list[Route]:
    return [
        route(
            "POST",
            r"/endpoints/(?P<name>[^/]+)/invocations",
            responses.invoke_endpoint,
            max_body=MAX_INVOKE_BODY,
            too_large=body_too_large,
        ),
        route("POST", r"/", responses.control_plane, aws_json=True),
    ]
