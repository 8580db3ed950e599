"""Lambda, as plain Python: the function store (control plane), the worker pools, and Invoke.

Functions persist as `<state>/lambda/functions/<name>/function.json` (the FunctionConfiguration
wire shape plus our "_" keys) next to their extracted code, so they survive restarts.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud.awslambda.code import Package, extract, fetch_package, zip_path
from localcloud.awslambda.errors import function_not_found, invalid, pattern_error, throttled, user_error
from localcloud.awslambda.invocation import MAX_ASYNC_PAYLOAD, Invocation, run_on
from localcloud.awslambda.layers import LayerStore, timestamp
from localcloud.awslambda.settings import (
    FUNCTION_REF,
    client_context,
    event_bytes,
    function_settings,
    parse_ref,
)
from localcloud.awslambda.workers import FunctionPool, PoolFull, Worker, WorkerSpec
from localcloud.awswire import AwsError, shown
from localcloud.clientenv import env_vars
from localcloud.config import ACCOUNT_ID, CloudConfig, log_path
from localcloud.credentials import ensure_credentials
from localcloud.storage import atomic_write_json, clean_trash, read_json, remove_tree

log = logging.getLogger("localcloud.lambda")
MAX_QUEUED_EVENTS = 1000


@dataclass
class InvokeResult:
    status: int
    request_id: str
    payload: bytes = b""
    function_error: str | None = None
    log_result: str | None = None


class LambdaBackend:
    def __init__(self, config: CloudConfig) -> None:
        self.config = config
        self.root = config.state_dir / "lambda" / "functions"
        self.run_dir = config.state_dir / "lambda" / "run"
        self.layers = LayerStore(config)
        self._functions: dict[str, dict[str, Any]] = {}
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self._events = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-event")
        # Event invocations waiting for a worker; beyond this many, Invoke answers 429 (memory is bounded).
        self._queued = threading.BoundedSemaphore(MAX_QUEUED_EVENTS)
        self._stopping = threading.Event()

    # -- lifecycle --------------------------------------------------------------------------------

    def restore(self) -> None:
        """Load persisted functions; drop leftovers of a crash (worker outputs, stale code folders)."""
        shutil.rmtree(self.run_dir, ignore_errors=True)
        clean_trash(self.root)
        for path in sorted(self.root.glob("*/function.json")) if self.root.is_dir() else []:
            record = read_json(path)
            self._functions[record["FunctionName"]] = record
            self._drop_old_code(record)
        threading.Thread(target=self._reap_idle_workers, name="lambda-reaper", daemon=True).start()

    def shutdown(self) -> None:
        self._stopping.set()
        self._events.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.shutdown()

    def _reap_idle_workers(self) -> None:
        while not self._stopping.wait(min(30.0, self.config.lambda_idle_seconds)):
            with self._lock:
                pools = list(self._pools.values())
            for pool in pools:
                pool.reap_idle(self.config.lambda_idle_seconds)

    # -- control plane ----------------------------------------------------------------------------

    def create_function(self, body: dict[str, Any]) -> dict[str, Any]:
        name, qualifier = parse_ref(body.get("FunctionName"))
        if qualifier or name != body["FunctionName"]:
            raise pattern_error(body["FunctionName"], "functionName", FUNCTION_REF.pattern)
        if body.get("PackageType", "Zip") != "Zip":
            raise invalid(
                "Container image functions are not supported by the local cloud; use PackageType Zip."
            )
        settings = self._settings(body, creating=True)
        package = fetch_package(self.config, body.get("Code") or {}, "Code")
        with self._lock:
            if name in self._functions:
                raise user_error("ResourceConflictException", f"Function already exist: {name}", 409)
            extract(package, self.root / name / "code")
            record = {
                "FunctionName": name,
                "FunctionArn": self.function_arn(name),
                "Description": "",
                "Timeout": 3,
                "MemorySize": 128,
                "Version": "$LATEST",
                "TracingConfig": {"Mode": "PassThrough"},
                "State": "Active",
                "LastUpdateStatus": "Successful",
                "PackageType": "Zip",
                "Architectures": body.get("Architectures") or ["x86_64"],
                "EphemeralStorage": body.get("EphemeralStorage") or {"Size": 512},
                "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
                "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
                **settings,
                **self._new_revision(),
                **self._code_fields(package),
                "_tags": body.get("Tags") or {},
            }
            self._save(record)
        return self._public(record)

    def get_function(self, ref: str, qualifier: str | None) -> dict[str, Any]:
        record = self._function(ref, qualifier)
        name = record["FunctionName"]
        result = {
            "Configuration": self._public(record),
            "Code": {"RepositoryType": "S3", "Location": self._code_location(name)},
        }
        if record["_tags"]:
            result["Tags"] = record["_tags"]
        return result

    def get_configuration(self, ref: str, qualifier: str | None) -> dict[str, Any]:
        return self._public(self._function(ref, qualifier))

    def update_configuration(self, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            record = self._check_revision(self._function(ref, None), body)
            record = {**record, **self._settings(body, creating=False), **self._new_revision()}
            self._save(record)
        self._pool(record["FunctionName"]).retire_all()
        return self._public(record)

    def update_code(self, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        package = fetch_package(self.config, body, "")
        with self._lock:
            record = self._check_revision(self._function(ref, None), body)
            extract(package, self.root / record["FunctionName"] / "code")
            record = {**record, **self._code_fields(package), **self._new_revision()}
            if body.get("DryRun"):
                return self._public(record)
            self._save(record)
        self._pool(record["FunctionName"]).retire_all()
        return self._public(record)

    def delete_function(self, ref: str) -> None:
        with self._lock:
            name = self._function(ref, None)["FunctionName"]
            del self._functions[name]
            pool = self._pools.pop(name, None)
            remove_tree(self.root / name)
        if pool is not None:
            pool.shutdown()

    def list_functions(self, marker: str | None, max_items: int | None) -> dict[str, Any]:
        with self._lock:
            records = sorted(self._functions.values(), key=lambda r: r["FunctionName"])
        if marker is not None and not (marker.isdigit() and len(marker) <= 9):
            raise invalid(f"Invalid Marker: {shown(marker)}")
        start = int(marker or 0)
        size = min(max(int(max_items or 50), 1), 10000)
        page = records[start : start + size]
        result: dict[str, Any] = {"Functions": [self._public(r) for r in page]}
        if start + size < len(records):
            result["NextMarker"] = str(start + size)
        return result

    def _code_location(self, name: str) -> str:
        """A presigned URL of the function's zip (10 minutes), as GetFunction's S3 URL is on AWS: the
        route itself is signed like every other."""
        keys = ensure_credentials(self.config)
        request = AWSRequest("GET", f"{self.config.url('lambda')}/_localcloud/code/{name}.zip")
        credentials = Credentials(keys.access_key_id, keys.secret_access_key)
        SigV4QueryAuth(credentials, "lambda", self.config.region, expires=600).add_auth(request)
        return request.url

    def code_zip(self, name: str) -> bytes:
        record = self._function(name, None)
        return zip_path(self.root / name / "code", record["_code"]).read_bytes()

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.config.region}:{ACCOUNT_ID}:function:{name}"

    # -- Invoke -----------------------------------------------------------------------------------

    def invoke(
        self,
        ref: str,
        qualifier: str | None,
        payload: bytes,
        invocation_type: str | None,
        log_type: str | None,
        raw_client_context: str | None,
    ) -> InvokeResult:
        name = self._function(ref, qualifier)["FunctionName"]
        kind = invocation_type or "RequestResponse"
        if kind not in ("RequestResponse", "Event", "DryRun"):
            raise invalid(f"Unsupported invocation type {kind}.")
        if kind == "Event" and len(payload) > MAX_ASYNC_PAYLOAD:
            raise user_error(
                "RequestEntityTooLargeException",
                f"{len(payload)} byte payload is too large for the Event invocation type "
                f"(limit {MAX_ASYNC_PAYLOAD} bytes)",
                413,
            )  # text: faultline/faultline#12, ASFHyP3/hyp3#2241
        event = event_bytes(payload)
        context = client_context(raw_client_context)
        request_id = str(uuid.uuid4())
        if kind == "DryRun":
            return InvokeResult(204, request_id)
        if kind == "Event":
            if not self._queued.acquire(blocking=False):
                raise throttled("CallerRateLimitExceeded")
            self._events.submit(self._invoke_async, name, event, request_id)
            return InvokeResult(202, request_id)
        run = self.execute(name, event, context, request_id, wait=False)
        result = InvokeResult(200, request_id, run.payload, run.function_error)
        if log_type == "Tail":
            result.log_result = run.tail()
        return result

    def _invoke_async(self, name: str, event: bytes, request_id: str) -> None:
        try:
            self.execute(name, event, None, request_id, wait=True)
        except AwsError as exc:  # e.g. the function was deleted while the event waited
            log.warning("async invocation of %s dropped: %s", name, exc.message)
        except Exception:
            log.exception("async invocation of %s failed", name)
        finally:
            self._queued.release()

    def execute(
        self, name: str, event: bytes, context: dict | None, request_id: str, *, wait: bool
    ) -> Invocation:
        """Run one invocation on a warm worker (or a new one); Event invocations wait for a free slot."""
        with self._lock:
            record = self._functions.get(name)
            if record is None:
                raise function_not_found(self.function_arn(name))
            pool = self._pool(name)
        try:
            worker = pool.acquire(wait=wait)
        except PoolFull:
            raise throttled() from None
        run = Invocation(
            request_id, record["FunctionArn"], int(record["MemorySize"]), float(record["Timeout"]), context
        )
        reusable = False
        try:
            if worker is None:
                worker = Worker.spawn(self._spec(record, pool.generation), self.run_dir)
                pool.track(worker)
                run.cold = True
            reusable = run_on(worker, run, event)
        finally:
            pool.release(worker, reusable=reusable)
        self._append_log(name, run.log_text())
        return run

    # -- workers ----------------------------------------------------------------------------------

    def _pool(self, name: str) -> FunctionPool:
        with self._lock:
            pool = self._pools.get(name)
            if pool is None:
                pool = self._pools[name] = FunctionPool(self.config.lambda_max_concurrency)
            return pool

    def _spec(self, record: dict[str, Any], generation: int) -> WorkerSpec:
        name = record["FunctionName"]
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            # The host's ~/.aws files must not leak real credentials or endpoints into a handler.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            **record.get("Environment", {}).get("Variables", {}),
            # What follows overrides the function's Variables: the runtime's own keys, then ours.
            "_HANDLER": record["Handler"],
            "LAMBDA_TASK_ROOT": str(self._code_dir(record)),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{record['Runtime']}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(record["MemorySize"]),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            **env_vars(self.config),  # the stack's own keys: the handler's boto3 signs with them
        }
        layers = self.layers.python_paths(
            [layer["Arn"] for layer in record.get("Layers", [])], record["Runtime"]
        )
        return WorkerSpec(name, self._code_dir(record), tuple(layers), tuple(env.items()), generation)

    # -- logs -------------------------------------------------------------------------------------

    def _append_log(self, name: str, text: str) -> None:
        path = log_path(self.config, function=name)
        with self._log_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(text)

    # -- helpers ----------------------------------------------------------------------------------

    def _settings(self, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        settings = function_settings(body, creating=creating)
        if body.get("Layers") is not None:
            settings["Layers"] = self.layers.resolve(list(body["Layers"]))
        return settings

    def _new_revision(self) -> dict[str, Any]:
        return {"RevisionId": str(uuid.uuid4()), "LastModified": timestamp()}

    def _code_fields(self, package: Package) -> dict[str, Any]:
        return {"CodeSha256": package.code_sha256, "CodeSize": len(package.data), "_code": package.sha256_hex}

    def _check_revision(self, record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if body.get("RevisionId") and body["RevisionId"] != record["RevisionId"]:
            raise user_error(
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id. "
                "Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
                412,
            )
        return record

    def _function(self, ref: str, qualifier: str | None) -> dict[str, Any]:
        name, ref_qualifier = parse_ref(ref)
        qualifier = qualifier or ref_qualifier
        with self._lock:
            record = self._functions.get(name)
        if record is None or qualifier not in (None, "$LATEST"):  # versions and aliases are not modelled
            raise function_not_found(self.function_arn(name + (f":{qualifier}" if qualifier else "")))
        return record

    def _save(self, record: dict[str, Any]) -> None:
        atomic_write_json(self.root / record["FunctionName"] / "function.json", record)
        self._functions[record["FunctionName"]] = record

    def _code_dir(self, record: dict[str, Any]) -> Path:
        return self.root / record["FunctionName"] / "code" / record["_code"]

    def _drop_old_code(self, record: dict[str, Any]) -> None:
        code = self.root / record["FunctionName"] / "code"
        for path in code.iterdir() if code.is_dir() else []:
            if not path.name.startswith(record["_code"]):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        if not self._code_dir(record).is_dir():  # extracted folder lost: rebuild it from the zip
            extract(Package(zip_path(code, record["_code"]).read_bytes()), code)

    def _public(self, record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not k.startswith("_")}
