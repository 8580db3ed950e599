"""Run the `terraform` binary: init, plan, apply, destroy and output, with Terraform's own
machine-readable output.

`plan`, `apply` and `destroy` run with `-json`: each line is one UI message, and the ones a person
wants to follow (a resource being created or destroyed and when it is done, warnings, the change
summary) are passed to the `log` callback as they arrive. A failed command raises `TerraformError`
with one line: the command, and the first error diagnostic's summary, detail and place.

Why not python-terraform: its last release (0.10.1) is from 2019, and it parses the human-readable
output, which Terraform does not keep stable; the `-json` UI is a documented, versioned format.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.stack.errors import StackError

INSTALL_HINT = (
    "install Terraform >= 1.9 and put it on PATH (https://developer.hashicorp.com/terraform/install)"
)
# UI message types worth a progress line; the others (version, planned_change, refresh_*, outputs)
# are noise at this level.
_PROGRESS_TYPES = frozenset(
    {"apply_start", "apply_complete", "apply_errored", "change_summary", "resource_drift"}
)
# Terraform's own environment for scripted runs: no prompts, no "run terraform apply" advice, no
# version check against checkpoint.hashicorp.com.
_AUTOMATION_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}


class TerraformError(StackError):
    """A terraform command failed, or could not run; the message is one line."""


@dataclass(frozen=True)
class Changes:
    """What a plan, apply or destroy counted (Terraform's change_summary)."""

    add: int = 0
    change: int = 0
    remove: int = 0

    @property
    def any(self) -> bool:
        return bool(self.add or self.change or self.remove)


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    summary: str
    detail: str = ""
    filename: str = ""
    line: int = 0

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Diagnostic:
        diagnostic = message.get("diagnostic", {})
        start = diagnostic.get("range", {}).get("start", {})
        return cls(
            severity=diagnostic.get("severity", "error"),
            summary=diagnostic.get("summary", message.get("@message", "")),
            detail=diagnostic.get("detail", ""),
            filename=diagnostic.get("range", {}).get("filename", ""),
            line=int(start.get("line", 0)),
        )

    def one_line(self) -> str:
        text = self.summary.rstrip(".")
        if detail := " ".join(self.detail.split()):
            text += f": {detail}"
        if self.filename:
            text += f" ({self.filename}:{self.line})" if self.line else f" ({self.filename})"
        return text


@dataclass
class _Run:
    """What one command printed: the error diagnostics, the last change summary, the raw tail."""

    errors: list[Diagnostic] = field(default_factory=list)
    changes: Changes | None = None
    tail: list[str] = field(default_factory=list)


def find_binary(name: str | None = None) -> str:
    """The terraform executable: `name`, else $TERRAFORM_BINARY, else `terraform` on PATH."""
    wanted = name or os.environ.get("TERRAFORM_BINARY") or "terraform"
    found = shutil.which(wanted)
    if found is None:
        raise TerraformError(f"{wanted} not found: {INSTALL_HINT}")
    return found


@dataclass(frozen=True)
class Terraform:
    """One Terraform working directory (a root module) and how to run commands in it."""

    working_dir: Path
    var_files: Sequence[Path] = ()
    log: Callable[[str], None] = print
    binary: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    def init(self, *, upgrade: bool = False) -> None:
        """Install providers and modules; set up the backend (local state unless a backend file exists)."""
        self._run("init", ["-input=false", "-no-color", *(["-upgrade"] if upgrade else [])], json_ui=False)

    def plan(self, *, destroy: bool = False, variables: Mapping[str, str] | None = None) -> Changes:
        """Show what apply (or destroy) would do; changes nothing."""
        arguments = ["-input=false", *(["-destroy"] if destroy else []), *self._variable_args(variables)]
        return self._run("plan", arguments).changes or Changes()

    def apply(self, *, variables: Mapping[str, str] | None = None) -> Changes:
        arguments = ["-input=false", "-auto-approve", *self._variable_args(variables)]
        return self._run("apply", arguments).changes or Changes()

    def destroy(self, *, variables: Mapping[str, str] | None = None) -> Changes:
        arguments = ["-input=false", "-auto-approve", *self._variable_args(variables)]
        return self._run("destroy", arguments).changes or Changes()

    def output(self) -> dict[str, Any]:
        """The root module's outputs, name -> value (empty before the first apply)."""
        completed = subprocess.run(
            [self._binary(), "output", "-json"],
            cwd=self.working_dir,
            env=self._environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            reason = _last_error_line(completed.stderr.splitlines()) or f"exit status {completed.returncode}"
            raise TerraformError(f"terraform output failed in {self.working_dir}: {reason}")
        try:
            outputs = json.loads(completed.stdout or "{}")
        except ValueError as err:
            raise TerraformError(f"terraform output -json printed something other than JSON: {err}") from None
        return {name: entry["value"] for name, entry in outputs.items()}

    def _variable_args(self, variables: Mapping[str, str] | None) -> list[str]:
        files = [f"-var-file={Path(path).resolve()}" for path in self.var_files]
        return files + [f"-var={name}={value}" for name, value in (variables or {}).items()]

    def _binary(self) -> str:
        return find_binary(self.binary)

    def _environment(self) -> dict[str, str]:
        return {**os.environ, **_AUTOMATION_ENV, **self.env}

    def _run(self, command: str, arguments: list[str], *, json_ui: bool = True) -> _Run:
        argv = [self._binary(), command, *(["-json"] if json_ui else []), *arguments]
        run = _Run()
        with subprocess.Popen(
            argv,
            cwd=self.working_dir,
            env=self._environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one stream: nothing can fill a pipe nobody reads
            text=True,
            bufsize=1,
        ) as process:
            assert process.stdout is not None
            for line in _lines(process.stdout):
                self._handle(line, run)
            status = process.wait()
        if status != 0:
            raise TerraformError(f"terraform {command} failed in {self.working_dir}: {_reason(run, status)}")
        return run

    def _handle(self, line: str, run: _Run) -> None:
        message = _parse(line)
        if message is None:  # plain text: init's output, or anything terraform prints before the UI
            run.tail = [*run.tail[-19:], line]
            text = line.strip("│ ")
            if text.startswith("Error:") or text.startswith("Terraform has been successfully initialized"):
                self.log(text)
            return
        kind = message.get("type")
        if kind == "diagnostic":
            diagnostic = Diagnostic.from_message(message)
            if diagnostic.severity == "error":
                run.errors.append(diagnostic)
            self.log(f"{diagnostic.severity}: {diagnostic.one_line()}")
        elif kind in _PROGRESS_TYPES:
            if kind == "change_summary":
                counts = message.get("changes", {})
                run.changes = Changes(counts.get("add", 0), counts.get("change", 0), counts.get("remove", 0))
            self.log(str(message.get("@message", "")))


def _lines(stream: Any) -> Iterator[str]:
    for raw in stream:
        if line := raw.rstrip("\n"):
            yield line


def _parse(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _reason(run: _Run, status: int) -> str:
    if run.errors:
        extra = f" (and {len(run.errors) - 1} more errors)" if len(run.errors) > 1 else ""
        return run.errors[0].one_line() + extra
    return _last_error_line(run.tail) or f"exit status {status}"


def _last_error_line(lines: Sequence[str]) -> str:
    """The text after the last `Error:` in plain (non-JSON) output, boxes and blanks stripped."""
    cleaned = [line.strip("│╷╵ ").strip() for line in lines]
    for index in range(len(cleaned) - 1, -1, -1):
        if cleaned[index].startswith("Error:"):
            following = next((text for text in cleaned[index + 1 :] if text), "")
            head = cleaned[index].removeprefix("Error:").strip()
            return f"{head}: {following}" if following else head
    return ""
