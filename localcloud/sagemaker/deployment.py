"""Endpoint deployment, as plain Python: the background thread that copies each production variant's
model.tar.gz from our S3, loads it with the model server its image selects, and swaps the endpoint
over (or fails it); and, after a restart, the reload of what each endpoint had deployed.

Every deployment has a token; artifacts live under `<artifacts>/<endpoint>/<token>/`, so a superseded
or failed deployment is removed as one folder and never mixes with the one serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common.s3uri import split_s3_uri
from localcloud.config import CloudConfig
from localcloud.s3client import s3_client
from localcloud.sagemaker.container import ModelContainer
from localcloud.sagemaker.modelservers import ModelServerRegistry
from localcloud.sagemaker.resources import RecordStore, now
from localcloud.sagemaker.runtime import EndpointRuntime, LiveEndpoint, LiveVariant
from localcloud.storage import atomic_write_bytes, remove_tree

log = logging.getLogger("localcloud.sagemaker")
# A model archive larger than this is not copied (SageMaker's own limit for a model is far larger, but
# a local cloud must not fill the disk or memory on one request).
MAX_MODEL_ARCHIVE = 2 * 1024 * 1024 * 1024


class DeployError(Exception):
    """A variant could not be deployed; the message becomes the endpoint's FailureReason."""


class Deployer:
    def __init__(
        self,
        config: CloudConfig,
        servers: ModelServerRegistry,
        stores: tuple[RecordStore, RecordStore, RecordStore],
        lock: threading.RLock,
        runtime: EndpointRuntime,
        arn: Callable[[str, str], str],
    ) -> None:
        self.config = config
        self.servers = servers
        self.models, self.configs, self.endpoints = stores
        self.lock = lock
        self.runtime = runtime
        self.arn = arn
        self.artifacts = config.state_dir / "sagemaker" / "artifacts"

    def start(self, name: str, token: str) -> None:
        threading.Thread(target=self._deploy, args=(name, token), name=f"deploy-{name}", daemon=True).start()

    def discard(self, name: str) -> None:
        """The endpoint is deleted: drop what it had loaded and its artifacts."""
        self.runtime.live.pop(name, None)
        remove_tree(self.artifacts / name)

    # -- one deployment ---------------------------------------------------------------------------

    def _deploy(self, name: str, token: str) -> None:
        record = self.endpoints.get(name)
        if record is None or record.get("_pending", {}).get("token") != token:
            return
        config_name = record["_pending"]["config"]
        try:
            config = self.configs.get(config_name)
            if config is None:
                raise DeployError(
                    f'Could not find endpoint configuration "{self.arn("endpoint-config", config_name)}".'
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
            raise DeployError(f'Could not find model "{self.arn("model", pv["ModelName"])}".')
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
            client = s3_client(self.config)
            if client.head_object(Bucket=bucket, Key=key)["ContentLength"] > MAX_MODEL_ARCHIVE:
                raise DeployError(f"Model data at {url} is larger than {MAX_MODEL_ARCHIVE} bytes.")
            data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ValueError, ClientError) as exc:
            raise DeployError(
                f"Failed to download model data from {url}. "
                "Please ensure that there is an object located at the URL."
            ) from exc
        atomic_write_bytes(dest, data)

    def _commit(
        self, name: str, token: str, config_name: str, plans: list[dict[str, Any]], live: LiveEndpoint
    ) -> None:
        with self.lock:
            record = self.endpoints.get(name)
            if record is None or record.get("_pending", {}).get("token") != token:
                remove_tree(self.artifacts / name / token)  # deleted or superseded meanwhile
                return
            old_token = record.get("_deployment", {}).get("token")
            self.runtime.live[name] = live  # the swap: the next invocation sees the new models
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
        with self.lock:
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
                    self.start(name, record["_pending"]["token"])
        finally:
            self.runtime.restored.set()

    def _reload(self, name: str, deployment: dict[str, Any]) -> None:
        try:
            live = LiveEndpoint([self._load(plan, download=False) for plan in deployment["variants"]])
        except DeployError as exc:
            with self.lock:
                record = self.endpoints.get(name)
                if record is not None:
                    record.update(
                        EndpointStatus="Failed", FailureReason=str(exc)[:1024], LastModifiedTime=now()
                    )
                    self.endpoints.put(name, record)
            return
        with self.lock:
            self.runtime.live[name] = live


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
