"""The local cloud's settings: one frozen dataclass, read from `LOCALCLOUD_*` variables.

`start` hands the settings to the background process through the same variables (`to_env`), so the
foreground CLI and the `serve` process can never disagree about ports or the state folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from localcloud.errors import LocalCloudError
from localcloud.storage import child

# Everything binds here and nowhere else: the local cloud must never be reachable from the network.
HOST = "127.0.0.1"
# The one account and the default region of the local cloud. The account is moto's default, which moto
# gives every access key it has not issued itself, so S3 and our services agree on ARNs.
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
SERVICES = ("s3", "sagemaker", "lambda")


def default_state_dir() -> Path:
    """`<repo>/.state/localcloud`: the repository holding this package (git-ignored folder)."""
    return Path(__file__).resolve().parent.parent / ".state" / "localcloud"


@dataclass(frozen=True)
class CloudConfig:
    """Where the local cloud keeps its state, which ports it serves, and how hard it may work."""

    state_dir: Path = field(default_factory=default_state_dir)
    s3_port: int = 4701
    sagemaker_port: int = 4702
    lambda_port: int = 4703
    region: str = REGION
    # torch threads for a training job and for each endpoint's model (2-vCPU machines stall with more).
    training_threads: int = 1
    serving_threads: int = 1
    # Warm workers ("containers") per Lambda function; one more concurrent invocation gets a 429.
    lambda_max_concurrency: int = 4
    # A worker idle for this long is retired, like Lambda reclaiming an idle execution environment.
    lambda_idle_seconds: float = 600.0
    # InvokeEndpoint gives the model this long (SageMaker's containers get 60 s), then answers 424.
    endpoint_timeout_seconds: float = 60.0
    # Extra model servers, "IMAGE_PATTERN=module:function" (tests register a tiny one this way).
    model_servers: tuple[str, ...] = ()
    # HTTP: worker threads per service (each serves one connection at a time) and the limit on every
    # socket read, so a client that stalls mid-request frees its worker.
    http_workers: int = 32
    read_timeout_seconds: float = 30.0

    def port(self, service: str) -> int:
        return {"s3": self.s3_port, "sagemaker": self.sagemaker_port, "lambda": self.lambda_port}[service]

    def url(self, service: str) -> str:
        return f"http://{HOST}:{self.port(service)}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "localcloud.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "localcloud.log"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def credentials_file(self) -> Path:
        return self.state_dir / "credentials.json"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> CloudConfig:
        """Defaults, then `LOCALCLOUD_<FIELD>` variables, then explicit (non-None) overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(_env_name(f.name))
            if raw not in (None, ""):
                values[f.name] = _parse(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "state_dir" in values:
            values["state_dir"] = Path(str(values["state_dir"])).expanduser().resolve()
        config = replace(cls(), **values)  # type: ignore[arg-type]
        config.validate()
        return config

    def to_env(self) -> dict[str, str]:
        """The `LOCALCLOUD_*` variables that make `from_env` rebuild exactly this config."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            env[_env_name(f.name)] = ";".join(value) if isinstance(value, tuple) else str(value)
        return env

    def validate(self) -> None:
        ports = [self.s3_port, self.sagemaker_port, self.lambda_port]
        if len(set(ports)) != 3 or not all(0 < p < 65536 for p in ports):
            raise LocalCloudError(f"local cloud ports must be three distinct ports in 1-65535, got {ports}")
        if min(self.training_threads, self.serving_threads, self.lambda_max_concurrency) < 1:
            raise LocalCloudError("training_threads, serving_threads and lambda_max_concurrency must be >= 1")
        if self.http_workers < 1 or not self.read_timeout_seconds > 0:
            raise LocalCloudError("http_workers must be >= 1 and read_timeout_seconds > 0")
        if not self.endpoint_timeout_seconds > 0:
            raise LocalCloudError(
                f"endpoint_timeout_seconds must be > 0, got {self.endpoint_timeout_seconds}"
            )


def log_path(config: CloudConfig, *, function: str | None = None, training_job: str | None = None) -> Path:
    """The server log, or one Lambda function's log, or one training job's log."""
    if function:
        return child(config.logs_dir / "lambda", f"{function}.log")
    if training_job:
        return child(config.logs_dir / "training", f"{training_job}.log")
    return config.log_file


def port_in_use(config: CloudConfig, service: str) -> LocalCloudError:
    label = {"s3": "S3", "sagemaker": "SageMaker", "lambda": "Lambda"}[service]
    return LocalCloudError(
        f"port {config.port(service)} ({label}) on {HOST} is already in use by another process; "
        f"free it or choose another with LOCALCLOUD_{service.upper()}_PORT"
    )


def _env_name(field_name: str) -> str:
    return f"LOCALCLOUD_{field_name.upper()}"


def _parse(name: str, raw: str) -> object:
    default = getattr(CloudConfig(), name)
    try:
        if isinstance(default, tuple):
            return tuple(part for part in raw.split(";") if part)
        if isinstance(default, Path):
            return Path(raw)
        return type(default)(raw)
    except ValueError as exc:
        raise LocalCloudError(f"{_env_name(name)}={raw!r} is not a valid {type(default).__name__}") from exc
