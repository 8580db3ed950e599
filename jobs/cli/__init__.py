"""The `o2v` command line. Each module here is one command group; each command validates its
arguments, calls one library function, and turns domain errors into one-line click errors."""

from jobs.cli.main import cli, main

__all__ = ["cli", "main"]
