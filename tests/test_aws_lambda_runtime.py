"""Each handler as Lambda's python3.12 runtime runs it: Python 3.12, isolated, with nothing on its
path but the deployment zip, the numpy layer and boto3 (which the runtime provides), answering a
workshop event against the local cloud by endpoint URL."""

from __future__ import annotations

import importlib.metadata
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator

import numpy as np
import pytest
from localcloud_support import Cloud, cloud_config
from test_aws_lambda_layer import PYTHON312

import localcloud
from handlers import contract
from jobs.backends.aws.lambda_layer import LayerSpec, build_layer
from jobs.paths import EVENTS_DIR
from jobs.stack.lambda_package import build_handlers_zip
from jobs.stack.names import Stack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PYTHON312 is None, reason="Python 3.12 (the Lambda runtime) is not installed"),
]
SCORES_IMAGE = "000000000000.dkr.ecr.us-east-1.amazonaws.com/scores-model:1"
BOTO3_PIN = next(
    r for r in importlib.metadata.requires("object2vec-recommender") or [] if r.startswith("boto3")
)
TITLES = (  # u.item's layout: id|title|release|video release|IMDb URL|genre flags
    "286|English Patient, The (1996)|15-Nov-1996||http://x|0|0\n"
    "2|GoldenEye (1995)|01-Jan-1995||http://x|0|1\n"
    "3|Four Rooms (1995)|01-Jan-1995||http://x|0|0\n"
)
RUN = """
import importlib, json, sys
module, event = sys.argv[1], json.loads(sys.argv[2])
handler = importlib.import_module(module).lambda_handler
print(json.dumps({"answer": handler(event, None), "python": sys.version.split()[0], "paths": sys.path}))
"""


@pytest.fixture(scope="module")
def runtime_path(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """/var/task (the handlers zip), /opt/python (the layer), and boto3 as the runtime has it."""
    root = tmp_path_factory.mktemp("lambda")
    with zipfile.ZipFile(io.BytesIO(build_handlers_zip())) as archive:
        archive.extractall(root / "task")
    with zipfile.ZipFile(build_layer(LayerSpec(), root / "layers")) as archive:
        archive.extractall(root / "opt")
    for library in (root / "opt").rglob("*.so"):
        library.chmod(0o755)
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
    ]
    pure = ["--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp"]
    subprocess.run(
        [*pip, "--target", str(root / "runtime"), *pure, BOTO3_PIN], check=True, capture_output=True
    )
    return [str(root / "task"), str(root / "opt" / "python"), str(root / "runtime")]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    scores = ("*/scores-model:*=localcloud_support:load_scores",)
    running = Cloud(cloud_config(tmp_path_factory.mktemp("localcloud"), model_servers=scores))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(cloud: Cloud) -> Stack:
    """The bucket with the catalog, a retrieval index, and a rating endpoint: what the events need."""
    stack = Stack(bucket="runtime-test")
    s3, sagemaker = cloud.client("s3"), cloud.client("sagemaker")
    s3.create_bucket(Bucket=stack.bucket)
    s3.put_object(
        Bucket=stack.bucket, Key=stack.data_key(contract.TITLES_FILE), Body=TITLES.encode("iso-8859-1")
    )
    endpoint = stack.retrieval_endpoint
    buffer = io.BytesIO()
    np.savez(
        buffer,
        **{
            contract.NPZ_MOVIE_IDS: np.array([286, 2, 3], dtype=np.int32),
            contract.NPZ_EMBEDDINGS: np.array([[1, 0], [0, 1], [0.1, 0.9]], dtype=np.float32),
            contract.NPZ_CATALOG_IDS: np.array([286, 2, 3], dtype=np.int32),
            contract.NPZ_CATALOG_TITLES: np.array(
                ["English Patient, The (1996)", "GoldenEye (1995)", "Four Rooms (1995)"]
            ),
        },
    )
    index_key = contract.index_object_key(stack.index_prefix, endpoint, "topNModel-v0001-00000000")
    s3.put_object(Bucket=stack.bucket, Key=index_key, Body=buffer.getvalue())
    pointer = {
        contract.POINTER_INDEX_KEY: index_key,
        contract.POINTER_MODEL_VERSION: "topNModel-v0001-00000000",
    }
    s3.put_object(
        Bucket=stack.bucket,
        Key=contract.index_pointer_key(stack.index_prefix, endpoint),
        Body=json.dumps(pointer).encode(),
    )
    s3.put_object(Bucket=stack.bucket, Key="scores/model.tar.gz", Body=b"unused by the scores model")
    for name in (stack.rating.endpoint,):
        sagemaker.create_model(
            ModelName=name,
            PrimaryContainer={
                "Image": SCORES_IMAGE,
                "ModelDataUrl": f"s3://{stack.bucket}/scores/model.tar.gz",
            },
            ExecutionRoleArn="arn:aws:iam::123456789012:role/test-role",
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    return stack


def run_under_312(
    runtime_path: list[str], cloud: Cloud, stack: Stack, function: str, event_file: str
) -> dict:
    spec = next(spec for spec in stack.functions if spec.name == function)
    event = json.loads(
        (EVENTS_DIR / spec.events_folder / event_file).read_text().replace("${BUCKET_NAME}", stack.bucket)
    )
    environment = {
        **stack.function_environment(spec),
        **{k: v for k, v in localcloud.env_vars(cloud.config).items() if k.startswith("AWS_")},
        "AWS_DEFAULT_REGION": cloud.config.region,
        "AWS_ENDPOINT_URL_S3": cloud.config.url("s3"),
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": cloud.config.url("sagemaker"),
        "PATH": "/usr/bin:/bin",
    }
    assert PYTHON312 is not None
    code = f"import sys; sys.path[:0] = {runtime_path!r}\n" + RUN
    module = spec.handler.rsplit(".", 1)[0]
    result = subprocess.run(
        [PYTHON312, "-I", "-S", "-c", code, module, json.dumps(event)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_retrieval_answers_the_workshop_event_under_312(
    runtime_path: list[str], cloud: Cloud, stack: Stack
) -> None:
    run = run_under_312(runtime_path, cloud, stack, stack.retrieval_function.name, "workshop-goldeneye.json")
    assert run["python"].startswith("3.12.")
    assert not [path for path in run["paths"] if "site-packages" in path]
    assert run["answer"]["statusCode"] == 200, run["answer"]
    body = json.loads(run["answer"]["body"])
    assert body["title"] == "GoldenEye (1995)"
    assert body["neighbours"][0]["title"] == "Four Rooms (1995)"


def test_recommendation_engine_answers_the_workshop_event_under_312(
    runtime_path: list[str], cloud: Cloud, stack: Stack
) -> None:
    run = run_under_312(
        runtime_path, cloud, stack, stack.recommendation_function.name, "workshop-rating.json"
    )
    assert run["answer"]["statusCode"] == 200, run["answer"]
    assert "English Patient, The (1996)" in run["answer"]["body"]
    assert "3.5" in run["answer"]["body"]
