"""The recommendation engine when its dependencies fail: every failure is a 502/503 answer in time.

The handler runs in this process against moto's S3 server and a small stand-in for the SageMaker
runtime that misbehaves on purpose (per endpoint name), both over real HTTP, so the answers come
from the handler's own botocore error handling and timeouts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import pytest
from localcloud_support import free_ports, serving
from moto.server import ThreadedMotoServer

from handlers import contract, recommendation_engine, settings

BUCKET = "upstream-bucket"
PAIR = {"type": "rating", "user_id": 1, "movie_id": 1}


class MisbehavingRuntime(BaseHTTPRequestHandler):
    """POST /endpoints/{name}/invocations, answering according to {name}."""

    def do_POST(self) -> None:
        name = self.path.split("/")[2]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        count = len(body["instances"])
        if name == "hung":
            time.sleep(3)
            self._send(200, {"predictions": [{"scores": [3.0]}] * count})
        elif name == "crashing-model":  # the model answered 500: SageMaker's ModelError, status 424
            self._send(
                424,
                {
                    "OriginalStatusCode": 500,
                    "OriginalMessage": "CUDA out of memory",
                    "message": "model failed",
                },
                error_type="ModelError",
            )
        elif name == "not-json":
            self._send(200, b"<html>gateway</html>")
        elif name == "too-few":
            self._send(200, {"predictions": []})
        elif name == "classifier":  # two scores where the rating model gives one
            self._send(200, {"predictions": [{"scores": [0.4, 0.6]}] * count})
        elif name == "embedder":  # a model answering embeddings, no scores at all
            self._send(200, {"predictions": [{"embeddings": [0.1, 0.2]}] * count})
        elif name in ("strings", "nulls", "nan"):  # scores that are not finite numbers
            score = {"strings": '"x"', "nulls": "null", "nan": "NaN"}[name]
            self._send(200, b'{"predictions": [{"scores": [%s]}]}' % score.encode())
        elif name == "ragged":  # only the first prediction is well-formed
            self._send(200, {"predictions": [{"scores": [3.0]}] + [{"scores": []}] * (count - 1)})
        else:
            self._send(400, {"message": f"Endpoint {name} not found."}, error_type="ValidationError")

    def _send(self, status: int, payload: Any, error_type: str | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def services() -> Iterator[dict[str, str]]:
    s3_port, runtime_port, closed_port = free_ports(3)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port)
    moto.start()
    s3_url = f"http://127.0.0.1:{s3_port}"
    s3 = boto3.client("s3", endpoint_url=s3_url)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=f"{contract.DEFAULT_DATA_PREFIX}/u.item", Body=b"1|Toy Story (1995)|x\n")
    # User 1 rated movie 1 only, so a top-k request for it asks the model about movie 2.
    s3.put_object(
        Bucket=BUCKET, Key=f"{contract.DEFAULT_DATA_PREFIX}/ua.base", Body=b"1\t1\t5\t0\n2\t2\t4\t0\n"
    )
    with serving(MisbehavingRuntime, port=runtime_port) as runtime_url:
        yield {"s3": s3_url, "runtime": runtime_url, "closed": f"http://127.0.0.1:{closed_port}"}
    moto.stop()


@pytest.fixture
def function_env(monkeypatch: pytest.MonkeyPatch, services: dict[str, str]) -> pytest.MonkeyPatch:
    """A fresh container: no cached clients or files, the stand-in services configured."""
    settings.client.cache_clear()
    recommendation_engine.data_file.cache_clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", services["s3"])
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", services["runtime"])
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    monkeypatch.setenv("DEPENDENCY_TIMEOUT_SECONDS", "0.5")
    yield monkeypatch
    settings.client.cache_clear()
    recommendation_engine.data_file.cache_clear()


def answer(event: dict[str, Any]) -> tuple[int, str]:
    response = recommendation_engine.lambda_handler(event, None)
    return response["statusCode"], json.loads(response["body"])["message"]


@pytest.mark.parametrize(
    ("endpoint", "status", "message"),
    [
        ("hung", 503, "endpoint 'hung' did not answer within 0.5 s (2 attempts)"),
        ("crashing-model", 502, "model behind 'crashing-model' failed: CUDA out of memory"),
        ("not-json", 502, "endpoint 'not-json' answered with invalid JSON"),
        ("too-few", 502, "endpoint 'too-few' answered without one prediction per instance"),
        ("classifier", 502, "endpoint 'classifier' answered [0.4, 0.6]; expected 1 score(s) per pair"),
        ("deleted", 503, "endpoint 'deleted' is not available: Endpoint deleted not found."),
    ],
)
def test_a_failing_endpoint_is_an_answer(
    function_env: pytest.MonkeyPatch, endpoint: str, status: int, message: str
) -> None:
    function_env.setenv("ENDPOINT_NAME_RATING", endpoint)
    got_status, got_message = answer(PAIR)
    assert got_status == status
    assert got_message.startswith(message)


@pytest.mark.parametrize(
    ("variable", "endpoint", "event", "message"),
    [
        (
            "ENDPOINT_NAME_TOPN",
            "embedder",
            {"type": "top_k", "user_id": 1},
            "endpoint 'embedder' answered None; expected 1 or 2 score(s) per pair",
        ),
        (
            "ENDPOINT_NAME_TOPN",
            "too-few",
            {"type": "top_k", "user_id": 1},
            "endpoint 'too-few' answered without one prediction per instance",
        ),
        (
            "ENDPOINT_NAME_RATING",
            "ragged",
            {"type": "rating", "pairs": [[1, 1], [1, 1]]},
            "endpoint 'ragged' answered []; expected 1 score(s) per pair",
        ),
        (
            "ENDPOINT_NAME_REC",
            "embedder",
            {"type": "recommendation", "user_id": 1, "movie_id": 1},
            "endpoint 'embedder' answered None; expected 2 score(s) per pair",
        ),
    ],
)
def test_every_prediction_of_every_event_type_is_checked(
    function_env: pytest.MonkeyPatch, variable: str, endpoint: str, event: dict[str, Any], message: str
) -> None:
    function_env.setenv(variable, endpoint)
    assert answer(event) == (502, message)


@pytest.mark.parametrize(("endpoint", "shown"), [("strings", "['x']"), ("nulls", "[None]"), ("nan", "[nan]")])
def test_scores_that_are_not_finite_numbers_are_a_502(
    function_env: pytest.MonkeyPatch, endpoint: str, shown: str
) -> None:
    """Issue 9, finding 9: ["x"] and [null] were a 500, [NaN] a 200 whose body was not JSON."""
    function_env.setenv("ENDPOINT_NAME_RATING", endpoint)
    response = recommendation_engine.lambda_handler(PAIR, None)
    body = json.loads(response["body"], parse_constant=lambda name: pytest.fail(f"{name} in the body"))
    assert (response["statusCode"], body["message"]) == (
        502,
        f"endpoint '{endpoint}' answered {shown}; scores must be finite numbers",
    )


def test_an_unreachable_endpoint_is_a_503(function_env: pytest.MonkeyPatch, services: dict[str, str]) -> None:
    function_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", services["closed"])
    function_env.setenv("ENDPOINT_NAME_RATING", "ratingModel")
    status, message = answer(PAIR)
    assert status == 503
    assert message.startswith("endpoint 'ratingModel' is unreachable: Could not connect to the endpoint URL")


def test_an_unreachable_bucket_is_a_503(function_env: pytest.MonkeyPatch, services: dict[str, str]) -> None:
    function_env.setenv("AWS_ENDPOINT_URL_S3", services["closed"])
    function_env.setenv("ENDPOINT_NAME_RATING", "classifier")
    status, message = answer(PAIR)
    assert status == 503
    assert message.startswith(f"cannot reach S3 for s3://{BUCKET}/{contract.DEFAULT_DATA_PREFIX}/u.item")


def test_a_bad_timeout_setting_is_a_500_naming_it(function_env: pytest.MonkeyPatch) -> None:
    function_env.setenv("ENDPOINT_NAME_RATING", "classifier")
    function_env.setenv("DEPENDENCY_TIMEOUT_SECONDS", "soon")
    assert answer(PAIR) == (
        500,
        "environment variable DEPENDENCY_TIMEOUT_SECONDS must be a number, got 'soon'",
    )


def test_the_default_budget_fits_inside_the_function_timeout() -> None:
    from jobs.stack.names import Stack

    attempt = settings.CONNECT_TIMEOUT + settings.DEFAULT_DEPENDENCY_TIMEOUT
    worst_call = settings.ATTEMPTS * attempt + 1  # plus botocore's backoff, under 1 s
    # A failed call ends the invocation; room for one slow-but-successful call (the catalog) before it.
    assert 2 * worst_call < Stack().recommendation_function.timeout
