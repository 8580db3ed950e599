"""Lambda execution environments as worker processes, and the per-function pool of warm ones.

A worker is one `bootstrap.py` process: module state survives between its invocations (warm starts),
it runs one invocation at a time, and it is killed on timeout or retired when the function's code or
configuration changes. Its stdout/stderr go to a file, so an invocation's log is "what the file grew
by", even when the worker hangs or dies. Workers stay in the local cloud's process group (a
`kill -9` of the group takes them too) and also exit on their own if the local cloud dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.awslambda import bootstrap
from localcloud.awslambda.bootstrap import FRAME, peak_memory_kb, write_frame

BOOTSTRAP = Path(bootstrap.__file__).resolve()
MAX_FRAME_HEADER = 1 << 20  # our bootstrap's headers are a few hundred bytes
# Go's names for the signals (Lambda's runtime is written in Go: "signal: killed").
SIGNAL_NAMES = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGINT: "interrupt",
}


class WorkerTimeout(Exception):
    """The worker did not answer before the deadline."""


class WorkerExited(Exception):
    """The worker process ended (crash, os._exit, signal) instead of answering."""

    def __init__(self, reason: str, maxrss_kb: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maxrss_kb = maxrss_kb


@dataclass(frozen=True)
class WorkerSpec:
    """Everything that defines an execution environment; a new generation retires the old workers."""

    function_name: str
    task_root: Path
    layer_paths: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    generation: int


@dataclass(eq=False)  # identity semantics: workers live in sets
class Worker:
    spec: WorkerSpec
    process: subprocess.Popen[bytes]
    to_worker: int
    from_worker: int
    output: Path
    started: float = field(default_factory=time.monotonic)  # set at spawn: init time includes Python's start
    last_used: float = field(default_factory=time.monotonic)
    exit_reason: str | None = None
    maxrss_kb: int = 0
    _reap_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def spawn(cls, spec: WorkerSpec, run_dir: Path) -> Worker:
        run_dir.mkdir(parents=True, exist_ok=True)
        output = run_dir / f"{spec.function_name}-{uuid.uuid4().hex[:12]}.out"
        request_r, request_w = os.pipe()
        response_r, response_w = os.pipe()
        with open(output, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-I", str(BOOTSTRAP), str(request_r), str(response_w), *spec.layer_paths],
                cwd=spec.task_root,
                env=dict(spec.env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(request_r, response_w),
            )
        os.close(request_r)
        os.close(response_w)
        return cls(spec, process, request_w, response_r, output)

    def wait_ready(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        """The worker's first frame: {"type": "ready"} or {"type": "init_error"} plus the error."""
        return self._read_frame(deadline)

    def invoke(
        self, header: dict[str, Any], payload: bytes, deadline: float, max_body: int
    ) -> tuple[dict[str, Any], bytes]:
        """The worker's answer. A body over `max_body` is read and dropped piece by piece (never held
        whole): the header then carries its size as "oversize" and the body is empty."""
        try:
            write_frame(self.to_worker, header, payload)
        except BrokenPipeError:
            raise self._exited() from None
        return self._read_frame(deadline, max_body)

    def output_size(self) -> int:
        try:
            return self.output.stat().st_size
        except FileNotFoundError:
            return 0

    def output_since(self, offset: int) -> bytes:
        try:
            with open(self.output, "rb") as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:
            return b""

    def alive(self) -> bool:
        return not self._reap(block=False)

    def terminate(self) -> None:
        """Kill the process now (its output file stays readable) and collect its status and memory."""
        if not self._reap(block=False):
            self.maxrss_kb = max(self.maxrss_kb, peak_memory_kb(self.process.pid))  # last chance to read it
            # os.kill, not Popen.kill: Popen's own reaping would race with ours.
            os.kill(self.process.pid, signal.SIGKILL)
            self._reap(block=True)

    def kill(self) -> None:
        """Terminate and release everything: pipes and the output file."""
        self.terminate()
        for fd in (self.to_worker, self.from_worker):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.to_worker = self.from_worker = -1
        self.output.unlink(missing_ok=True)

    # -- internals ------------------------------------------------------------------------------------

    def _read_frame(self, deadline: float, max_body: int | None = None) -> tuple[dict[str, Any], bytes]:
        head_size, body_size = FRAME.unpack(self._read_exact(FRAME.size, deadline))
        if head_size > MAX_FRAME_HEADER:
            raise self._exited()  # not our bootstrap speaking: treat it as a dead worker
        header = json.loads(self._read_exact(head_size, deadline))
        self.maxrss_kb = max(self.maxrss_kb, header.get("maxrss_kb", 0))  # what a later crash will report
        if max_body is not None and body_size > max_body:
            self._read_exact(body_size, deadline, keep=False)
            return {**header, "oversize": body_size}, b""
        return header, self._read_exact(body_size, deadline) if body_size else b""

    def _read_exact(self, size: int, deadline: float, *, keep: bool = True) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        poller = select.poll()
        poller.register(self.from_worker, select.POLLIN | select.POLLHUP)
        while remaining:
            timeout_ms = (deadline - time.monotonic()) * 1000
            if timeout_ms <= 0 or not poller.poll(max(1, int(timeout_ms))):
                raise WorkerTimeout
            chunk = os.read(self.from_worker, min(remaining, 1 << 20))
            if not chunk:
                raise self._exited()
            if keep:
                chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _exited(self) -> WorkerExited:
        self._reap(block=True)
        return WorkerExited(self.exit_reason or "", self.maxrss_kb)

    def _reap(self, *, block: bool) -> bool:
        """True once the process has ended. Only this method reaps, so the pid is never reused under us."""
        with self._reap_lock:
            if self.exit_reason is not None:
                return True
            try:
                pid, status = os.waitpid(self.process.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                self.exit_reason = "exit status unknown"
                return True
            if pid == 0:
                return False
            self._record_exit(status)
            return True

    def _record_exit(self, status: int) -> None:
        self.process.returncode = code = os.waitstatus_to_exitcode(status)
        if code < 0:
            self.exit_reason = f"signal: {SIGNAL_NAMES.get(signal.Signals(-code), str(-code))}"
        elif code == 0:
            self.exit_reason = ""  # exited cleanly without answering
        else:
            self.exit_reason = f"exit status {code}"


class PoolFull(Exception):
    """All the function's workers are busy and the pool may not grow (Lambda's throttling)."""


class FunctionPool:
    """The warm workers of one function, at most `limit` of them, each serving one call at a time."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.idle: list[Worker] = []
        self.workers: set[Worker] = set()  # every live worker, idle or busy
        self.in_use = 0  # busy workers plus reserved slots of workers being started
        self.generation = 0
        self.closed = False
        self.cond = threading.Condition()

    def acquire(self, *, wait: bool) -> Worker | None:
        """A warm worker, or None when the caller must start one (a slot is reserved for it)."""
        with self.cond:
            while True:
                if self.closed:
                    raise PoolFull("the function is being deleted")
                while self.idle:
                    worker = self.idle.pop()  # most recently used first: the warmest
                    if worker.alive() and worker.spec.generation == self.generation:
                        self.in_use += 1
                        return worker
                    self._kill(worker)
                if self.in_use < self.limit:
                    self.in_use += 1
                    return None
                if not wait:
                    raise PoolFull("all workers busy")
                self.cond.wait()

    def track(self, worker: Worker) -> None:
        with self.cond:
            self.workers.add(worker)

    def release(self, worker: Worker | None, *, reusable: bool) -> None:
        with self.cond:
            self.in_use -= 1
            if worker is not None:
                keep = reusable and not self.closed and worker.spec.generation == self.generation
                if keep and worker.alive():
                    worker.last_used = time.monotonic()
                    self.idle.append(worker)
                else:
                    self._kill(worker)
            self.cond.notify()

    def retire_all(self) -> None:
        """New code or configuration: idle workers go now, busy ones after their current call."""
        with self.cond:
            self.generation += 1
            idle, self.idle = self.idle, []
            for worker in idle:
                self._kill(worker)

    def shutdown(self) -> None:
        """The function is deleted or the local cloud stops: every worker goes, busy or not."""
        with self.cond:
            self.closed = True
            idle, self.idle = self.idle, []
            busy = [w for w in self.workers if w not in idle]
            for worker in idle:
                self._kill(worker)
            self.cond.notify_all()
        for worker in busy:  # their call ends as Runtime.ExitError; release() then frees the pipes
            worker.terminate()

    def reap_idle(self, max_idle: float) -> None:
        cutoff = time.monotonic() - max_idle
        with self.cond:
            stale = [w for w in self.idle if w.last_used < cutoff]
            self.idle = [w for w in self.idle if w.last_used >= cutoff]
            for worker in stale:
                self._kill(worker)

    def _kill(self, worker: Worker) -> None:
        self.workers.discard(worker)
        worker.kill()
