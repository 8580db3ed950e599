"""Lambda's route table: the request URIs of botocore's `lambda/2015-03-31` model."""

from __future__ import annotations

from localcloud.awslambda.code import MAX_ZIP_REQUEST
from localcloud.awslambda.errors import too_large
from localcloud.awslambda.invocation import MAX_SYNC_PAYLOAD
from localcloud.awslambda.responses import LambdaResponses
from localcloud.awswire import Handler, Route, route

FUNCTION = r"/2015-03-31/functions/(?P<name>[^/]+)"
LAYER = r"/2018-10-31/layers/(?P<layer>[^/]+)/versions"


def limited(method: str, pattern: str, handler: Handler, operation: str, limit: int) -> Route:
    """A route whose oversize body gets Lambda's 413 naming the operation and its limit."""
    return route(method, pattern, handler, max_body=limit, too_large=lambda n: too_large(operation, limit))


def lambda_routes(r: LambdaResponses) -> list[Route]:
    return [
        limited("POST", f"{FUNCTION}/invocations", r.invoke, "InvokeFunction", MAX_SYNC_PAYLOAD),
        limited("POST", r"/2015-03-31/functions/?", r.create_function, "CreateFunction", MAX_ZIP_REQUEST),
        route("GET", r"/2015-03-31/functions/?", r.list_functions),
        route("GET", FUNCTION, r.get_function),
        route("DELETE", FUNCTION, r.delete_function),
        route("GET", f"{FUNCTION}/configuration", r.get_configuration),
        route("PUT", f"{FUNCTION}/configuration", r.update_configuration),
        limited("PUT", f"{FUNCTION}/code", r.update_code, "UpdateFunctionCode", MAX_ZIP_REQUEST),
        route("GET", r"/_localcloud/code/(?P<name>[^/]+)\.zip", r.code_zip),
        limited("POST", LAYER, r.publish_layer_version, "PublishLayerVersion", MAX_ZIP_REQUEST),
        route("GET", LAYER, r.list_layer_versions),
        route("GET", f"{LAYER}/(?P<version>[0-9]+)", r.get_layer_version),
        route("DELETE", f"{LAYER}/(?P<version>[0-9]+)", r.delete_layer_version),
        route("GET", r"/2018-10-31/layers/?", r.list_layers),
    ]
