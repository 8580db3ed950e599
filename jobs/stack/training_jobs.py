"""Launch SageMaker training jobs for the stack's models (and their refits, see jobs.refit) and wait for them,
with progress bars.

The same `CreateTrainingJob` request goes to AWS or to the local cloud (whose SageMaker runs our
PyTorch Object2Vec for the built-in image); only the endpoint URL differs.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from tqdm import tqdm

from jobs.channels import CHANNELS, ChannelManifest
from jobs.profiles import profile_with_overrides
from jobs.refit import REFIT_FOLDER, RefitError, chosen_epochs, refit_hyperparameters
from jobs.reports import LearningCurves, parse_metric_lines
from jobs.stack.errors import StackError
from jobs.stack.names import ModelSlot, Stack

_EPOCH = re.compile(r"epoch (\d+)/(\d+)")
# The built-in algorithms' own progress line: "#progress_metric: host=algo-1, completed 40.0 % of epochs"
_PROGRESS = re.compile(r"#progress_metric: .*completed ([\d.]+) % of epochs")
# Any of their machine-readable lines (after the logger's own prefix): `#quality_metric: ...`, ...
_METRIC = re.compile(r"#\w+_metric: ")
FINAL_STATES = ("Completed", "Failed", "Stopped")
LAST_LOG_LINES = 20  # kept while a job runs, so a failure can show how it ended


@dataclass(frozen=True)
class TrainingTarget:
    """Where a backend's training jobs run: the algorithm image, the role they assume, the instance."""

    image: str
    role_arn: str
    instance_type: str
    # How often to ask for the job's status and log: the local cloud answers in a millisecond; on AWS a
    # job runs for minutes and DescribeTrainingJob is rate-limited per account.
    poll_seconds: float = 0.5


@dataclass(frozen=True)
class JobLog:
    """A training job's log, as its backend reads it: `read` returns the lines written since its last call.
    `echo` shows them while the job runs (on AWS the only sign of progress; locally the job's status
    messages already drive the bar); either way a failure names the last line."""

    read: Callable[[], list[str]]
    echo: bool


def recorded(log: JobLog) -> tuple[JobLog, list[str]]:
    """`log`, keeping every line it reads in the returned list: the learning curves need the whole log
    (its `#quality_metric` lines) once the job is done, not only the lines shown while it ran."""
    lines: list[str] = []

    def read() -> list[str]:
        new = log.read()
        lines.extend(new)
        return new

    return JobLog(read, log.echo), lines


@dataclass(frozen=True)
class FinishedJob:
    name: str
    slot: ModelSlot
    artifact_uri: str
    hyperparameters: dict[str, str]
    metrics: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class TrainedModel:
    """A finished job whose model is to be promoted, its learning curves, and, when it is a refit (see
    jobs.refit), the job whose validation channel chose its epochs (the curves are that job's)."""

    job: FinishedJob
    curves: LearningCurves
    selected_by: str | None = None


def job_name(slot: ModelSlot, now: datetime | None = None) -> str:
    """`ratingModel-20261128-021530`: unique per second, and a valid SageMaker name."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{slot.endpoint}-{stamp}"


def create_job(
    sagemaker: Any,
    stack: Stack,
    target: TrainingTarget,
    slot: ModelSlot,
    name: str,
    hyperparameters: dict[str, str],
    channels: Sequence[str] = CHANNELS,
    folders: Mapping[str, str] | None = None,
) -> None:
    """Submit the job, asking for exactly the channels its protocol wrote (the workshop's has no test);
    each channel reads the task's S3 folder of its name, or the one `folders` names for it."""
    folders = folders or {}
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": target.image, "TrainingInputMode": "File"},
        RoleArn=target.role_arn,
        HyperParameters=hyperparameters,
        InputDataConfig=[
            {
                "ChannelName": channel,
                "ContentType": "application/jsonlines",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": stack.input_uri(slot.task, folders.get(channel, channel)),
                        "S3DataDistributionType": "ShardedByS3Key",
                    }
                },
            }
            for channel in channels
        ],
        OutputDataConfig={"S3OutputPath": stack.output_uri},
        ResourceConfig={"InstanceType": target.instance_type, "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )


def wait_for_job(
    sagemaker: Any,
    name: str,
    slot: ModelSlot,
    *,
    poll: float = 0.5,
    log: JobLog | None = None,
) -> FinishedJob:
    """Poll until the job ends; a bar follows the epochs the job reports (in its status message, or
    as SageMaker's `#progress_metric` log lines), and, when `log.echo`, the job's other log lines are
    printed above it. A failed job's error carries its FailureReason and its last log line."""
    bar = tqdm(desc=f"train {slot.endpoint}", unit="epoch", total=None, leave=True)
    recent: deque[str] = deque(maxlen=LAST_LOG_LINES)
    try:
        while True:
            job = sagemaker.describe_training_job(TrainingJobName=name)
            _show_log(bar, name, log, recent)
            _advance(bar, job)
            if job["TrainingJobStatus"] in FINAL_STATES:
                _show_log(bar, name, log, recent)  # what the job wrote as it ended arrives late
                if job["TrainingJobStatus"] == "Completed" and bar.total:
                    bar.total = bar.n  # early stopping ends before the last epoch: show 100 %
                break
            time.sleep(poll)
    finally:
        bar.close()
    if job["TrainingJobStatus"] != "Completed":
        reason = job.get("FailureReason", "no reason given")
        last = f" (last log line: {recent[-1]})" if recent else ""
        raise StackError(f"training job {name} {job['TrainingJobStatus'].lower()}: {reason}{last}")
    started, ended = job.get("TrainingStartTime"), job.get("TrainingEndTime")
    return FinishedJob(
        name=name,
        slot=slot,
        artifact_uri=job["ModelArtifacts"]["S3ModelArtifacts"],
        hyperparameters=dict(job.get("HyperParameters", {})),
        metrics={m["MetricName"]: float(m["Value"]) for m in job.get("FinalMetricDataList", [])},
        seconds=(ended - started).total_seconds() if started and ended else 0.0,
    )


def _show_log(bar: tqdm, name: str, log: JobLog | None, recent: deque[str]) -> None:
    """Keep the job's new log lines (a failure shows the last one) and, when the log is echoed, print them
    above the bar; SageMaker's machine-readable `#...metric` lines move the bar instead of being printed."""
    for line in log.read() if log else []:
        recent.append(line)
        if not log.echo:
            continue
        if match := _PROGRESS.search(line):
            if bar.unit != "%":
                bar.unit, bar.total = "%", 100
            bar.update(min(100, round(float(match.group(1)))) - bar.n)
        elif not _METRIC.search(line):
            bar.write(f"  {name}: {line}")


def _advance(bar: tqdm, job: dict[str, Any]) -> None:
    """Move the bar to the epochs done. The status messages name the epoch under way ("Training epoch
    3/20": two are done); once the job has completed, its last such message ("Training epoch 20/20", before
    the "Completed" transition) was the last epoch, and it is done too."""
    bar.set_postfix_str(job.get("SecondaryStatus", ""), refresh=False)
    messages = [t.get("StatusMessage", "") for t in job.get("SecondaryStatusTransitions") or []]
    completed = job["TrainingJobStatus"] == "Completed"
    epochs = [
        match for m in reversed(messages if completed else messages[-1:]) if (match := _EPOCH.search(m))
    ]
    if not epochs:
        bar.refresh()
        return
    running, total = int(epochs[0].group(1)), int(epochs[0].group(2))
    done = total if completed and running == total else running - 1
    if bar.total != total:
        bar.total = total
    bar.update(done - bar.n)


def train_models(
    sagemaker: Any,
    stack: Stack,
    target: TrainingTarget,
    logs: Callable[[str], JobLog],
    slots: Sequence[ModelSlot],
    manifests: Mapping[str, ChannelManifest],
    refit_tasks: frozenset[str],
    log: Callable[[str], None],
) -> Iterator[TrainedModel]:
    """Submit every slot's training job and yield each slot's model, in slot order. A slot whose task is in
    `refit_tasks` gets its refit, submitted as soon as its first job is done so it trains while the others
    finish."""
    submitted = {}
    for slot in slots:
        manifest = manifests[slot.task]
        hyperparameters = profile_with_overrides(slot.profile, manifest.vocab, stack.training_overrides)
        name = job_name(slot)
        create_job(sagemaker, stack, target, slot, name, hyperparameters, tuple(manifest.channels))
        log(f"training job {name} submitted ({slot.profile} profile on {slot.task})")
        submitted[slot.endpoint] = (name, hyperparameters)
    finished = []
    for slot in slots:
        name, hyperparameters = submitted[slot.endpoint]
        job, curves = _finished(sagemaker, target, logs, slot, name, log)
        wanted = slot.task in refit_tasks
        refit_job = (
            _submit_refit(sagemaker, stack, target, job, curves, hyperparameters, log) if wanted else None
        )
        finished.append((job, curves, refit_job))
    for job, curves, refit_job in finished:
        if refit_job is None:
            yield TrainedModel(job, curves)
            continue
        final, final_curves = _finished(sagemaker, target, logs, job.slot, refit_job, log)
        yield TrainedModel(final, replace(curves, final=final_curves.final), selected_by=job.name)


def _finished(
    sagemaker: Any,
    target: TrainingTarget,
    logs: Callable[[str], JobLog],
    slot: ModelSlot,
    name: str,
    log: Callable[[str], None],
) -> tuple[FinishedJob, LearningCurves]:
    """Wait for a submitted job; the job and the learning curves its whole log holds."""
    job_log, log_lines = recorded(logs(name))
    job = wait_for_job(sagemaker, name, slot, poll=target.poll_seconds, log=job_log)
    job_log.read()  # the lines written after the last poll
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted(job.metrics.items()))
    log(f"{job.name} completed in {job.seconds:.0f} s: {metrics}")
    return job, parse_metric_lines(log_lines)


def _submit_refit(
    sagemaker: Any,
    stack: Stack,
    target: TrainingTarget,
    job: FinishedJob,
    curves: LearningCurves,
    hyperparameters: dict[str, str],
    log: Callable[[str], None],
) -> str | None:
    """Submit the refit of `job` (see jobs.refit): its hyperparameters for the epochs it kept, on train +
    validation. None, said in the log, when the job's log shows no validation curve to choose them from
    (CloudWatch kept none): the first job's model is then the one promoted."""
    try:
        epochs = chosen_epochs(curves, job.name)
    except RefitError as err:
        log(f"{err}: its own model is kept, with no refit")
        return None
    name = f"{job.name}-refit"
    refit_hp = refit_hyperparameters(hyperparameters, epochs)
    folders = {"train": REFIT_FOLDER}
    create_job(sagemaker, stack, target, job.slot, name, refit_hp, ("train", "test"), folders)
    log(f"training job {name} submitted: {epochs} epochs (chosen by {job.name}) on train + validation")
    return name
