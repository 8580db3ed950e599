"""Lambda's protocol layer (rest-json, `/2015-03-31/functions/...`, `/2018-10-31/layers/...`):
parse paths, query strings and headers, call the backend, build status codes and headers."""

from __future__ import annotations

from typing import Any

from localcloud.awslambda.errors import invalid
from localcloud.awslambda.functions import LambdaBackend
from localcloud.awswire import Request, Response, json_response
from localcloud.validation import ShapeValidator


class LambdaResponses:
    def __init__(self, backend: LambdaBackend) -> None:
        self.backend = backend
        self.validator = ShapeValidator("lambda")

    def _body(self, request: Request, operation: str) -> dict[str, Any]:
        """The JSON body, checked against the operation's input shape (one validation step per action)."""
        body = request.json()
        self.validator.check(operation, body)
        return body

    # -- functions --------------------------------------------------------------------------------

    def create_function(self, request: Request) -> Response:
        return json_response(self.backend.create_function(self._body(request, "CreateFunction")), 201)

    def list_functions(self, request: Request) -> Response:
        max_items = request.query_one("MaxItems")
        return json_response(self.backend.list_functions(request.query_one("Marker"), _int(max_items)))

    def get_function(self, request: Request) -> Response:
        return json_response(
            self.backend.get_function(request.params["name"], request.query_one("Qualifier"))
        )

    def get_configuration(self, request: Request) -> Response:
        name, qualifier = request.params["name"], request.query_one("Qualifier")
        return json_response(self.backend.get_configuration(name, qualifier))

    def update_configuration(self, request: Request) -> Response:
        return json_response(
            self.backend.update_configuration(
                request.params["name"], self._body(request, "UpdateFunctionConfiguration")
            )
        )

    def update_code(self, request: Request) -> Response:
        return json_response(
            self.backend.update_code(request.params["name"], self._body(request, "UpdateFunctionCode"))
        )

    def delete_function(self, request: Request) -> Response:
        self.backend.delete_function(request.params["name"])
        return Response(204)

    def code_zip(self, request: Request) -> Response:
        return Response(
            200, self.backend.code_zip(request.params["name"]), {"Content-Type": "application/zip"}
        )

    def invoke(self, request: Request) -> Response:
        result = self.backend.invoke(
            request.params["name"],
            request.query_one("Qualifier"),
            request.body,
            request.header("X-Amz-Invocation-Type"),
            request.header("X-Amz-Log-Type"),
            request.header("X-Amz-Client-Context"),
        )
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Executed-Version": "$LATEST",
            "x-amzn-RequestId": result.request_id,  # the invocation's id, as in its log and error payloads
        }
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if result.log_result is not None:
            headers["X-Amz-Log-Result"] = result.log_result
        return Response(result.status, result.payload, headers)

    # -- layers -----------------------------------------------------------------------------------

    def publish_layer_version(self, request: Request) -> Response:
        return json_response(
            self.backend.layers.publish(request.params["layer"], self._body(request, "PublishLayerVersion")),
            201,
        )

    def get_layer_version(self, request: Request) -> Response:
        layer, version = request.params["layer"], _int(request.params["version"]) or 0
        return json_response(self.backend.layers.get(layer, version))

    def delete_layer_version(self, request: Request) -> Response:
        self.backend.layers.delete(request.params["layer"], _int(request.params["version"]) or 0)
        return Response(204)

    def list_layer_versions(self, request: Request) -> Response:
        return json_response({"LayerVersions": self.backend.layers.list_versions(request.params["layer"])})

    def list_layers(self, request: Request) -> Response:
        return json_response({"Layers": self.backend.layers.list_layers()})


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid(f"{value!r} is not an integer.") from None
