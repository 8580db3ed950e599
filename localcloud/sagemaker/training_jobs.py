"""SageMaker training jobs, as plain Python: validation, a one-at-a-time queue, and the job lifecycle.

A job runs like SageMaker's File mode: its S3Prefix channels are copied into
`<job>/input/data/<channel>/`, the algorithm runs in a subprocess (`algorithm_container`, so a crash or a
StopTrainingJob never touches the local cloud) and writes `<job>/model/model.tar.gz`, which is
uploaded to `<S3OutputPath>/<TrainingJobName>/output/model.tar.gz`. Two cores: one job at a time.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from common.s3uri import split_s3_uri
from localcloud.awswire import AwsError, public
from localcloud.config import CloudConfig, log_path
from localcloud.s3client import download_prefix, s3_client
from localcloud.sagemaker.modelservers import OBJECT2VEC
from localcloud.sagemaker.resources import (
    RecordStore,
    arn,
    check_name,
    list_page,
    now,
    require,
    validation,
)
from localcloud.storage import UnsafeName, atomic_write_json, remove_tree

log = logging.getLogger("localcloud.sagemaker")
# The images whose algorithm `algorithm_container` runs: those the built-in model server serves.
TRAINING_IMAGES = (OBJECT2VEC.pattern,)
STOP_GRACE_SECONDS = 10.0
ACTIVE = ("InProgress", "Stopping")


class TrainingBackend:
    def __init__(self, config: CloudConfig) -> None:
        self.config = config
        self.jobs = RecordStore(config.state_dir / "sagemaker" / "training-jobs")
        self.work = config.state_dir / "sagemaker" / "jobs"
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._process: subprocess.Popen[bytes] | None = None
        self._running: str | None = None
        self._stopping = False
        self._lock = threading.RLock()
        self._thread = threading.Thread(target=self._loop, name="training", daemon=True)

    # -- lifecycle of the backend ------------------------------------------------------------------

    def start(self) -> None:
        """Jobs that were running when the local cloud died cannot resume: report them as failed."""
        remove_tree(self.work)  # what interrupted jobs had downloaded
        for record in self.jobs.values():
            if record["TrainingJobStatus"] in ACTIVE:
                self._failed(
                    record,
                    "InternalServerError: the local cloud stopped while this job was running; "
                    "start it again under a new name.",
                )
        self._thread.start()

    def shutdown(self) -> None:
        self._stopping = True  # a job killed by the shutdown stays InProgress; `start` reports it next time
        self._queue.put(None)
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.kill()

    # -- API ---------------------------------------------------------------------------------------

    def create_training_job(self, body: dict[str, Any]) -> dict[str, Any]:
        name = check_name(require(body, "TrainingJobName", "trainingJobName"), "trainingJobName")
        require(body, "RoleArn", "roleArn")
        output = require(body, "OutputDataConfig", "outputDataConfig")
        algorithm = require(body, "AlgorithmSpecification", "algorithmSpecification")
        image = require(algorithm, "TrainingImage", "algorithmSpecification.trainingImage")
        if not any(fnmatch.fnmatchcase(image, pattern) for pattern in TRAINING_IMAGES):
            raise validation(
                f"Training image {image} cannot run in the local cloud "
                f"(supported: {', '.join(TRAINING_IMAGES)})."
            )
        _check_s3_uri(require(output, "S3OutputPath", "outputDataConfig.s3OutputPath"), "S3OutputPath")
        channels = [_check_channel(c) for c in body.get("InputDataConfig") or []]
        stamp = now()
        record = {
            "TrainingJobName": name,
            "TrainingJobArn": arn(self.config.region, "training-job", name),
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "HyperParameters": {str(k): str(v) for k, v in (body.get("HyperParameters") or {}).items()},
            "AlgorithmSpecification": {"TrainingInputMode": "File", **algorithm},
            "RoleArn": body["RoleArn"],
            "InputDataConfig": channels,
            "OutputDataConfig": output,
            "ResourceConfig": body.get("ResourceConfig")
            or {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
            "StoppingCondition": body.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400},
            "EnableNetworkIsolation": bool(body.get("EnableNetworkIsolation", False)),
            "EnableInterContainerTrafficEncryption": False,
            "EnableManagedSpotTraining": False,
            "CreationTime": stamp,
            "LastModifiedTime": stamp,
            "SecondaryStatusTransitions": [
                {
                    "Status": "Starting",
                    "StartTime": stamp,
                    "StatusMessage": "Preparing the instances for training",
                }
            ],
        }
        with self._lock:
            if self.jobs.get(name):
                raise AwsError(
                    "ResourceInUse",
                    "Training job names must be unique within an AWS account and region, and a training job "
                    f"with this name already exists ({record['TrainingJobArn']})",
                )  # text: aws/amazon-sagemaker-examples#3108
            self.jobs.put(name, record)
        self._queue.put(name)
        return {"TrainingJobArn": record["TrainingJobArn"]}

    def describe_training_job(self, body: dict[str, Any]) -> dict[str, Any]:
        return public(self._job(require(body, "TrainingJobName", "trainingJobName"), describe=True))

    def stop_training_job(self, body: dict[str, Any]) -> dict[str, Any]:
        name = require(body, "TrainingJobName", "trainingJobName")
        with self._lock:
            record = self._job(name, describe=False)
            status = record["TrainingJobStatus"]
            if status == "Stopping":
                return {}
            if status != "InProgress":
                raise validation(f"The request was rejected because the training job is in status {status}.")
            record["TrainingJobStatus"] = "Stopping"
            self._transition(record, "Stopping", "Stopping the training job")
            if self._process is not None and self._running == name:
                _terminate(self._process)
        return {}

    def list_training_jobs(self, body: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "TrainingJobName",
            "TrainingJobArn",
            "CreationTime",
            "TrainingEndTime",
            "LastModifiedTime",
            "TrainingJobStatus",
            "SecondaryStatus",
        )
        return list_page(
            body,
            self.jobs.values(),
            list_key="TrainingJobSummaries",
            name_key="TrainingJobName",
            status_key="TrainingJobStatus",
            summary=lambda r: {k: r[k] for k in keys if k in r},
        )

    def _job(self, name: str, *, describe: bool) -> dict[str, Any]:
        record = self.jobs.get(name)
        if record is None:
            # AWS answers DescribeTrainingJob with ValidationException, not the modelled ResourceNotFound
            # (aws/aws-sdk#165, boto/boto3#2808); StopTrainingJob keeps the modelled ResourceNotFound.
            if describe:
                raise validation("Requested resource not found.")
            raise AwsError("ResourceNotFound", "Requested resource not found.")
        return record

    # -- the job runner ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while (name := self._queue.get()) is not None:
            try:
                self._run(name)
            except Exception as exc:
                log.exception("training job %s failed inside the local cloud", name)
                record = self.jobs.get(name)
                if record is not None and record["TrainingJobStatus"] in ACTIVE:
                    self._failed(record, f"InternalServerError: {type(exc).__name__}: {exc}")

    def _run(self, name: str) -> None:
        record = self.jobs.get(name)
        if record is None or record["TrainingJobStatus"] != "InProgress":
            if record is not None and record["TrainingJobStatus"] == "Stopping":
                self._stopped(record)
            return
        job_dir = self.work / name
        remove_tree(job_dir)
        try:
            self._run_in(record, job_dir)
        finally:
            remove_tree(job_dir)  # like a SageMaker instance: only the log and the S3 output remain

    def _run_in(self, record: dict[str, Any], job_dir: Path) -> None:
        self._update(record, TrainingStartTime=now())
        self._transition(record, "Downloading", "Downloading input data")
        failure = self._download_channels(record, job_dir)
        if failure:
            self._failed(record, failure)
            return
        if record["TrainingJobStatus"] == "Stopping":
            self._stopped(record)
            return
        self._transition(record, "Training", "Training image download completed. Training in progress.")
        outcome = self._train(record, job_dir)
        if self._stopping:
            return
        if outcome.get("event") == "result":
            self._upload(record, job_dir, outcome)
        elif record["TrainingJobStatus"] == "Stopping":
            self._stopped(record)
        elif outcome.get("event") == "max_runtime":
            self._finish(
                record, "Stopped", "MaxRuntimeExceeded", "Training job exceeded MaxRuntimeInSeconds provided"
            )
        else:
            self._failed(record, _failure(outcome))

    def _download_channels(self, record: dict[str, Any], job_dir: Path) -> str | None:
        client = s3_client(self.config)
        config_dir = job_dir / "input" / "config"
        for channel in record["InputDataConfig"]:
            uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
            try:
                count = download_prefix(client, uri, job_dir / "input" / "data" / channel["ChannelName"])
            except ClientError as exc:
                count = 0
                log.info("channel %s: %s", channel["ChannelName"], exc)
            except UnsafeName as exc:
                return (
                    f"ClientError: an S3 object under {uri} cannot be a file of channel "
                    f"{channel['ChannelName']}: {exc}"
                )
            if count == 0:
                bucket = split_s3_uri(uri)[0]
                return (
                    f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. '
                    "Please ensure that the bucket exists in the selected region "
                    f"({self.config.region}), that objects exist under that S3 prefix, and that the role "
                    f'"{record["RoleArn"]}" has "s3:ListBucket" '
                    f'permissions on bucket "{bucket}".'
                )
        # The files SageMaker gives every algorithm container under /opt/ml/input/config.
        atomic_write_json(config_dir / "hyperparameters.json", record["HyperParameters"])
        atomic_write_json(
            config_dir / "inputdataconfig.json",
            {
                c["ChannelName"]: {"ContentType": c.get("ContentType", ""), "TrainingInputMode": "File"}
                for c in record["InputDataConfig"]
            },
        )
        atomic_write_json(
            config_dir / "trainingjob.json", {"threads": self.config.training_threads, "seed": 0}
        )
        return None

    def _train(self, record: dict[str, Any], job_dir: Path) -> dict[str, Any]:
        """Run the algorithm subprocess; returns its last event (result, error) or what ended it."""
        # Read before the process starts: nothing may fail between its start and the wait for its end.
        limit = float(record["StoppingCondition"].get("MaxRuntimeInSeconds", 86400))
        read_fd, write_fd = os.pipe()
        job_log = log_path(self.config, training_job=record["TrainingJobName"])
        job_log.parent.mkdir(parents=True, exist_ok=True)
        with open(job_log, "ab") as log_file:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "localcloud.sagemaker.algorithm_container",
                    str(job_dir),
                    str(write_fd),
                ],
                cwd=job_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        os.close(write_fd)
        with self._lock:
            self._process, self._running = process, record["TrainingJobName"]
        timer = threading.Timer(limit, self._max_runtime, args=(process,))
        timer.daemon = True
        timer.start()
        last: dict[str, Any] = {}
        try:
            with os.fdopen(read_fd, "r") as events:
                for line in events:
                    last = self._on_event(record, json.loads(line)) or last
        finally:
            timer.cancel()
            code = _wait(process)
            with self._lock:
                self._process, self._running = None, None
        if getattr(process, "max_runtime", False):
            return {"event": "max_runtime"}
        return last or {"event": "exit", "code": code}

    def _on_event(self, record: dict[str, Any], event: dict[str, Any]) -> dict[str, Any] | None:
        if event["event"] == "epoch":
            self._progress(record, f"Training epoch {event['epoch']}/{event['epochs']}")
            return None
        return event

    def _max_runtime(self, process: subprocess.Popen[bytes]) -> None:
        process.max_runtime = True  # type: ignore[attr-defined]
        _terminate(process)

    def _upload(self, record: dict[str, Any], job_dir: Path, outcome: dict[str, Any]) -> None:
        self._transition(record, "Uploading", "Uploading generated training model")
        name = record["TrainingJobName"]
        output = record["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        uri = f"{output}/{name}/output/model.tar.gz"
        bucket, key = split_s3_uri(uri)
        try:
            s3_client(self.config).upload_file(str(job_dir / "model" / "model.tar.gz"), bucket, key)
        except (ClientError, OSError) as exc:
            self._failed(record, f"ClientError: could not upload the model to {uri}: {exc}")
            return
        stamp = now()
        metrics = [
            {"MetricName": k, "Value": float(v), "Timestamp": stamp} for k, v in outcome["metrics"].items()
        ]
        self._update(record, ModelArtifacts={"S3ModelArtifacts": uri}, FinalMetricDataList=metrics)
        self._finish(record, "Completed", "Completed", "Training job completed")

    # -- record updates (each one persisted) ----------------------------------------------------------

    def _update(self, record: dict[str, Any], **changes: Any) -> None:
        with self._lock:
            record.update(changes, LastModifiedTime=now())
            self.jobs.put(record["TrainingJobName"], record)

    def _transition(self, record: dict[str, Any], status: str, message: str) -> None:
        with self._lock:
            stamp = now()
            transitions = record["SecondaryStatusTransitions"]
            if transitions and "EndTime" not in transitions[-1]:
                transitions[-1]["EndTime"] = stamp
            transitions.append({"Status": status, "StartTime": stamp, "StatusMessage": message})
            self._update(record, SecondaryStatus=status)

    def _progress(self, record: dict[str, Any], message: str) -> None:
        with self._lock:
            if record["TrainingJobStatus"] == "InProgress":
                record["SecondaryStatusTransitions"][-1]["StatusMessage"] = message
                self._update(record)

    def _stopped(self, record: dict[str, Any]) -> None:
        self._finish(record, "Stopped", "Stopped", "Training job stopped")

    def _failed(self, record: dict[str, Any], failure: str) -> None:
        self._finish(record, "Failed", "Failed", "Training job failed", failure=failure)

    def _finish(
        self, record: dict[str, Any], status: str, secondary: str, message: str, *, failure: str | None = None
    ) -> None:
        with self._lock:
            self._transition(record, secondary, message)
            record["SecondaryStatusTransitions"][-1]["EndTime"] = record["LastModifiedTime"]
            end = now()
            start = record.get("TrainingStartTime") or end
            changes: dict[str, Any] = {"TrainingJobStatus": status, "TrainingEndTime": end}
            if failure:
                changes["FailureReason"] = failure[:1024]
            if status == "Completed":
                seconds = max(1, round(end - start))
                changes.update(TrainingTimeInSeconds=seconds, BillableTimeInSeconds=seconds)
            self._update(record, **changes)


def _check_s3_uri(uri: str, what: str) -> None:
    try:
        split_s3_uri(uri)
    except ValueError as exc:
        raise validation(f"{what} {uri!r} must be an s3://bucket/prefix URI.") from exc


def _check_channel(channel: dict[str, Any]) -> dict[str, Any]:
    check_name(
        require(channel, "ChannelName", "inputDataConfig.channelName").replace("_", "-"),
        "inputDataConfig.channelName",
    )
    source = require(
        require(channel, "DataSource", "inputDataConfig.dataSource"),
        "S3DataSource",
        "inputDataConfig.dataSource.s3DataSource",
    )
    if source.get("S3DataType", "S3Prefix") != "S3Prefix":
        raise validation(
            f"S3DataType {source['S3DataType']} is not supported by the local cloud (use S3Prefix)."
        )
    _check_s3_uri(require(source, "S3Uri", "inputDataConfig.dataSource.s3DataSource.s3Uri"), "S3Uri")
    return {"InputMode": "File", "CompressionType": "None", "RecordWrapperType": "None", **channel}


def _failure(outcome: dict[str, Any]) -> str:
    if outcome.get("event") == "error":
        return f"{outcome['kind']}: {outcome['message']}"
    return (
        f"AlgorithmError: the training process exited with status {outcome.get('code')} without a result "
        "(see the job log: o2v cloud logs --training-job NAME)"
    )


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """Like SageMaker: SIGTERM, then SIGKILL if the algorithm has not exited after a grace period."""
    process.send_signal(signal.SIGTERM)
    timer = threading.Timer(STOP_GRACE_SECONDS, lambda: process.poll() is None and process.kill())
    timer.daemon = True
    timer.start()


def _wait(process: subprocess.Popen[bytes]) -> int:
    try:
        return process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
