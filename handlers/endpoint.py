"""Calling a SageMaker endpoint with Object2Vec's JSON wire format, failures mapped to answers.

A model that rejects the request as a client error (ids outside its vocabulary, say) is the
caller's mistake: 400 with the model's own message. A missing endpoint or one we cannot reach is
503; any other failure of the endpoint is 502, an answer of the wrong shape included.
"""

from __future__ import annotations

import json
import math
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from handlers.aws_errors import error_code
from handlers.fields import shown
from handlers.responses import BadRequest, Unavailable, UpstreamError

Instance = dict[str, list[int]]


def predict(
    runtime: Any, endpoint_name: str, instances: list[Instance], scores: tuple[int, ...]
) -> list[list[float]]:
    """POST `{"instances": [...]}` and return each prediction's `scores`, one per instance, in order.

    `scores` lists the lengths a prediction's scores may have: checked on every prediction, because the
    wrong model behind an endpoint name (or one answering embeddings) would otherwise give silently
    wrong answers, or a 500 instead of this 502.
    """
    body = json.dumps({"instances": instances})
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint_name,
            ContentType="application/json",
            Accept="application/json",
            Body=body,
        )
        payload = json.loads(response["Body"].read())
    except ClientError as err:
        raise _mapped(endpoint_name, err) from err
    except ReadTimeoutError as err:
        raise Unavailable(
            f"endpoint '{endpoint_name}' did not answer within {runtime.meta.config.read_timeout:g} s "
            f"({runtime.meta.config.retries['total_max_attempts']} attempts)"
        ) from err
    except BotoCoreError as err:
        raise Unavailable(f"endpoint '{endpoint_name}' is unreachable: {err}") from err
    except ValueError as err:
        raise UpstreamError(f"endpoint '{endpoint_name}' answered with invalid JSON: {err}") from err
    predictions = payload.get("predictions") if isinstance(payload, dict) else None
    if not isinstance(predictions, list) or len(predictions) != len(instances):
        raise UpstreamError(f"endpoint '{endpoint_name}' answered without one prediction per instance")
    return [_scores(endpoint_name, prediction, scores) for prediction in predictions]


def _scores(endpoint_name: str, prediction: Any, lengths: tuple[int, ...]) -> list[float]:
    """The prediction's scores: a list of the expected length of finite numbers (a model answering
    strings, nulls or NaN is a failing upstream, 502, never a 500 or a body that is not JSON)."""
    scores = prediction.get("scores") if isinstance(prediction, dict) else None
    if not isinstance(scores, list) or len(scores) not in lengths:
        expected = " or ".join(map(str, lengths))
        raise UpstreamError(
            f"endpoint '{endpoint_name}' answered {shown(scores)}; expected {expected} score(s) per pair"
        )
    if not all(_finite_number(score) for score in scores):
        raise UpstreamError(
            f"endpoint '{endpoint_name}' answered {shown(scores)}; scores must be finite numbers"
        )
    return [float(score) for score in scores]


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _mapped(endpoint_name: str, err: ClientError) -> Exception:
    code, message = error_code(err), err.response.get("Error", {}).get("Message", str(err))
    if code == "ModelError":
        original = err.response.get("OriginalStatusCode")
        detail = err.response.get("OriginalMessage") or message
        if isinstance(original, int) and 400 <= original < 500:
            return BadRequest(f"model behind '{endpoint_name}' rejected the request: {detail}")
        return UpstreamError(f"model behind '{endpoint_name}' failed: {detail}")
    if code in ("ValidationError", "ModelNotReadyException", "ServiceUnavailable"):
        return Unavailable(f"endpoint '{endpoint_name}' is not available: {message}")
    return UpstreamError(f"endpoint '{endpoint_name}' failed with {code}: {message}")
