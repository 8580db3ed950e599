"""The ingestion error hierarchy. Every message is one line naming what was wrong and where.

The CLI turns any `DataError` into a `click.ClickException`, so users see the message only.
"""

from __future__ import annotations


class DataError(Exception):
    """Base class: anything wrong with the MovieLens data or with finding it."""


class SourceError(DataError):
    """The data could not be located, downloaded or extracted."""


class ChecksumError(SourceError):
    """A file's SHA-256 differs from the published one."""


class LayoutError(DataError):
    """A folder holds no recognisable MovieLens layout, or the wrong one."""


class ParseError(DataError):
    """A data file is malformed. The message is `<file>:<line>: <problem>`."""

    def __init__(self, file_name: str, line: int, problem: str) -> None:
        super().__init__(f"{file_name}:{line}: {problem}")
        self.file_name = file_name
        self.line = line
        self.problem = problem
