"""Where a stack runs: one package per backend, and the one place one of them is chosen by name.

`local` runs the stack on this machine's local cloud, `aws` on an AWS account through Terraform; each
implements `jobs.stack.backend.Backend`.
"""

from __future__ import annotations

from jobs.stack.backend import Backend
from jobs.stack.names import Stack

BACKENDS = ("local", "aws")
DEFAULT_BACKEND = "local"


def open_backend(name: str, stack: Stack) -> Backend:
    """The backend called `name` for `stack`: the only place a backend is chosen by name."""
    if name == "local":
        from jobs.backends.local import LocalBackend  # imports the local cloud only when it is used

        return LocalBackend.from_env(stack)
    elif name == "aws":
        from jobs.backends.aws.backend import AwsBackend  # needs neither the local cloud nor torch

        return AwsBackend.from_env(stack)
    raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
