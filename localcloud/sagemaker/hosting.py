"""SageMaker hosting, as plain Python: models, endpoint configs, endpoints, and InvokeEndpoint.

An endpoint goes Creating → InService once every production variant's model.tar.gz has been copied
from our S3 and loaded by the model server its image selects (Failed, with FailureReason, if not).
UpdateEndpoint loads the new config beside the old one and swaps atomically, so invocations never see
a gap; if the new config cannot load, the old one keeps serving (InService, FailureReason set).
What each endpoint has loaded is persisted, so after a restart it reloads from its local copy.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common.s3uri import split_s3_uri
from localcloud.config import ACCOUNT_ID, CloudConfig
from localcloud.protocol import AwsError, public
from localcloud.s3client import s3_client
from localcloud.sagemaker.container import InvocationTimeout, ModelContainer
from localcloud.sagemaker.modelservers import OBJECT2VEC, ModelRequestError, ModelServerRegistry
from localcloud.sagemaker.resources import (
    RecordStore,
    already_exists,
    arn,
    check_name,
    list_page,
    not_found,
    now,
    require,
    validation,
)
from localcloud.storage import atomic_write_bytes, remove_tree

# InvokeEndpoint answers at most 6 MB ("Maximum payload size for a response: 6 MB", SageMaker quotas).
MAX_RESPONSE_BODY = 6 * 1024 * 1024
# What SageMaker answers when a container takes over 60 s: 424 ModelError, "Received server error (0)
# from primary with message ..." (RamVegiraju/SageMaker-Deployment#3, aws/amazon-sagemaker-examples#799).
TIMED_OUT = (
    "Your invocation timed out while waiting for a response from container primary. Review the latency "
    "metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)
log = logging.getLogger("localcloud.sagemaker")
RESTORE_WAIT_SECONDS = 120.0


class DeployError(Exception):
    """A variant could not be deployed; the message becomes the endpoint's FailureReason."""


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
        if len(self.variants) == 1:
            return self.variants[0]
        return random.choices(self.variants, weights=[v.weight for v in self.variants])[0]


class HostingBackend:
    def __init__(self, config: CloudConfig, servers: ModelServerRegistry) -> None:
        self.config = config
        self.servers = servers
        root = config.state_dir / "sagemaker"
        self.models = RecordStore(root / "models")
        self.configs = RecordStore(root / "endpoint-configs")
        self.endpoints = RecordStore(root / "endpoints")
        self.artifacts = root / "artifacts"
        self._live: dict[str, LiveEndpoint] = {}
        self._lock = threading.RLock()
        self.restored = threading.Event()

    def _arn(self, kind: str, name: str) -> str:
        return arn(self.config.region, kind, name)

    def _get(self, store: RecordStore, what: str, kind: str, name: str) -> dict[str, Any]:
        """The record, or SageMaker's not-found error naming `what` and the resource's ARN."""
        record = store.get(name)
        if record is None:
            raise not_found(what, self._arn(kind, name))
        return record

    # -- models ---------------------------------------------------------------------------------

    def create_model(self, body: dict[str, Any]) -> dict[str, Any]:
        name = check_name(require(body, "ModelName", "modelName"), "modelName")
        container = body.get("PrimaryContainer") or next(iter(body.get("Containers") or []), None)
        if not container:
            raise validation("Either PrimaryContainer or Containers must be provided.")
        image = require(container, "Image", "primaryContainer.image")
        url = require(container, "ModelDataUrl", "primaryContainer.modelDataUrl")
        if self.servers.find(image) is None:
            raise validation(
                f"Image {image} has no model server in the local cloud (built in: {OBJECT2VEC.pattern})."
            )
        with self._lock:
            if self.models.get(name):
                raise already_exists("model", self._arn("model", name))
            self._check_model_data(url)
            record = {
                "ModelName": name,
                "ModelArn": self._arn("model", name),
                "PrimaryContainer": container,
                "ExecutionRoleArn": body.get("ExecutionRoleArn"),
                "CreationTime": now(),
                "EnableNetworkIsolation": bool(body.get("EnableNetworkIsolation", False)),
            }
            self.models.put(name, record)
        return {"ModelArn": record["ModelArn"]}

    def _check_model_data(self, url: str) -> None:
        try:
            bucket, key = split_s3_uri(url)
            s3_client(self.config).head_object(Bucket=bucket, Key=key)
        except (ValueError, ClientError) as exc:
            raise validation(f"Could not find model data at {url}.") from exc

    def describe_model(self, body: dict[str, Any]) -> dict[str, Any]:
        return public(self._model(require(body, "ModelName", "modelName")))

    def delete_model(self, body: dict[str, Any]) -> dict[str, Any]:
        name = require(body, "ModelName", "modelName")
        self._model(name)
        self.models.delete(name)
        return {}

    def list_models(self, body: dict[str, Any]) -> dict[str, Any]:
        return list_page(
            body,
            self.models.values(),
            list_key="Models",
            name_key="ModelName",
            summary=lambda r: {k: r[k] for k in ("ModelName", "ModelArn", "CreationTime")},
        )

    def _model(self, name: str) -> dict[str, Any]:
        return self._get(self.models, "model", "model", name)

    # -- endpoint configs -------------------------------------------------------------------------

    def create_endpoint_config(self, body: dict[str, Any]) -> dict[str, Any]:
        name = check_name(require(body, "EndpointConfigName", "endpointConfigName"), "endpointConfigName")
        variants = [self._variant(pv) for pv in require(body, "ProductionVariants", "productionVariants")]
        names = [v["VariantName"] for v in variants]
        if len(set(names)) != len(names):
            raise validation(f"Variant names must be unique within an endpoint configuration: {names}.")
        with self._lock:
            if self.configs.get(name):
                raise already_exists("endpoint configuration", self._arn("endpoint-config", name))
            record = {
                "EndpointConfigName": name,
                "EndpointConfigArn": self._arn("endpoint-config", name),
                "ProductionVariants": variants,
                "DataCaptureConfig": body.get("DataCaptureConfig"),
                "KmsKeyId": body.get("KmsKeyId"),
                "CreationTime": now(),
            }
            self.configs.put(name, record)
        return {"EndpointConfigArn": record["EndpointConfigArn"]}

    def _variant(self, pv: dict[str, Any]) -> dict[str, Any]:
        check_name(
            require(pv, "VariantName", "productionVariants.variantName"), "productionVariants.variantName"
        )
        self._model(require(pv, "ModelName", "productionVariants.modelName"))
        return {
            **pv,
            "InitialInstanceCount": int(pv.get("InitialInstanceCount", 1)),
            "InstanceType": pv.get("InstanceType", "ml.m5.large"),
            "InitialVariantWeight": float(pv.get("InitialVariantWeight", 1.0)),
        }

    def describe_endpoint_config(self, body: dict[str, Any]) -> dict[str, Any]:
        return public(self._config(require(body, "EndpointConfigName", "endpointConfigName")))

    def delete_endpoint_config(self, body: dict[str, Any]) -> dict[str, Any]:
        name = require(body, "EndpointConfigName", "endpointConfigName")
        self._config(name)
        self.configs.delete(name)  # like AWS, endpoints already using it keep running
        return {}

    def list_endpoint_configs(self, body: dict[str, Any]) -> dict[str, Any]:
        return list_page(
            body,
            self.configs.values(),
            list_key="EndpointConfigs",
            name_key="EndpointConfigName",
            summary=lambda r: {k: r[k] for k in ("EndpointConfigName", "EndpointConfigArn", "CreationTime")},
        )

    def _config(self, name: str) -> dict[str, Any]:
        return self._get(self.configs, "endpoint configuration", "endpoint-config", name)

    # -- endpoints --------------------------------------------------------------------------------

    def create_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        name = check_name(require(body, "EndpointName", "endpointName"), "endpointName")
        config_name = require(body, "EndpointConfigName", "endpointConfigName")
        with self._lock:
            self._config(config_name)
            if self.endpoints.get(name):
                raise already_exists("endpoint", self._arn("endpoint", name))
            stamp = now()
            record = {
                "EndpointName": name,
                "EndpointArn": self._arn("endpoint", name),
                "EndpointConfigName": config_name,
                "EndpointStatus": "Creating",
                "CreationTime": stamp,
                "LastModifiedTime": stamp,
                "_pending": {"config": config_name, "token": uuid.uuid4().hex},
            }
            self.endpoints.put(name, record)
        self._start_deploy(name, record["_pending"]["token"])
        return {"EndpointArn": record["EndpointArn"]}

    def update_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        name = require(body, "EndpointName", "endpointName")
        config_name = require(body, "EndpointConfigName", "endpointConfigName")
        with self._lock:
            record = self._endpoint(name)
            self._config(config_name)
            status = record["EndpointStatus"]
            if status != "InService":
                state = "failed" if status == "Failed" else "in-progress"
                raise validation(f'Cannot update {state} endpoint "{record["EndpointArn"]}".')
            record = {k: v for k, v in record.items() if k != "FailureReason"}
            record.update(
                EndpointStatus="Updating",
                LastModifiedTime=now(),
                _pending={"config": config_name, "token": uuid.uuid4().hex},
            )
            self.endpoints.put(name, record)
        self._start_deploy(name, record["_pending"]["token"])
        return {"EndpointArn": record["EndpointArn"]}

    def delete_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        name = require(body, "EndpointName", "endpointName")
        with self._lock:
            self._endpoint(name)
            self.endpoints.delete(name)
            self._live.pop(name, None)
        remove_tree(self.artifacts / name)
        return {}

    def describe_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        return public(self._endpoint(require(body, "EndpointName", "endpointName")))

    def list_endpoints(self, body: dict[str, Any]) -> dict[str, Any]:
        keys = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
        return list_page(
            body,
            self.endpoints.values(),
            list_key="Endpoints",
            name_key="EndpointName",
            status_key="EndpointStatus",
            summary=lambda r: {k: r[k] for k in keys},
        )

    def _endpoint(self, name: str) -> dict[str, Any]:
        return self._get(self.endpoints, "endpoint", "endpoint", name)

    # -- runtime ----------------------------------------------------------------------------------

    def invoke(
        self, name: str, body: bytes, content_type: str, accept: str | None, target_variant: str | None
    ) -> tuple[bytes, str, str]:
        """(body, content type, variant name) of one InvokeEndpoint call."""
        live = self._live.get(name)
        if live is None and not self.restored.is_set() and self.endpoints.get(name) is not None:
            self.restored.wait(RESTORE_WAIT_SECONDS)  # just restarted: the model is being reloaded
            live = self._live.get(name)
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

    # -- deployment -------------------------------------------------------------------------------

    def _start_deploy(self, name: str, token: str) -> None:
        threading.Thread(target=self._deploy, args=(name, token), name=f"deploy-{name}", daemon=True).start()

    def _deploy(self, name: str, token: str) -> None:
        record = self.endpoints.get(name)
        if record is None or record.get("_pending", {}).get("token") != token:
            return
        config_name = record["_pending"]["config"]
        try:
            config = self.configs.get(config_name)
            if config is None:
                raise DeployError(
                    f'Could not find endpoint configuration "{self._arn("endpoint-config", config_name)}".'
                )
            plans = [self._plan(name, token, pv) for pv in config["ProductionVariants"]]
            live = LiveEndpoint([self._load(plan, download=True) for plan in plans])
        except DeployError as exc:
            self._fail(name, token, str(exc))
            return
        except Exception as exc:
            log.exception("deploying endpoint %s failed", name)
            self._fail(name, token, f"Internal error while deploying: {type(exc).__name__}: {exc}")
            return
        self._commit(name, token, config_name, plans, live)

    def _plan(self, endpoint: str, token: str, pv: dict[str, Any]) -> dict[str, Any]:
        model = self.models.get(pv["ModelName"])
        if model is None:
            raise DeployError(f'Could not find model "{self._arn("model", pv["ModelName"])}".')
        container = model["PrimaryContainer"]
        return {
            "VariantName": pv["VariantName"],
            "ModelName": pv["ModelName"],
            "Image": container["Image"],
            "ModelDataUrl": container["ModelDataUrl"],
            "Weight": pv["InitialVariantWeight"],
            "InstanceCount": pv["InitialInstanceCount"],
            "Artifact": f"{endpoint}/{token}/{pv['VariantName']}/model.tar.gz",
            "ResolutionTime": now(),
        }

    def _load(self, plan: dict[str, Any], *, download: bool) -> LiveVariant:
        artifact = self.artifacts / plan["Artifact"]
        if download or not artifact.exists():
            self._download(plan["ModelDataUrl"], artifact)
        server = self.servers.find(plan["Image"])
        if server is None:
            raise DeployError(f"Image {plan['Image']} has no model server in the local cloud.")
        try:
            model = server.load(artifact, self.config.serving_threads)
        except Exception as exc:
            first_line = (str(exc).splitlines() or [""])[0]
            raise DeployError(
                f"The primary container for production variant {plan['VariantName']} did not pass the ping "
                f"health check: {type(exc).__name__}: {first_line}"
            ) from exc
        name = plan["VariantName"]
        return LiveVariant(name, float(plan["Weight"]), ModelContainer(model, name))

    def _download(self, url: str, dest: Path) -> None:
        try:
            bucket, key = split_s3_uri(url)
            data = s3_client(self.config).get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ValueError, ClientError) as exc:
            raise DeployError(
                f"Failed to download model data from {url}. "
                "Please ensure that there is an object located at the URL."
            ) from exc
        atomic_write_bytes(dest, data)

    def _commit(
        self, name: str, token: str, config_name: str, plans: list[dict[str, Any]], live: LiveEndpoint
    ) -> None:
        with self._lock:
            record = self.endpoints.get(name)
            if record is None or record.get("_pending", {}).get("token") != token:
                remove_tree(self.artifacts / name / token)  # deleted or superseded meanwhile
                return
            old_token = record.get("_deployment", {}).get("token")
            self._live[name] = live  # the swap: the next invocation sees the new models
            record = {k: v for k, v in record.items() if k not in ("_pending", "FailureReason")}
            record.update(
                EndpointStatus="InService",
                EndpointConfigName=config_name,
                ProductionVariants=[_summary(plan) for plan in plans],
                LastModifiedTime=now(),
                _deployment={"token": token, "variants": plans},
            )
            self.endpoints.put(name, record)
        if old_token and old_token != token:
            remove_tree(self.artifacts / name / old_token)

    def _fail(self, name: str, token: str, reason: str) -> None:
        with self._lock:
            record = self.endpoints.get(name)
            if record is not None and record.get("_pending", {}).get("token") == token:
                record = {k: v for k, v in record.items() if k != "_pending"}
                # A failed update rolls back: the previous deployment keeps serving.
                status = "InService" if "_deployment" in record else "Failed"
                record.update(EndpointStatus=status, FailureReason=reason[:1024], LastModifiedTime=now())
                self.endpoints.put(name, record)
        remove_tree(self.artifacts / name / token)

    # -- restart ----------------------------------------------------------------------------------

    def restore(self) -> None:
        """Reload every deployed endpoint from its local artifacts; resume interrupted deployments."""
        try:
            for record in self.endpoints.values():
                name = record["EndpointName"]
                if "_deployment" in record:
                    self._reload(name, record["_deployment"])
                if "_pending" in record:
                    self._start_deploy(name, record["_pending"]["token"])
        finally:
            self.restored.set()

    def _reload(self, name: str, deployment: dict[str, Any]) -> None:
        try:
            live = LiveEndpoint([self._load(plan, download=False) for plan in deployment["variants"]])
        except DeployError as exc:
            with self._lock:
                record = self.endpoints.get(name)
                if record is not None:
                    record.update(
                        EndpointStatus="Failed", FailureReason=str(exc)[:1024], LastModifiedTime=now()
                    )
                    self.endpoints.put(name, record)
            return
        with self._lock:
            self._live[name] = live


def _summary(plan: dict[str, Any]) -> dict[str, Any]:
    """A ProductionVariantSummary of DescribeEndpoint."""
    return {
        "VariantName": plan["VariantName"],
        "DeployedImages": [
            {
                "SpecifiedImage": plan["Image"],
                "ResolvedImage": plan["Image"],
                "ResolutionTime": plan["ResolutionTime"],
            }
        ],
        "CurrentWeight": plan["Weight"],
        "DesiredWeight": plan["Weight"],
        "CurrentInstanceCount": plan["InstanceCount"],
        "DesiredInstanceCount": plan["InstanceCount"],
    }
