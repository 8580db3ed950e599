"""A training job's CloudWatch log lines, read as they arrive.

SageMaker writes each job's container output to the log group `/aws/sagemaker/TrainingJobs`, one
stream per instance (`<job>/algo-1-<epoch seconds>`), created once the instance starts. `TrainingLog`
remembers where it stopped in each stream, so each call returns only the lines written since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from jobs.stack.errors import error_code

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass
class TrainingLog:
    logs: Any  # a boto3 CloudWatch Logs client
    job_name: str
    _tokens: dict[str, str | None] = field(default_factory=dict)

    def __call__(self) -> list[str]:
        """The lines written since the last call, stream by stream (instances in name order)."""
        lines: list[str] = []
        for stream in self._streams():
            lines += self._read(stream)
        return lines

    def _streams(self) -> list[str]:
        try:
            page = self.logs.describe_log_streams(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{self.job_name}/"
            )
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":  # no job has logged in this region yet
                return []
            raise
        return sorted(stream["logStreamName"] for stream in page.get("logStreams", []))

    def _read(self, stream: str) -> list[str]:
        lines: list[str] = []
        while True:
            arguments = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
            if token := self._tokens.get(stream):
                arguments["nextToken"] = token
            page = self.logs.get_log_events(**arguments)
            lines += [event["message"].rstrip("\n") for event in page.get("events", [])]
            # The forward token comes back unchanged once the stream has nothing newer.
            if page.get("nextForwardToken") in (None, token):
                return lines
            self._tokens[stream] = page["nextForwardToken"]
            if not page.get("events"):
                return lines


def delete_job_streams(logs: Any, job_prefix: str) -> list[str]:
    """Delete the log streams of every job whose name starts with `job_prefix`; their names."""
    deleted: list[str] = []
    arguments = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": job_prefix}
    while True:
        try:
            page = logs.describe_log_streams(**arguments)
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":
                return deleted
            raise
        for stream in page.get("logStreams", []):
            logs.delete_log_stream(logGroupName=LOG_GROUP, logStreamName=stream["logStreamName"])
            deleted.append(stream["logStreamName"])
        if not page.get("nextToken"):
            return deleted
        arguments["nextToken"] = page["nextToken"]
