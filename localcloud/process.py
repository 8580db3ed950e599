"""Run the local cloud in the background: start (idempotent), stop (safe to repeat), status.

"Running" means: a live process whose pid every service reports on its health route. A pid file
alone proves nothing (a reboot or kill -9 leaves it behind, and pids get reused), so a pid file
without such a process is stale and is removed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from localcloud.config import HOST, SERVICES, CloudConfig, port_in_use
from localcloud.credentials import ensure_credentials
from localcloud.errors import LocalCloudError
from localcloud.statelock import in_use_message, state_in_use
from localcloud.storage import read_json

STOP_GRACE_SECONDS = 10.0
_children: dict[int, subprocess.Popen[bytes]] = {}  # servers this process started, reaped on stop
_children_ports: dict[int, tuple[int, ...]] = {}  # ... and the ports each was started to serve


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    pid: int | None  # the pid of our local cloud that answered, None if it did not
    ready: bool
    other_state_dir: str | None = None  # set when another local cloud (other state folder) answered


@dataclass(frozen=True)
class CloudStatus:
    config: CloudConfig
    pid: int | None
    services: tuple[ServiceHealth, ...]

    @property
    def running(self) -> bool:
        """Every service answers, from one live process."""
        pids = {s.pid for s in self.services}
        return len(pids) == 1 and self.pid in pids and self.pid is not None and _alive(self.pid)

    @property
    def ready(self) -> bool:
        return self.running and all(s.ready for s in self.services)


def status(config: CloudConfig | None = None) -> CloudStatus:
    config = config or CloudConfig.from_env()
    services = tuple(_health(config, service) for service in SERVICES)
    pid = _pid_from_file(config)
    answered = {s.pid for s in services if s.pid is not None}
    if pid is None and len(answered) == 1:  # pid file lost, server alive: still ours to manage
        pid = answered.pop()
    return CloudStatus(config, pid, services)


def start(config: CloudConfig | None = None, *, timeout: float = 90.0) -> CloudStatus:
    """Start the local cloud in the background unless it already runs; return once every service is
    ready (endpoints reloaded). One-line LocalCloudError if it cannot start."""
    config = config or CloudConfig.from_env()
    current = status(config)
    if current.running:
        return _wait_ready(config, None, timeout)
    _remove_stale_pid_file(config, current)
    for health in current.services:
        if health.other_state_dir is not None:
            raise LocalCloudError(
                f"port {config.port(health.service)} is served by another local cloud (state in "
                f"{health.other_state_dir}); stop it or choose other ports"
            )
        if not _port_free(config.port(health.service)):
            raise port_in_use(config, health.service)
    ensure_credentials(config)  # the stack's keys exist before any service can be asked to check them
    with open(config.log_file, "ab") as log:
        offset = log.tell()
        process = subprocess.Popen(
            [sys.executable, "-m", "localcloud"],
            env={**os.environ, **config.to_env()},
            cwd=config.state_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: `stop` can end it and its workers together
        )
    _children[process.pid] = process
    _children_ports[process.pid] = _ports(config)
    return _wait_ready(config, (process, offset), timeout)


def stop(
    config: CloudConfig | None = None, *, grace: float = STOP_GRACE_SECONDS, purge: bool = False
) -> bool:
    """Stop the local cloud (SIGTERM, then SIGKILL of its whole process group after `grace`).
    True if something was running. `purge` then deletes the state folder (buckets, functions, ...)."""
    config = config or CloudConfig.from_env()
    pid = _our_live_pid(status(config))
    if pid is not None:
        _terminate(pid, grace)
    elif state_in_use(config):  # another local cloud (other ports) serves this folder: not ours to touch
        raise LocalCloudError(in_use_message(config))
    config.pid_file.unlink(missing_ok=True)
    if purge:
        shutil.rmtree(config.state_dir, ignore_errors=True)
    return pid is not None


# -- internals ------------------------------------------------------------------------------------------


def _wait_ready(
    config: CloudConfig, child: tuple[subprocess.Popen[bytes], int] | None, timeout: float
) -> CloudStatus:
    deadline = time.monotonic() + timeout
    while True:
        current = status(config)
        if current.ready:
            return current
        if child is not None and child[0].poll() is not None:
            _children.pop(child[0].pid, None)
            raise LocalCloudError(_failure_line(config, child[1]))
        if time.monotonic() > deadline:
            if child is not None:
                _terminate(child[0].pid, 2.0)
            raise LocalCloudError(
                f"the local cloud did not become ready within {timeout:.0f} s; see {config.log_file}"
            )
        time.sleep(0.1)


def _failure_line(config: CloudConfig, offset: int) -> str:
    """The error the server printed before exiting (its last line), without the "localcloud: " prefix."""
    with open(config.log_file, "rb") as log:
        log.seek(offset)
        lines = [line.strip() for line in log.read().decode(errors="replace").splitlines() if line.strip()]
    last = lines[-1] if lines else f"the local cloud exited at start-up; see {config.log_file}"
    return last.removeprefix("localcloud: ")


def _health(config: CloudConfig, service: str) -> ServiceHealth:
    connection = http.client.HTTPConnection(HOST, config.port(service), timeout=2.0)
    try:
        connection.request("GET", "/_localcloud/health")
        response = connection.getresponse()
        body = json.loads(response.read())
        if body.get("service") != service:
            return ServiceHealth(service, None, False)
        if body.get("state_dir") != str(config.state_dir):
            return ServiceHealth(service, None, False, other_state_dir=str(body.get("state_dir")))
        return ServiceHealth(service, int(body["pid"]), bool(body.get("ready")))
    except (OSError, ValueError, KeyError, http.client.HTTPException):
        return ServiceHealth(service, None, False)
    finally:
        connection.close()


def _pid_from_file(config: CloudConfig) -> int | None:
    try:
        return int(read_json(config.pid_file)["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_ours(current: CloudStatus, pid: int) -> bool:
    """The pid is a local cloud: a service answers with it (or it is a server we started)."""
    started_here = _children_ports.get(pid) == _ports(current.config)
    return started_here or any(s.pid == pid for s in current.services)


def _ports(config: CloudConfig) -> tuple[int, ...]:
    return tuple(config.port(service) for service in SERVICES)


def _our_live_pid(current: CloudStatus) -> int | None:
    """The status's pid if that process is alive and a local cloud: a stale pid file may name someone
    else's process, which must never be signalled."""
    pid = current.pid
    return pid if pid is not None and _alive(pid) and _is_ours(current, pid) else None


def _remove_stale_pid_file(config: CloudConfig, current: CloudStatus) -> None:
    if config.pid_file.exists() and _our_live_pid(current) is None:
        config.pid_file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None  # reaps our own child, so a zombie does not look alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _terminate(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Whatever is left of its process group (a hung shutdown, worker processes) goes now.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    _children_ports.pop(pid, None)
    child = _children.pop(pid, None)
    if child is not None:
        child.wait()


def _port_free(port: int) -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((HOST, port))
    except OSError:
        return False
    finally:
        probe.close()
    return True
