"""What every SageMaker endpoint of the stack shares, whoever creates it (Terraform on AWS, the local
backend, and both for the temporary endpoints that measure a new model): its variant, instance type,
and how to wait for it to serve."""

from __future__ import annotations

import time
from typing import Any

from jobs.stack.errors import StackError

VARIANT = "AllTraffic"
INSTANCE_TYPE = "ml.m4.xlarge"  # the workshop's hosting instance; the local cloud ignores it
# The temporary endpoints that measure a new model live for minutes: the smallest general-purpose
# instance available in every SageMaker region will do.
EVALUATION_INSTANCE_TYPE = "ml.m5.large"


def production_variants(model_name: str, instance_type: str = INSTANCE_TYPE) -> list[dict[str, Any]]:
    """An EndpointConfig's one variant: all traffic to `model_name` on one instance."""
    return [
        {
            "VariantName": VARIANT,
            "ModelName": model_name,
            "InitialInstanceCount": 1,
            "InstanceType": instance_type,
        }
    ]


def wait_in_service(sagemaker: Any, endpoint: str, timeout: float) -> None:
    # boto3's endpoint_in_service waiter polls every 30 s; a local endpoint is ready in well under one.
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        description = sagemaker.describe_endpoint(EndpointName=endpoint)
        state = description["EndpointStatus"]
        if state == "InService":
            return
        if state == "Failed":
            raise StackError(
                f"endpoint {endpoint} failed: {description.get('FailureReason', 'no reason given')}"
            )
        if time.monotonic() > deadline:
            raise StackError(f"endpoint {endpoint} is still {state} after {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 15.0)
