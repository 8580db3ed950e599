"""`o2v data fetch|stats|prepare` through click's CliRunner: output, exit codes, one-line errors."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from movielens_fixtures import FIXTURES, zip_release

from jobs.cli import data as data_module
from jobs.cli.main import cli

pytestmark = pytest.mark.usefixtures("isolated_movielens_env")


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, ["data", *args])


def test_fetch_prints_the_shared_folder(ml100k_dir: Path) -> None:
    result = run("fetch")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(ml100k_dir)
    assert "shared copy, ml-100k layout, 21 files match their published SHA-256" in result.stderr


def test_fetch_offline_fails_with_one_line() -> None:
    result = run("fetch", "--dataset", "ml-25m")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "Error: ml-25m is not available locally and downloading http://127.0.0.1:9/ml-25m.zip"
    )
    assert "--source PATH or MOVIELENS_SOURCE=PATH" in lines[0]


def test_fetch_explicit_source() -> None:
    result = run("fetch", "--dataset", "ml-1m", "--source", str(FIXTURES / "ml-1m"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(FIXTURES / "ml-1m")


def test_stats_table(ml100k_dir: Path) -> None:
    result = run("stats")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"ml-100k ({ml100k_dir})"
    assert lines[1].split() == ["ua.base", "u.data"]
    assert next(line for line in lines if line.startswith("ratings ")).split()[-2:] == ["90,570", "100,000"]
    assert next(line for line in lines if line.startswith("movies with at most 2")).split()[-2:] == [
        "213",
        "209",
    ]


def test_stats_rejects_a_file_of_another_layout() -> None:
    result = run("stats", "--source", str(FIXTURES / "ml-100k"), "--no-verify", "--file", "ratings.dat")
    assert result.exit_code == 1
    assert "ratings.dat is not a ratings file of the ml-100k layout" in result.stderr


def test_prepare_writes_channels_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "channels"
    result = run(
        "prepare",
        "--source",
        str(FIXTURES / "ml-100k"),
        "--no-verify",
        "--tasks",
        "rating,implicit",
        "--validation-per-user",
        "1",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert (
        f"holdout  rating         train 6, validation 3, test 3  -> {out}/ml-100k/holdout/rating"
        in result.stdout
    )
    assert "workshop implicit       train 19 (10 of them genre pseudo-users), validation 3" in result.stdout
    assert "ua.base" in result.stdout  # the statistics table follows
    manifests = sorted(p.relative_to(out).as_posix() for p in out.rglob("manifest.json"))
    assert manifests == [
        "ml-100k/holdout/implicit/manifest.json",
        "ml-100k/holdout/rating/manifest.json",
        "ml-100k/workshop/implicit/manifest.json",
        "ml-100k/workshop/rating/manifest.json",
    ]
    assert json.loads((out / manifests[1]).read_text())["source"]["origin"] == "explicit"


def test_prepare_on_the_real_ml100k(tmp_path: Path, ml100k_dir: Path) -> None:
    result = run("prepare", "--tasks", "recommendation", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "holdout  recommendation train 85,855, validation 4,715, test 9,430" in result.stdout
    assert "workshop recommendation train 90,570, validation 9,430" in result.stdout


def test_prepare_without_no_verify_refuses_an_edited_ml100k(tmp_path: Path) -> None:
    result = run("prepare", "--source", str(FIXTURES / "ml-100k"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "u.data: SHA-256" in result.stderr
    assert not (tmp_path / "out").exists()


def test_prepare_reports_a_corrupt_row_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "ml-1m"
    source.mkdir()
    (source / "movies.dat").write_bytes((FIXTURES / "ml-1m" / "movies.dat").read_bytes())
    (source / "ratings.dat").write_text("2::10::5::956700001\n2::14::9::956700002\n")
    result = run("prepare", "--dataset", "ml-1m", "--source", str(source), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stderr == "Error: ratings.dat:2: rating '9' is outside 1..5\n"
    assert not (tmp_path / "out").exists()


def test_prepare_rejects_unknown_tasks() -> None:
    result = run("prepare", "--tasks", "rating,ranking")
    assert result.exit_code == 2
    assert "ranking; choose from rating,recommendation,implicit" in result.stderr


def test_default_protocols_are_those_the_release_supports(tmp_path: Path) -> None:
    source = str(FIXTURES / "csv")
    result = run("prepare", "--dataset", "ml-latest-small", "--source", source, "--out", str(tmp_path))
    assert result.exit_code == 1  # holdout only; 10 test ratings per user need users with 20 ratings
    assert "Error: holdout on ml-latest-small: the test channel is empty" in result.stderr
    args = ("prepare", "--dataset", "ml-latest-small", "--source", source, "--out", str(tmp_path))
    result = run(*args, "--test-per-user", "1", "--validation-per-user", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "ml-latest-small").iterdir()) == ["holdout"]


def test_workshop_on_a_release_without_ua_files_is_one_line(tmp_path: Path) -> None:
    source = str(FIXTURES / "csv")
    result = run("prepare", "--dataset", "ml-latest-small", "--source", source, "--protocols", "workshop")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: protocol 'workshop' needs ua.base/ua.test, which ml-latest-small")
    assert result.stderr.count("\n") == 1


def one_line_error(result: click.testing.Result) -> str:
    """The single `Error: ...` line of a failed command; no traceback, nothing else."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a click error, not an escaped exception
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def fixture_zip(tmp_path: Path) -> Path:
    return zip_release(FIXTURES / "ml-1m", tmp_path / "ml-1m.zip", "ml-1m")


def test_prepare_into_an_output_folder_that_cannot_be_created(uncreatable_folder: Path) -> None:
    out = uncreatable_folder
    source = str(FIXTURES / "ml-100k")
    args = ("--no-verify", "--tasks", "rating", "--validation-per-user", "1", "--out", str(out))
    result = run("prepare", "--source", source, *args)
    assert one_line_error(result) == f"Error: {out}/ml-100k/holdout: cannot create folder (Not a directory)"


def test_fetch_into_a_cache_that_cannot_be_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uncreatable_folder: Path
) -> None:
    cache = uncreatable_folder
    monkeypatch.setenv("MOVIELENS_CACHE", str(cache))
    line = one_line_error(run("fetch", "--dataset", "ml-1m"))
    assert line == f"Error: {cache}: cannot create folder (Not a directory)"
    archive = fixture_zip(tmp_path)
    line = one_line_error(run("fetch", "--dataset", "ml-1m", "--source", str(archive), "--no-verify"))
    assert line == f"Error: {cache}/from-zip: cannot create folder (Not a directory)"


def test_fetch_refuses_a_zip_that_is_not_the_published_one_unless_no_verify(tmp_path: Path) -> None:
    archive = fixture_zip(tmp_path)
    line = one_line_error(run("fetch", "--dataset", "ml-1m", "--source", str(archive)))
    assert line.startswith(f"Error: {archive}: SHA-256 ")
    assert line.endswith(" of ml-1m.zip; pass --no-verify to use it anyway")
    result = run("fetch", "--dataset", "ml-1m", "--source", str(archive), "--no-verify")
    assert result.exit_code == 0, result.output
    assert (Path(result.stdout.strip()) / "ratings.dat").is_file()


def test_an_os_error_the_library_did_not_name_is_still_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(*_args: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/u.data")

    monkeypatch.setattr(data_module, "resolve_source", unreadable)
    assert one_line_error(run("fetch")) == "Error: /somewhere/u.data: Permission denied"
