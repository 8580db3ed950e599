"""The byte pass finds blank lines and bad bytes wherever block boundaries fall."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.movielens.errors import ParseError
from jobs.movielens.textscan import content_end, read_line, scan_text

pytestmark = pytest.mark.usefixtures("isolated_movielens_env")


@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 7, 64])
@pytest.mark.parametrize(
    ("data", "blank_line"),
    [
        (b"1\t2\n3\t4\n\n5\t6\n", 3),
        (b"1\t2\r\n3\t4\r\n\r\n5\t6\r\n", 3),
        (b"\n1\t2\n", 1),
        (b"1\t2\n3\t4\n\n\n", None),  # trailing blank lines are not "inside the data"
        (b"1\t2\n3\t4", None),
    ],
)
def test_blank_lines_found_across_block_boundaries(
    tmp_path: Path, data: bytes, blank_line: int | None, block_size: int
) -> None:
    path = tmp_path / "f"
    path.write_bytes(data)
    assert scan_text(path, "latin-1", block_size=block_size).first_blank_line == blank_line


@pytest.mark.parametrize("block_size", [1, 4, 64])
def test_invalid_utf8_is_located(tmp_path: Path, block_size: int) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes("a,b\nc,d\né,f\n".encode() + b"g,\xff\n")
    with pytest.raises(ParseError, match=r"^ratings\.csv:4: byte 0xff is not valid utf-8 in 'g,\xff'$"):
        scan_text(path, "utf-8", block_size=block_size)


def test_content_end_and_read_line(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"one\r\ntwo\nthree\n\n\r\n")
    assert content_end(path, block_size=2) == len(b"one\r\ntwo\nthree")
    assert [read_line(path, n, block_size=3) for n in (1, 2, 3)] == ["one", "two", "three"]
