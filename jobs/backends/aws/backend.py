"""The AWS backend: Terraform declares the stack (terraform/), Python builds what it consumes, runs it,
and drives the training jobs; no Python code here creates or updates a declared resource.

Every command first checks what it needs, before anything is created, and says in one line what is
missing: the `terraform` binary, credentials that work, a region with SageMaker's Object2Vec image.
Identifiers only AWS knows (account, role ARNs, the image URI) come from `terraform output -json`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore import exceptions as botocore_errors
from botocore.exceptions import ClientError

from common.atomic import atomic_writer
from jobs.backends.aws import tfvars
from jobs.backends.aws.lambda_layer import LayerSpec, build_layer
from jobs.backends.aws.terraform import Terraform, TerraformError, find_binary
from jobs.backends.aws.training_logs import TrainingLog, delete_job_streams
from jobs.paths import work_dir
from jobs.stack import registry
from jobs.stack.backend import Log
from jobs.stack.clients import Clients, make_clients
from jobs.stack.errors import StackError, error_code
from jobs.stack.images import object2vec_image
from jobs.stack.lambda_package import build_handlers_zip, code_sha256
from jobs.stack.names import Stack
from jobs.stack.registry import ModelRecord
from jobs.stack.training_jobs import JobLog, TrainingTarget

# Object2Vec trains on CPU instances too; MovieLens 100k needs no GPU (the workshop's ml.p2.xlarge is a
# retired generation in most regions). TRAINING_INSTANCE_TYPE / ENDPOINT_INSTANCE_TYPE change them.
DEFAULT_TRAINING_INSTANCE = "ml.m5.xlarge"
DEFAULT_ENDPOINT_INSTANCE = "ml.m5.large"
DESTROY_HINT = "make destroy BACKEND=aws"
TRAINING_POLL_SECONDS = 10.0
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}


@dataclass(frozen=True)
class AwsSettings:
    """Where and how the AWS stack runs; `from_env` reads the documented variables."""

    stack: tfvars.StackSettings = field(default_factory=tfvars.StackSettings)
    training_instance_type: str = DEFAULT_TRAINING_INSTANCE
    endpoints: tfvars.EndpointSizing = field(default_factory=tfvars.EndpointSizing)
    lambda_runtime: str = "python3.12"
    lambda_architecture: str = "x86_64"
    terraform_dir: Path = tfvars.TERRAFORM_DIR
    build_dir: Path = field(default_factory=lambda: work_dir() / "build")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> AwsSettings:
        """AWS_REGION / AWS_DEFAULT_REGION (else the profile's region, else us-east-1), NAME_PREFIX,
        TRAINING_INSTANCE_TYPE, ENDPOINT_INSTANCE_TYPE, ENDPOINT_SERVERLESS_MEMORY_MB."""
        region = (
            environ.get("AWS_REGION")
            or environ.get("AWS_DEFAULT_REGION")
            or boto3.session.Session().region_name
        )
        serverless = environ.get("ENDPOINT_SERVERLESS_MEMORY_MB", "")
        if serverless and not serverless.isdigit():
            raise StackError(
                f"ENDPOINT_SERVERLESS_MEMORY_MB must be a number of MB (1024..6144), got {serverless!r}"
            )
        return cls(
            stack=tfvars.StackSettings(
                region=region or "us-east-1", name_prefix=environ.get("NAME_PREFIX") or "o2v-demo"
            ),
            training_instance_type=environ.get("TRAINING_INSTANCE_TYPE") or DEFAULT_TRAINING_INSTANCE,
            endpoints=tfvars.EndpointSizing(
                instance_type=environ.get("ENDPOINT_INSTANCE_TYPE") or DEFAULT_ENDPOINT_INSTANCE,
                serverless_memory_mb=int(serverless) if serverless else None,
            ),
        )


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str


@dataclass(frozen=True)
class AwsBackend:
    stack: Stack
    settings: AwsSettings = field(default_factory=AwsSettings)

    @classmethod
    def from_env(cls, stack: Stack) -> AwsBackend:
        return cls(stack, AwsSettings.from_env())

    @property
    def region(self) -> str:
        return self.settings.stack.region

    # -- the Backend protocol ---------------------------------------------------------------------------

    def plan(self, log: Log) -> None:
        changes = self._ready(log).plan()
        log("nothing was changed (a plan only)" if changes.any else "the stack is up to date")

    def provision(self, log: Log) -> Clients:
        self._ready(log).apply()
        self._log_billable(log)
        return self._clients()

    def connect(self) -> Clients:
        self._outputs()  # a StackError naming `make apply` if Terraform has built nothing yet
        return self._clients()

    def deploy_functions(self, clients: Clients, package: bytes, log: Log) -> None:
        """Terraform deployed the functions from the same deterministic zip; confirm Lambda runs it."""
        functions = self._outputs().get("functions", {})
        for spec in self.stack.functions:
            deployed = clients.lambda_.get_function_configuration(FunctionName=spec.name)["CodeSha256"]
            state = (
                "runs this code"
                if deployed == code_sha256(package)
                else "runs OTHER code: run make apply again"
            )
            log(f"function {spec.name} ({functions.get(spec.name, {}).get('arn', '?')}): {state}")

    def training_target(self) -> TrainingTarget:
        outputs = self._outputs()
        return TrainingTarget(
            outputs["object2vec_image_uri"],
            outputs["training_role_arn"],
            self.settings.training_instance_type,
            poll_seconds=TRAINING_POLL_SECONDS,
        )

    def training_log(self, clients: Clients, job_name: str) -> JobLog:
        # SageMaker reports no epochs in its status messages: the job's CloudWatch lines are the progress.
        return JobLog(TrainingLog(self._session().client("logs"), job_name), echo=True)

    def deploy_models(self, clients: Clients, records: Sequence[ModelRecord], log: Log) -> None:
        """Write the registered versions to Terraform's models file and apply: Terraform creates each new
        Model and EndpointConfig beside the old one and moves the endpoint to it (waiting until it is
        InService). Nothing here calls Create/UpdateEndpoint."""
        path = self.settings.terraform_dir / tfvars.MODELS_VARS
        current = tfvars.read_variables(path)
        tfvars.write_variables(path, tfvars.models_variables(current, records, self.settings.endpoints))
        self._terraform(log).apply()
        endpoints = self._outputs().get("endpoints", {})
        for record in records:
            served = endpoints.get(record.endpoint, {}).get("model_version", "nothing")
            log(f"endpoint {record.endpoint}: serving {served}")
        self._log_billable(log)

    @contextlib.contextmanager
    def evaluation_endpoint(self, clients: Clients, name: str, artifact_uri: str, log: Log) -> Iterator[str]:
        """The temporary endpoint is Terraform's too (the `evaluations` of the models file), so no Python
        code calls CreateEndpoint and a crash's leftover is in Terraform's state: the next evaluation's
        apply or `make destroy` removes it."""
        path = self.settings.terraform_dir / tfvars.MODELS_VARS
        tfvars.write_variables(
            path, tfvars.evaluations_variables(tfvars.read_variables(path), {name: artifact_uri})
        )
        try:
            log(f"serving {name} on a temporary endpoint (terraform apply)")
            self._terraform(log).apply()
            yield name
        finally:
            tfvars.write_variables(path, tfvars.evaluations_variables(tfvars.read_variables(path), {}))
            self._terraform(log).apply()
            log(f"removed the temporary endpoint {name}")

    def destroy(self, log: Log) -> None:
        """Stop this stack's running training jobs, delete their log streams, `terraform destroy`.
        Safe to repeat: a second run finds nothing and says so."""
        self.preflight()
        outputs = self._terraform(log).output()
        session = self._session()
        if role := outputs.get("training_role_arn"):
            self._stop_training_jobs(session.client("sagemaker"), role, log)
        for slot in self.stack.models:
            for stream in delete_job_streams(session.client("logs"), f"{slot.endpoint}-"):
                log(f"deleted training log stream {stream}")
            # Terraform deletes the model package groups, which AWS allows only once they are empty.
            for arn in registry.delete_packages(session.client("sagemaker"), slot.endpoint):
                log(f"deleted model package {arn}")
        if not (self.settings.terraform_dir / tfvars.BUILD_VARS).is_file():
            self._prepare(log)  # destroy plans need every variable, though they never read the zips
        changes = self._terraform(log).destroy()
        (self.settings.terraform_dir / tfvars.MODELS_VARS).unlink(missing_ok=True)  # those models are gone
        done = f"destroyed {changes.remove} resources" if changes.remove else "nothing was left to destroy"
        log(f"{done}; nothing billable of this stack remains in {self.region}")

    def environment(self) -> dict[str, str]:
        outputs = self._outputs()
        return {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "BUCKET_NAME": outputs.get("bucket_name", self.stack.bucket),
            "FUNCTIONS": ",".join(sorted(outputs.get("functions", {}))),
            "ENDPOINTS": ",".join(sorted(outputs.get("endpoints", {}))),
        }

    def closing_line(self) -> str:
        return f"Endpoints bill by the hour while they exist: tear the stack down with `{DESTROY_HINT}`."

    # -- checks and helpers ---------------------------------------------------------------------------

    def preflight(self) -> Identity:
        """What every AWS command needs, checked before anything is created; one line per failure."""
        find_binary()
        object2vec_image(self.region)  # a region without the image: one line naming it
        try:
            answer = self._session().client("sts").get_caller_identity()
        except botocore_errors.NoCredentialsError:
            raise StackError(
                "no AWS credentials found: set AWS_PROFILE (after `aws configure` or `aws sso login`) "
                "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from None
        except (botocore_errors.TokenRetrievalError, botocore_errors.SSOError) as err:
            raise StackError(f"AWS credentials could not be refreshed ({err}): run `aws sso login`") from None
        except ClientError as err:
            if error_code(err) in _EXPIRED:
                raise StackError(
                    f"AWS credentials were refused ({error_code(err)}): they are expired or invalid; "
                    "refresh them (`aws sso login`, or a new session token)"
                ) from None
            raise
        return Identity(answer["Account"], answer["Arn"])

    def _ready(self, log: Log) -> Terraform:
        """Checked, built and written: Terraform ready to plan or apply this stack."""
        identity = self.preflight()
        log(f"AWS account {identity.account} ({identity.arn}), region {self.region}")
        self._prepare(log)
        return self._terraform(log)

    def _prepare(self, log: Log) -> None:
        """Build the zips and write the variables files this run applies."""
        build = self.settings.build_dir
        build.mkdir(parents=True, exist_ok=True)
        package = build_handlers_zip()
        handlers_zip = build / "handlers.zip"
        if not handlers_zip.is_file() or handlers_zip.read_bytes() != package:
            with atomic_writer(handlers_zip) as handle:
                handle.write(package)
        spec = LayerSpec(self.settings.lambda_runtime, self.settings.lambda_architecture)
        layer = build_layer(spec, build / "layers")
        log(f"built {handlers_zip.name} and {layer.name} in {build}")
        terraform_dir = self.settings.terraform_dir
        tfvars.write_variables(terraform_dir / tfvars.BUILD_VARS, tfvars.build_variables(handlers_zip, layer))
        tfvars.write_variables(
            self._stack_vars_file(), tfvars.stack_variables(self.stack, self.settings.stack)
        )

    def _stack_vars_file(self) -> Path:
        return self.settings.build_dir / "stack.tfvars.json"

    def _terraform(self, log: Log) -> Terraform:
        var_files = [self._stack_vars_file()] if self._stack_vars_file().is_file() else []
        runtime = {
            "lambda_runtime": self.settings.lambda_runtime,
            "lambda_architecture": self.settings.lambda_architecture,
        }
        terraform = Terraform(
            self.settings.terraform_dir, var_files=var_files, log=log, env=_tf_vars(runtime)
        )
        if not (self.settings.terraform_dir / ".terraform").is_dir():
            terraform.init()
        return terraform

    def _outputs(self) -> dict[str, Any]:
        find_binary()  # a missing terraform says so, rather than "run make apply"
        try:
            outputs = Terraform(self.settings.terraform_dir, log=lambda line: None).output()
        except TerraformError as err:
            raise StackError(f"{err}: run `make apply BACKEND=aws` first") from None
        if not outputs:
            where = self.settings.terraform_dir
            raise StackError(f"Terraform has built nothing in {where}: run `make apply BACKEND=aws` first")
        return outputs

    def _log_billable(self, log: Log) -> None:
        endpoints = self._outputs().get("endpoints", {})
        if endpoints:
            names, sizing = ", ".join(sorted(endpoints)), self.settings.endpoints
            hosting = "serverless" if sizing.serverless_memory_mb else f"{sizing.instance_type} each"
            log(f"billable while up: {len(endpoints)} endpoint(s) ({names}), {hosting}")
        else:
            log("billable while up: no endpoints yet (`make train BACKEND=aws` creates them)")

    def _stop_training_jobs(self, sagemaker: Any, role_arn: str, log: Log) -> None:
        for slot in self.stack.models:
            running = sagemaker.list_training_jobs(
                NameContains=f"{slot.endpoint}-", StatusEquals="InProgress"
            )
            for summary in running.get("TrainingJobSummaries", []):
                name = summary["TrainingJobName"]
                if sagemaker.describe_training_job(TrainingJobName=name).get("RoleArn") == role_arn:
                    sagemaker.stop_training_job(TrainingJobName=name)
                    log(f"stopped training job {name}")

    def _session(self) -> boto3.session.Session:
        return boto3.session.Session(region_name=self.region)

    def _clients(self) -> Clients:
        return make_clients(self.region)  # boto3's own chain: environment, profile, SSO, instance role


def _tf_vars(values: Mapping[str, str]) -> dict[str, str]:
    """Variables handed to Terraform through its environment (TF_VAR_<name>), below every file."""
    return {f"TF_VAR_{name}": value for name, value in values.items()}
