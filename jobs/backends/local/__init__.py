"""The local backend: the stack on this machine's local cloud (moto's S3, our SageMaker and Lambda).

It plays Terraform's part with the same names: the bucket, the Lambda functions and the SageMaker
Models, EndpointConfigs and Endpoints are declared here through the ordinary AWS APIs. Together with
`o2v cloud`, this package is the only part of `jobs` that imports `localcloud`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import localcloud
from jobs.backends.local.bucket import delete_bucket, ensure_bucket
from jobs.backends.local.endpoints import delete_endpoints, deploy_endpoint, temporary_endpoint
from jobs.backends.local.functions import delete_function, deploy_function
from jobs.stack.backend import Log
from jobs.stack.clients import Clients, Credentials, make_clients
from jobs.stack.errors import StackError
from jobs.stack.images import object2vec_image
from jobs.stack.names import Stack
from jobs.stack.registry import ModelRecord
from jobs.stack.training_jobs import JobLog, TrainingTarget
from localcloud import CloudConfig, LocalCloudError, default_state_dir
from localcloud.config import ACCOUNT_ID

# The workshop's training instance; the local cloud runs every job on this machine whatever it names.
TRAINING_INSTANCE_TYPE = "ml.p2.xlarge"


@dataclass(frozen=True)
class LocalBackend:
    stack: Stack
    cloud: CloudConfig

    @classmethod
    def from_env(cls, stack: Stack) -> LocalBackend:
        """The local cloud the `LOCALCLOUD_*` variables describe (the defaults: ports 4701-4703, .state/)."""
        return cls(stack, CloudConfig.from_env())

    @property
    def region(self) -> str:
        return self.cloud.region

    def plan(self, log: Log) -> None:
        log("the local backend has no plan: `make apply` creates the stack through the APIs, idempotently")

    def provision(self, log: Log) -> Clients:
        with _as_stack_error():
            state = localcloud.start(self.cloud)
        log(f"local cloud running (pid {state.pid}), state in {self.cloud.state_dir}")
        clients = self._clients()
        ensure_bucket(clients.s3, self.stack.bucket, self.region)
        log(f"bucket s3://{self.stack.bucket}")
        return clients

    def connect(self) -> Clients:
        if not localcloud.status(self.cloud).ready:
            raise StackError("the local cloud is not running: run `make apply` first")
        return self._clients()

    def deploy_functions(self, clients: Clients, package: bytes, log: Log) -> None:
        for spec in self.stack.functions:
            role = self._role_arn(self.stack.function_role_name)
            action = deploy_function(clients.lambda_, self.stack, spec, package, role)
            log(f"function {spec.name}: {action}")

    def training_target(self) -> TrainingTarget:
        role = self._role_arn(self.stack.training_role_name)
        return TrainingTarget(object2vec_image(self.region), role, TRAINING_INSTANCE_TYPE)

    def training_log(self, clients: Clients, job_name: str) -> JobLog:
        # Kept for a failure's message, not shown: the job's status messages drive the progress bar.
        return JobLog(_FileTail(localcloud.log_path(self.cloud, training_job=job_name)), echo=False)

    def deploy_models(self, clients: Clients, records: Sequence[ModelRecord], log: Log) -> None:
        target = self.training_target()  # a SageMaker Model runs the algorithm's image with the job's role
        for record in records:
            action = deploy_endpoint(clients.sagemaker, record, target.image, target.role_arn)
            log(f"endpoint {record.endpoint}: {action}, serving {record.model_version}")

    def evaluation_endpoint(
        self, clients: Clients, name: str, artifact_uri: str, log: Log
    ) -> AbstractContextManager[str]:
        target = self.training_target()
        return temporary_endpoint(
            clients.sagemaker,
            name=name,
            image=target.image,
            artifact_uri=artifact_uri,
            role_arn=target.role_arn,
            log=log,
        )

    def destroy(self, log: Log) -> None:
        """Delete the stack's resources, then stop the local cloud and remove its state, even if a deletion
        fails."""
        try:
            if localcloud.status(self.cloud).ready:
                self._delete_resources(self._clients(), log)
        finally:
            with _as_stack_error():
                was_running = localcloud.stop(self.cloud, purge=True)
            if self.cloud.state_dir == default_state_dir():
                with contextlib.suppress(OSError):  # .state/ itself, once nothing else lives in it
                    self.cloud.state_dir.parent.rmdir()
            done = "stopped the local cloud" if was_running else "the local cloud was not running"
            log(f"{done}; state removed")

    def environment(self) -> dict[str, str]:
        return {**localcloud.env_vars(self.cloud), "BUCKET_NAME": self.stack.bucket}

    def closing_line(self) -> str:
        return ""

    def _delete_resources(self, clients: Clients, log: Log) -> None:
        for spec in self.stack.functions:
            if delete_function(clients.lambda_, spec.name):
                log(f"deleted function {spec.name}")
        for line in delete_endpoints(clients.sagemaker, self.stack):
            log(f"deleted {line}")
        if delete_bucket(clients.s3, self.stack.bucket):
            log(f"deleted bucket s3://{self.stack.bucket}")

    def _clients(self) -> Clients:
        variables = localcloud.env_vars(self.cloud)
        urls = {
            "s3": self.cloud.url("s3"),
            "sagemaker": self.cloud.url("sagemaker"),
            "sagemaker-runtime": self.cloud.url("sagemaker"),  # one port serves the control plane and runtime
            "lambda": self.cloud.url("lambda"),
        }
        credentials = Credentials(variables["AWS_ACCESS_KEY_ID"], variables["AWS_SECRET_ACCESS_KEY"])
        return make_clients(self.region, endpoint_urls=urls, credentials=credentials)

    @staticmethod
    def _role_arn(name: str) -> str:
        """The local cloud checks no IAM, but every API that takes a role wants a well-formed ARN."""
        return f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"


@dataclass
class _FileTail:
    """The lines appended to a log file since the last call (none while the file does not exist)."""

    path: Path
    offset: int = 0

    def __call__(self) -> list[str]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next call
        self.offset += len(complete)
        return complete.decode("utf-8", "replace").splitlines()


@contextlib.contextmanager
def _as_stack_error() -> Iterator[None]:
    """The local cloud's own errors (a taken port, a failed start) are stack errors to the commands."""
    try:
        yield
    except LocalCloudError as err:
        raise StackError(str(err)) from err
