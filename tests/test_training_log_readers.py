"""Training log readers (each call returns the lines written since the last) and how wait_for_job
shows what they read."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from jobs.backends.local import _FileTail
from jobs.stack.names import Stack
from jobs.stack.training_jobs import JobLog, TrainingTarget, create_job, wait_for_job

ROLE = "arn:aws:iam::123456789012:role/o2v-demo-training"


def test_file_tail_returns_new_complete_lines_once(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "job.log"
    tail = _FileTail(path)
    assert tail() == []  # the job has not started writing
    path.parent.mkdir()
    path.write_bytes(b"epoch 1/3\nepoch 2")
    assert tail() == ["epoch 1/3"]  # the half-written line waits
    with path.open("ab") as handle:
        handle.write(b"/3\nepoch 3/3\n")
    assert tail() == ["epoch 2/3", "epoch 3/3"]
    assert tail() == []


def test_wait_for_job_prints_log_lines_including_those_that_arrive_last(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with mock_aws():  # moto's SageMaker: a job is Completed as soon as it is created
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        slot = Stack().rating
        target = TrainingTarget("x.dkr.ecr.us-east-1.amazonaws.com/object2vec:1", ROLE, "ml.m5.large")
        create_job(sagemaker, Stack(), target, slot, "ratingModel-20261203-100000", {"epochs": "2"})
        batches = iter(
            [
                ["Running training", "#progress_metric: host=algo-1, completed 50.0 % of epochs"],
                [
                    "[10:00:02 INFO 1] #quality_metric: host=algo-1, epoch=2, train mse <loss>=0.8",
                    "Done",
                ],
            ]
        )
        log = JobLog(lambda: next(batches, []), echo=True)
        job = wait_for_job(sagemaker, "ratingModel-20261203-100000", slot, poll=0, log=log)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "  ratingModel-20261203-100000: Running training",
        "  ratingModel-20261203-100000: Done",
    ]
    assert job.artifact_uri.endswith("/ratingModel-20261203-100000/output/model.tar.gz")


def test_a_log_that_is_not_echoed_prints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The local backend's log: the status messages drive the bar, so `make demo` prints no log lines.
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        slot = Stack().rating
        target = TrainingTarget("x.dkr.ecr.us-east-1.amazonaws.com/object2vec:1", ROLE, "ml.m5.large")
        create_job(sagemaker, Stack(), target, slot, "ratingModel-20261203-100001", {"epochs": "2"})
        log = JobLog(lambda: ["Running training"], echo=False)
        wait_for_job(sagemaker, "ratingModel-20261203-100001", slot, poll=0, log=log)
    assert capsys.readouterr().out == ""


class _Finished:
    """A SageMaker client whose job reports the given status message, then has completed."""

    def __init__(self, message: str) -> None:
        self.message = message

    def describe_training_job(self, TrainingJobName: str) -> dict:  # noqa: N803 (boto3's name)
        return {
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "SecondaryStatusTransitions": [
                {"StatusMessage": "Downloading input data"},
                {"StatusMessage": self.message},
                {"StatusMessage": "Training job completed"},
            ],
            "ModelArtifacts": {"S3ModelArtifacts": "s3://b/model.tar.gz"},
        }


@pytest.mark.parametrize(
    ("message", "bar"),
    [("Training epoch 26/26", "26/26"), ("Training epoch 32/60", "31/31")],  # all epochs; stopped early
)
def test_the_epoch_bar_of_a_completed_job_counts_every_epoch_it_ran(
    message: str, bar: str, capsys: pytest.CaptureFixture[str]
) -> None:
    slot = Stack().rating
    wait_for_job(_Finished(message), "ratingModel-1", slot, poll=0)
    assert f"| {bar} [" in capsys.readouterr().err.splitlines()[-1].split("\r")[-1]
