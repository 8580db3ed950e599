"""Lambda's route table: the request URIs of botocore's `lambda/2015-03-31` model."""

from __future__ import annotations

from localcloud.awslambda.code import MAX_ZIP_REQUEST
from localcloud.awslambda.errors import too_large
from localcloud.awslambda.invocation import MAX_SYNC_PAYLOAD
from localcloud.awslambda.responses import LambdaResponses
from localcloud.protocol import Route, route

FUNCTION = r"/2015-03-31/functions/(?P<name>[^/]+)"
LAYER = r"/2018-10-31/layers/(?P<layer>[^/]+)/versions"


def lambda_routes(r: LambdaResponses) -> list[Route]:
    zip_limit = {"max_body": MAX_ZIP_REQUEST}
    return [
        route(
            "POST",
            f"{FUNCTION}/invocations",
            r.invoke,
            max_body=MAX_SYNC_PAYLOAD,
            too_large=lambda n: too_large("InvokeFunction", MAX_SYNC_PAYLOAD),
        ),
        route(
            "POST",
            r"/2015-03-31/functions/?",
            r.create_function,
            **zip_limit,
            too_large=lambda n: too_large("CreateFunction", MAX_ZIP_REQUEST),
        ),
        route("GET", r"/2015-03-31/functions/?", r.list_functions),
        route("GET", FUNCTION, r.get_function),
        route("DELETE", FUNCTION, r.delete_function),
        route("GET", f"{FUNCTION}/configuration", r.get_configuration),
        route("PUT", f"{FUNCTION}/configuration", r.update_configuration),
        route(
            "PUT",
            f"{FUNCTION}/code",
            r.update_code,
            **zip_limit,
            too_large=lambda n: too_large("UpdateFunctionCode", MAX_ZIP_REQUEST),
        ),
        route("GET", r"/_localcloud/code/(?P<name>[^/]+)\.zip", r.code_zip),
        route(
            "POST",
            LAYER,
            r.publish_layer_version,
            **zip_limit,
            too_large=lambda n: too_large("PublishLayerVersion", MAX_ZIP_REQUEST),
        ),
        route("GET", LAYER, r.list_layer_versions),
        route("GET", f"{LAYER}/(?P<version>[0-9]+)", r.get_layer_version),
        route("DELETE", f"{LAYER}/(?P<version>[0-9]+)", r.delete_layer_version),
        route("GET", r"/2018-10-31/layers/?", r.list_layers),
    ]
