"""The command context the `o2v` group builds once: which stack, on which backend."""

from __future__ import annotations

from dataclasses import dataclass

import click

from jobs.backends import open_backend
from jobs.stack.backend import Backend
from jobs.stack.names import Stack


@dataclass(frozen=True)
class Session:
    backend_name: str
    bucket: str
    dataset: str = Stack.dataset  # `o2v train --dataset/--protocol` change these two for that run
    protocol: str = Stack.protocol

    @property
    def stack(self) -> Stack:
        return Stack(bucket=self.bucket, dataset=self.dataset, protocol=self.protocol)

    def backend(self) -> Backend:
        """The stack's backend. Whatever the command does with it, success or failure, the backend's last
        word (on AWS: how to stop paying) is printed when the command ends, on stderr so that
        `eval "$(o2v env)"` stays valid."""
        backend = open_backend(self.backend_name, self.stack)
        if (line := backend.closing_line()) and (ctx := click.get_current_context(silent=True)):
            ctx.call_on_close(lambda: click.echo(f"\n{line}", err=True))
        return backend


pass_session = click.make_pass_decorator(Session)
