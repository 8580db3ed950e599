"""A production variant's "container": the thread that runs its model, one request at a time, with
SageMaker's time limit on every invocation.

Why a thread of its own rather than the HTTP thread under a lock: the HTTP thread must stay free to
answer 424 when the model is too slow, and a Python call cannot be interrupted in-process. Handing a
call to a waiting thread costs less than starting one per call (~15 µs against ~50 µs on a 2-vCPU
machine), next to a ~0.4 ms InvokeEndpoint.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

from localcloud.sagemaker.modelservers import InferenceModel

# A container thread with no work for this long ends (the next call starts another), so a variant
# that an update replaced or a delete removed leaves no thread behind.
IDLE_SECONDS = 60.0

Answer = tuple[bytes, str]
Call = tuple[Future[Answer], bytes, str, str | None]


class InvocationTimeout(Exception):
    """The model did not answer within the time limit (waiting for the model included)."""


class ModelContainer:
    def __init__(self, model: InferenceModel, name: str) -> None:
        self.model = model
        self.name = name
        self._calls: queue.SimpleQueue[Call] = queue.SimpleQueue()
        self._guard = threading.Lock()  # makes "queue empty, so the thread ends" atomic with submitting
        self._running = False

    def invoke(self, body: bytes, content_type: str, accept: str | None, timeout: float) -> Answer:
        """The model's answer, or InvocationTimeout after `timeout` s (queueing behind others included).

        A timed-out call still waiting its turn is cancelled and never runs. One already running cannot
        be stopped: it runs to the end on the container thread and its answer is dropped; calls queued
        behind it wait, each within its own time limit, as they would on a busy container. So a model
        that never returns makes every later call to this variant time out, and nothing else.
        """
        future: Future[Answer] = Future()
        with self._guard:
            self._calls.put((future, body, content_type, accept))
            if not self._running:
                self._running = True
                threading.Thread(target=self._serve, name=f"model-{self.name}", daemon=True).start()
        try:
            error = future.exception(timeout)
        except TimeoutError:
            future.cancel()
            raise InvocationTimeout(f"no answer within {timeout:g} s") from None
        if error is not None:
            raise error
        return future.result()

    def _serve(self) -> None:
        while True:
            try:
                future, body, content_type, accept = self._calls.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._guard:
                    if self._calls.empty():
                        self._running = False
                        return
                continue
            if not future.set_running_or_notify_cancel():
                continue  # its caller has given up already
            try:
                future.set_result(self.model.invoke(body, content_type, accept))
            except Exception as exc:  # the caller re-raises it (or dropped it, if it timed out)
                future.set_exception(exc)
