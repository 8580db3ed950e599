"""The local cloud process (`python -m localcloud`, or `o2v cloud serve`): S3, SageMaker and Lambda
on 127.0.0.1, each on its own port, until SIGTERM/SIGINT.

Start-up order: bind every port first (a taken port fails in a second, with one line), then restore
state service by service (S3 before the others, which read from it), mark each ready, and write the
pid file. Health: `GET /_localcloud/health` on every port ({"service", "pid", "ready"}).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from localcloud.awslambda.functions import LambdaBackend
from localcloud.awslambda.responses import LambdaResponses
from localcloud.awslambda.routes import lambda_routes
from localcloud.awswire import AwsError, Response, Route, error_response
from localcloud.config import HOST, SERVICES, CloudConfig, port_in_use
from localcloud.credentials import ensure_credentials
from localcloud.errors import LocalCloudError
from localcloud.httpserver import AwsHTTPServer, ErrorRenderer, serve_in_thread
from localcloud.s3.persistence import S3Mirror
from localcloud.s3.server import S3Service, s3_error_response
from localcloud.sagemaker.hosting import HostingBackend
from localcloud.sagemaker.model_registry import ModelRegistryBackend
from localcloud.sagemaker.modelservers import ModelServerRegistry
from localcloud.sagemaker.responses import SageMakerResponses
from localcloud.sagemaker.routes import sagemaker_routes
from localcloud.sagemaker.training_jobs import TrainingBackend
from localcloud.security import StackGate
from localcloud.statelock import hold_state_lock
from localcloud.storage import atomic_write_json, read_json

log = logging.getLogger("localcloud")


def bind(config: CloudConfig, service: str) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(
        socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
    )  # restart over TIME_WAIT, not over a live port
    try:
        listener.bind((HOST, config.port(service)))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise port_in_use(config, service) from None
        raise LocalCloudError(f"cannot listen on {HOST}:{config.port(service)}: {exc.strerror}") from None
    return listener


def json_errors(error: AwsError, r: Route | None) -> Response:
    return error_response(error, aws_json=r is not None and r.aws_json)


@dataclass
class LocalCloud:
    """The three services, built and bound but not yet serving."""

    config: CloudConfig
    s3: AwsHTTPServer
    s3_mirror: S3Mirror
    sagemaker: AwsHTTPServer
    lambda_: AwsHTTPServer
    hosting: HostingBackend
    training: TrainingBackend
    functions: LambdaBackend

    @classmethod
    def build(cls, config: CloudConfig) -> LocalCloud:
        listeners = {service: bind(config, service) for service in SERVICES}
        credentials = ensure_credentials(config)
        servers = ModelServerRegistry()
        for spec in config.model_servers:
            servers.register_spec(spec)

        def server(service: str, routes: list[Route], render_error: ErrorRenderer) -> AwsHTTPServer:
            return AwsHTTPServer(
                listeners[service],
                service,
                routes,
                str(config.state_dir),
                render_error=render_error,
                gate=StackGate(service, config.port(service), credentials),
                workers=config.http_workers,
                read_timeout=config.read_timeout_seconds,
            )

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        mirror = S3Mirror(config.state_dir / "s3")
        s3 = server("s3", S3Service(mirror, config.s3_port).routes(), s3_error_response)
        hosting = HostingBackend(config, servers)
        training = TrainingBackend(config)
        functions = LambdaBackend(config)
        registry = ModelRegistryBackend(config)
        sagemaker_app = sagemaker_routes(SageMakerResponses(hosting, training, registry))
        sagemaker = server("sagemaker", sagemaker_app, json_errors)
        lambda_ = server("lambda", lambda_routes(LambdaResponses(functions)), json_errors)
        return cls(config, s3, mirror, sagemaker, lambda_, hosting, training, functions)

    def servers(self) -> tuple[AwsHTTPServer, ...]:
        return (self.sagemaker, self.lambda_, self.s3)

    def start(self) -> None:
        self.s3_mirror.restore()
        serve_in_thread(self.s3, "s3")
        self.s3.ready.set()
        self.functions.restore()
        serve_in_thread(self.lambda_, "lambda")
        self.lambda_.ready.set()
        self.training.start()
        serve_in_thread(self.sagemaker, "sagemaker")
        # Endpoints reload their models in the background; SageMaker reports ready once they have.
        threading.Thread(target=self._restore_hosting, name="restore-endpoints", daemon=True).start()

    def _restore_hosting(self) -> None:
        self.hosting.restore()
        self.sagemaker.ready.set()

    def stop(self) -> None:
        for server in self.servers():
            server.ready.clear()
        for server in self.servers():
            server.shutdown()
        self.training.shutdown()
        self.functions.shutdown()
        for server in self.servers():
            server.server_close()


def serve(config: CloudConfig) -> None:
    """Run in the foreground until SIGTERM or SIGINT; every worker process ends with it."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    lock = hold_state_lock(config)  # before anything reads or writes the folder
    cloud = LocalCloud.build(config)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    write_pid_file(config)  # before any service reports ready: `start` returns once they all do
    cloud.start()
    log.info(
        "local cloud pid %d serving S3 %s, SageMaker %s, Lambda %s; state in %s",
        os.getpid(),
        config.url("s3"),
        config.url("sagemaker"),
        config.url("lambda"),
        config.state_dir,
    )
    stop.wait()
    log.info("stopping")
    cloud.stop()
    remove_pid_file(config)
    log.info("stopped")
    lock.close()


def write_pid_file(config: CloudConfig) -> None:
    atomic_write_json(
        config.pid_file,
        {
            "pid": os.getpid(),
            "ports": {service: config.port(service) for service in SERVICES},
            "state_dir": str(config.state_dir),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def remove_pid_file(config: CloudConfig) -> None:
    try:
        if read_json(config.pid_file).get("pid") == os.getpid():
            config.pid_file.unlink()
    except (OSError, ValueError):
        pass


def main() -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        serve(CloudConfig.from_env())
    except LocalCloudError as exc:
        print(f"localcloud: {exc}", file=sys.stderr, flush=True)
        return 2
    except Exception as exc:  # e.g. unreadable state: the traceback for the log, one line for `start`
        log.exception("the local cloud failed")
        print(f"localcloud: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
