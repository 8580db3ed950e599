"""SageMaker hosting's control plane, as plain Python: models, endpoint configs and endpoints.

An endpoint goes Creating → InService once every production variant's model.tar.gz has been copied
from our S3 and loaded by the model server its image selects (Failed, with FailureReason, if not).
UpdateEndpoint loads the new config beside the old one and swaps atomically, so invocations never see
a gap; if the new config cannot load, the old one keeps serving (InService, FailureReason set).
What each endpoint has loaded is persisted, so after a restart it reloads from its local copy.
The deployment threads are `deployment.py`; InvokeEndpoint is `runtime.py`.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from botocore.exceptions import ClientError

from common.s3uri import split_s3_uri
from localcloud.awswire import public
from localcloud.config import CloudConfig
from localcloud.s3client import s3_client
from localcloud.sagemaker.deployment import Deployer
from localcloud.sagemaker.modelservers import OBJECT2VEC, ModelServerRegistry
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
from localcloud.sagemaker.runtime import EndpointRuntime


class HostingBackend:
    def __init__(self, config: CloudConfig, servers: ModelServerRegistry) -> None:
        self.config = config
        self.servers = servers
        root = config.state_dir / "sagemaker"
        self.models = RecordStore(root / "models")
        self.configs = RecordStore(root / "endpoint-configs")
        self.endpoints = RecordStore(root / "endpoints")
        self._lock = threading.RLock()
        self.runtime = EndpointRuntime(config)
        stores = (self.models, self.configs, self.endpoints)
        self.deployer = Deployer(config, servers, stores, self._lock, self.runtime, self._arn)

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
        self.deployer.start(name, record["_pending"]["token"])
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
        self.deployer.start(name, record["_pending"]["token"])
        return {"EndpointArn": record["EndpointArn"]}

    def delete_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        name = require(body, "EndpointName", "endpointName")
        with self._lock:
            self._endpoint(name)
            self.endpoints.delete(name)
            self.deployer.discard(name)
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

    # -- runtime and restart ------------------------------------------------------------------------

    def invoke(
        self, name: str, body: bytes, content_type: str, accept: str | None, target_variant: str | None
    ) -> tuple[bytes, str, str]:
        known = self.endpoints.get(name) is not None
        return self.runtime.invoke(name, body, content_type, accept, target_variant, known=known)

    def restore(self) -> None:
        self.deployer.restore()
