"""The ingestion error hierarchy. Every message is one line naming what was wrong and where.

The CLI turns any `DataError` into a `click.ClickException`, so users see the message only.
"""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """Base class: anything wrong with the MovieLens data or with finding it."""


class SourceError(DataError):
    """The data could not be located, downloaded or extracted."""


class ChecksumError(SourceError):
    """A file's SHA-256 differs from the published one."""


class LayoutError(DataError):
    """A folder holds no recognisable MovieLens layout, or the wrong one."""


class OutputError(DataError):
    """Channels or a manifest could not be written (a folder that cannot be created, a full disk)."""


class ParseError(DataError):
    """A data file is malformed. The message is `<file>:<line>: <problem>`."""

    def __init__(self, file_name: str, line: int, problem: str) -> None:
        super().__init__(f"{file_name}:{line}: {problem}")
        self.file_name = file_name
        self.line = line
        self.problem = problem


def os_failure(error: OSError, action: str, path: Path | str | None = None) -> str:
    """`<path>: cannot <action> (<OS reason>)`, e.g. `/proc/x: cannot create folder (Permission denied)`.

    The path is the one the OS names (for `mkdir(parents=True)`, the deepest folder that failed),
    else `path`: a failed `write()` on an open file (a full disk) names no file.
    """
    where = error.filename if error.filename is not None else path
    return f"{where if where is not None else '(unknown path)'}: cannot {action} ({os_reason(error)})"


def os_reason(error: OSError) -> str:
    """The OS's own words (`Permission denied`), without the errno and path `str(error)` adds."""
    return error.strerror or one_line(str(error)) or type(error).__name__


def one_line(text: str) -> str:
    """`text` with each run of whitespace, newlines included, as one space: fit for a one-line error."""
    return " ".join(text.split())


def clip(text: str, width: int = 60) -> str:
    """`text`, cut to `width` characters with an ellipsis, to quote a bad line in a one-line error."""
    return text if len(text) <= width else text[: width - 1] + "…"


def field_count_problem(want: int, got: int, separator: str, line: str) -> str:
    """`expected 4 tab-separated fields, found 3 in '31\\t8\\t4'`: one wording for every file."""
    name = {"\t": "tab", ",": "comma"}.get(separator, repr(separator))
    return f"expected {want} {name}-separated fields, found {got} in {clip(line)!r}"
