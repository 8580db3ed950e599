"""The Python runtime of one Lambda worker ("execution environment"); stdlib only.

Started as `python -I bootstrap.py IN_FD OUT_FD [LAYER_PATH ...]` with cwd = the function's code
(`/var/task`) and the function's environment. It imports `$_HANDLER` once (cold start), then serves
invocations one at a time over two pipes, in frames of `>II` (header length, body length) + a JSON
header + the body. stdout/stderr are the function's log. Error payloads, their types and texts follow
AWS's runtime interface client (aws/aws-lambda-python-runtime-interface-client, `bootstrap.py`,
`lambda_runtime_exception.py`, `lambda_runtime_marshaller.py`, `lambda_context.py`).

The local cloud imports `FRAME` and `write_frame` from here, so both ends share one framing; it reads
frames with its own reader (`workers.Worker`), which needs a deadline and notices a worker's death.
"""

from __future__ import annotations

import decimal
import importlib
import json
import logging
import os
import resource
import struct
import sys
import threading
import time
import traceback
from typing import Any

FRAME = struct.Struct(">II")


# -- framing (FRAME and write_frame shared with localcloud.awslambda.workers) -----------------------------


def write_frame(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    head = json.dumps(header).encode()
    view = memoryview(FRAME.pack(len(head), len(body)) + head + body)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> tuple[dict[str, Any], bytes] | None:
    """The next frame, or None at end of file (the local cloud closed the pipe: exit)."""
    sizes = _read_exact(fd, FRAME.size)
    if sizes is None:
        return None
    head_size, body_size = FRAME.unpack(sizes)
    head = _read_exact(fd, head_size)
    body = _read_exact(fd, body_size) if body_size else b""
    if head is None or body is None:
        return None
    return json.loads(head), body


# -- the runtime's errors and context, as in the runtime interface client ---------------------------------


class FaultException(Exception):
    MARSHAL_ERROR = "Runtime.MarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"

    def __init__(self, exception_type: str, msg: str, trace: list[str] | None = None) -> None:
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


def make_error(message: str, error_type: str, stack_trace: list[str] | None, request_id: str = "") -> dict:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id,
        "stackTrace": stack_trace or [],
    }


def fault_result(exc: BaseException, request_id: str = "") -> dict:
    frames = traceback.extract_tb(exc.__traceback__)
    for i, frame in enumerate(frames):  # drop the runtime's own frames, like the real one does
        if not frame.filename.endswith("/bootstrap.py"):
            frames = frames[i:]
            break
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def log_error(error: dict) -> None:
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}", "Traceback (most recent call last):"]
    lines += [line for entry in error["stackTrace"] for line in entry.splitlines()]
    sys.stdout.write("\n".join(lines) + "\n")


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return float(o)
        return super().default(o)


def marshal(response: Any) -> bytes:
    if isinstance(response, bytes):
        return response
    try:
        return _Encoder().encode(response).encode()
    except Exception as exc:
        raise FaultException(FaultException.MARSHAL_ERROR, f"Unable to marshal response: {exc}") from None


class CognitoIdentity:
    cognito_identity_id = None
    cognito_identity_pool_id = None


class ClientContext:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.custom = raw.get("custom")
        self.env = raw.get("env")
        self.client = raw.get("client")


class LambdaContext:
    """What the handler gets as `context`; attributes as in the runtime interface client."""

    def __init__(
        self, request_id: str, client_context: dict | None, deadline_ms: int, function_arn: str
    ) -> None:
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = function_arn
        self.client_context = ClientContext(client_context) if client_context is not None else None
        self.identity = CognitoIdentity()
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: Any) -> None:
        sys.stdout.write(str(msg))


# -- the worker -----------------------------------------------------------------------------------------


def peak_memory_kb(pid: int | str = "self") -> int:
    """Peak resident memory of a process, in KiB (Lambda's "Max Memory Used").

    VmHWM, not getrusage: ru_maxrss survives execve, so a worker started by the (large) local cloud
    process would report the parent's footprint. Falls back to ru_maxrss where /proc is missing."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    if pid != "self":
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes


_REQUEST_ID = ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _REQUEST_ID
        return True


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.terminator = ""
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _isolate_imports(task_root: str, layer_paths: list[str]) -> None:
    """sys.path like Lambda's: the code, then layers, then the runtime's packages (boto3, numpy).
    The project's editable install must not leak in: a handler sees only what its zip ships."""
    sys.meta_path[:] = [
        f for f in sys.meta_path if "Editable" not in getattr(f, "__name__", type(f).__name__)
    ]
    sys.path_hooks[:] = [h for h in sys.path_hooks if "editable" not in getattr(h, "__module__", "")]
    sys.path[:] = [task_root, *layer_paths, *(p for p in sys.path if "__editable__" not in p)]
    sys.path_importer_cache.clear()


def _get_handler(handler: str) -> Any:
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {exc}"
        ) from None
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                f"Cannot use built-in module {module_name} as a handler module",
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {exc}", trace
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


def exit_with_parent() -> None:
    """Die with the local cloud even if it was killed -9 (we share its process group otherwise)."""
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(137)


def _flush() -> None:
    sys.stdout.flush()
    sys.stderr.flush()


def _invoke(handler: Any, header: dict[str, Any], event_body: bytes, out_fd: int) -> None:
    global _REQUEST_ID
    _REQUEST_ID = request_id = header["request_id"]
    failed = False
    try:
        context = LambdaContext(
            request_id, header.get("client_context"), header["deadline_ms"], header["arn"]
        )
        payload = marshal(handler(json.loads(event_body), context))
    except FaultException as exc:
        failed, error = True, make_error(exc.msg, exc.exception_type, exc.trace, request_id)
    except Exception as exc:
        failed, error = True, fault_result(exc, request_id)
    if failed:
        log_error(error)
        payload = json.dumps(error).encode()
    _flush()
    write_frame(out_fd, {"type": "result", "error": failed, "maxrss_kb": peak_memory_kb()}, payload)
    _REQUEST_ID = ""


def main(argv: list[str]) -> int:
    in_fd, out_fd, layer_paths = int(argv[1]), int(argv[2]), argv[3:]
    _isolate_imports(os.getcwd(), layer_paths)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    _setup_logging()
    threading.Thread(target=exit_with_parent, name="exit-with-parent", daemon=True).start()
    error = None
    try:
        handler = _get_handler(os.environ["_HANDLER"])
    except FaultException as exc:
        error = make_error(exc.msg, exc.exception_type, exc.trace)
    except Exception as exc:  # the module raised while being imported (e.g. a KeyError on an env var)
        error = fault_result(exc)
    if error is not None:
        log_error(error)
        _flush()
        header = {"type": "init_error", "maxrss_kb": peak_memory_kb()}
        write_frame(out_fd, header, json.dumps(error).encode())
        return 1  # like Lambda: a failed init leaves no environment behind; the next call starts anew
    write_frame(out_fd, {"type": "ready", "maxrss_kb": peak_memory_kb()})
    while (frame := read_frame(in_fd)) is not None:
        _invoke(handler, frame[0], frame[1], out_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
