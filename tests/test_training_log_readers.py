"""The local backend's training log reader: each call returns the complete lines written since the last."""

from __future__ import annotations

from pathlib import Path

from jobs.backends.local import _FileTail


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
