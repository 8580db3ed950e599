"""SageMaker's runtime, as plain Python: InvokeEndpoint on the variants an endpoint has loaded.

What is live is kept here (endpoint name → its loaded variants); `deployment.py` swaps entries in
atomically, so an invocation sees either the old models or the new ones, never a gap.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from dataclasses import dataclass

from localcloud.awswire import AwsError
from localcloud.config import ACCOUNT_ID, CloudConfig
from localcloud.sagemaker.container import InvocationTimeout, ModelContainer
from localcloud.sagemaker.modelservers import ModelRequestError

# InvokeEndpoint answers at most 6 MB ("Maximum payload size for a response: 6 MB", SageMaker quotas).
MAX_RESPONSE_BODY = 6 * 1024 * 1024
# What SageMaker answers when a container takes over 60 s: 424 ModelError, "Received server error (0)
# from primary with message ..." (RamVegiraju/SageMaker-Deployment#3, aws/amazon-sagemaker-examples#799).
TIMED_OUT = (
    "Your invocation timed out while waiting for a response from container primary. Review the latency "
    "metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)
RESTORE_WAIT_SECONDS = 120.0
log = logging.getLogger("localcloud.sagemaker")


@dataclass
class LiveVariant:
    name: str
    weight: float
    # A model server is not assumed thread-safe: one request at a time per variant (2 cores anyway).
    container: ModelContainer


@dataclass
class LiveEndpoint:
    variants: list[LiveVariant]

    def pick(self, endpoint: str, target: str | None) -> LiveVariant:
        if target:
            for variant in self.variants:
                if variant.name == target:
                    return variant
            raise AwsError("ValidationError", f"The variant {target} does not exist for endpoint {endpoint}.")
        weights = [v.weight if math.isfinite(v.weight) and v.weight > 0 else 0.0 for v in self.variants]
        if len(self.variants) == 1 or not any(weights):
            return self.variants[0]
        return random.choices(self.variants, weights=weights)[0]


class EndpointRuntime:
    def __init__(self, config: CloudConfig) -> None:
        self.config = config
        self.live: dict[str, LiveEndpoint] = {}
        self.restored = threading.Event()  # set once the endpoints of the last run are loaded again

    def invoke(
        self,
        name: str,
        body: bytes,
        content_type: str,
        accept: str | None,
        target_variant: str | None,
        *,
        known: bool,
    ) -> tuple[bytes, str, str]:
        """(body, content type, variant name) of one InvokeEndpoint call. `known`: the endpoint has a
        record (it may still be reloading after a restart)."""
        live = self.live.get(name)
        if live is None and known and not self.restored.is_set():
            self.restored.wait(RESTORE_WAIT_SECONDS)  # just restarted: the model is being reloaded
            live = self.live.get(name)
        if live is None:
            raise AwsError("ValidationError", f"Endpoint {name} of account {ACCOUNT_ID} not found.")
        variant = live.pick(name, target_variant)
        timeout = self.config.endpoint_timeout_seconds
        try:
            out, out_type = variant.container.invoke(body, content_type, accept, timeout)
        except ModelRequestError as exc:
            raise self._model_error(name, exc.status, str(exc)) from exc
        except InvocationTimeout as exc:
            log.warning("endpoint %s variant %s: %s; answered 424 ModelError", name, variant.name, exc)
            raise self._model_error(name, 0, TIMED_OUT) from exc
        except Exception as exc:  # the model server crashed on this request: a 500 from the container
            log.exception("endpoint %s variant %s failed", name, variant.name)
            raise self._model_error(name, 500, f"{type(exc).__name__}: {exc}") from exc
        if len(out) > MAX_RESPONSE_BODY:
            # A real endpoint cannot send it either; failing here keeps code that works locally honest.
            message = (
                f"response of {len(out)} bytes exceeds the {MAX_RESPONSE_BODY}-byte InvokeEndpoint limit"
            )
            raise self._model_error(name, 500, message)
        return out, out_type, variant.name

    def _model_error(self, name: str, status: int, message: str) -> AwsError:
        """424 ModelError with the members of botocore's ModelError shape; the message reads like
        AWS's ("Received client error (400) from primary with message ..."; see
        aws/amazon-sagemaker-examples#302 and aws-samples/amazon-sagemaker-custom-recommender-system#2)."""
        region = self.config.region
        kind = "client" if 400 <= status < 500 else "server"
        group = f"/aws/sagemaker/Endpoints/{name}"
        console = f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group={group}"
        return AwsError(
            "ModelError",
            f'Received {kind} error ({status}) from primary with message "{message}". '
            f"See {console} in account {ACCOUNT_ID} for more information.",
            424,
            message_key="Message",
            fields={
                "OriginalStatusCode": status,
                "OriginalMessage": message,
                "LogStreamArn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}",
            },
        )
