"""What `jobs.stack.lifecycle` needs from the platform a stack runs on: the `Backend` protocol.

A backend does what differs between running on this machine and running on AWS: bringing the platform
up and down, the clients to reach it, where training jobs run, and declaring the resources (on AWS
Terraform declares them; locally the local backend plays Terraform's part with the same names).
Everything else a stack operation does is plain boto3 in the lifecycle, the same on both. The backends
themselves live in `jobs.backends`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from jobs.stack.clients import Clients
from jobs.stack.names import Stack
from jobs.stack.registry import ModelRecord
from jobs.stack.training_jobs import JobLog, TrainingTarget

Log = Callable[[str], None]


class Backend(Protocol):
    """What `jobs.stack.lifecycle` needs from a platform. Every method logs what it did through `log`."""

    stack: Stack

    @property
    def region(self) -> str: ...

    def plan(self, log: Log) -> None:
        """Say what `provision` would change, changing nothing."""
        ...

    def provision(self, log: Log) -> Clients:
        """Bring the platform up and make the stack's bucket exist (idempotent); the stack's clients."""
        ...

    def connect(self) -> Clients:
        """The clients of a stack that `provision` brought up, or a StackError saying to run `make apply`."""
        ...

    def deploy_functions(self, clients: Clients, package: bytes, log: Log) -> None:
        """Make the stack's Lambda functions run the handlers zipped in `package`."""
        ...

    def training_target(self) -> TrainingTarget:
        """The image, role and instance type the stack's training jobs run with."""
        ...

    def training_log(self, clients: Clients, job_name: str) -> JobLog:
        """The job's log: a reader of the lines written since its last call, and whether to show them."""
        ...

    def deploy_models(self, clients: Clients, records: Sequence[ModelRecord], log: Log) -> None:
        """Make each record's endpoint serve it (a model package the registry approved), and wait until
        it does; an endpoint already serving another package swaps with no downtime."""
        ...

    def evaluation_endpoint(
        self, clients: Clients, name: str, artifact_uri: str, log: Log
    ) -> AbstractContextManager[str]:
        """Serve the artifact on a temporary endpoint called `name` for the block (which gets the name),
        and remove it afterwards whatever happens; nothing a crash leaves behind outlives `destroy`."""
        ...

    def destroy(self, log: Log) -> None:
        """Delete everything the stack created (safe to repeat)."""
        ...

    def environment(self) -> dict[str, str]:
        """What `make env` prints: variables that let boto3 and the aws CLI reach the stack."""
        ...

    def closing_line(self) -> str:
        """What every stack command prints last (on AWS: how to stop paying), or nothing."""
        ...
