"""Object2Vec channels: exact line format, split counts, labels, determinism, manifest, atomicity."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from movielens_fixtures import FIXTURES

from jobs.channels import (
    PrepareConfig,
    ProtocolError,
    read_manifest,
    task_folder,
    write_channels,
)
from jobs.channels import prepare as prepare_module
from jobs.channels.manifest import ManifestError
from jobs.movielens import MovieLens, OutputError, SourceSettings, load_movielens

pytestmark = pytest.mark.usefixtures("isolated_movielens_env")


def fixture_data(layout: str, dataset: str, settings: SourceSettings) -> MovieLens:
    return load_movielens(dataset, FIXTURES / layout, settings)


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def triples(rows: list[dict]) -> Counter:
    return Counter((row["in0"][0], row["in1"][0], row["label"]) for row in rows)


def test_line_format_is_exactly_the_workshops(tmp_path: Path, offline_settings: SourceSettings) -> None:
    data = fixture_data("ml-100k", "ml-100k", offline_settings)
    write_channels(data, PrepareConfig(out_dir=tmp_path, protocols=("workshop",)))
    folder = task_folder(tmp_path, "ml-100k", "workshop", "rating")
    lines = (folder / "validation" / "validation.jsonl").read_text().splitlines()
    assert sorted(lines) == [
        '{"in0": [12], "in1": [3], "label": 1.0}',
        '{"in0": [31], "in1": [20], "label": 5.0}',
        '{"in0": [7], "in1": [8], "label": 5.0}',
    ]
    for task, label_type in (("rating", float), ("recommendation", int), ("implicit", int)):
        path = task_folder(tmp_path, "ml-100k", "workshop", task) / "train" / "train.jsonl"
        for line in path.read_text().splitlines():
            row = json.loads(line)
            assert list(row) == ["in0", "in1", "label"]
            assert type(row["label"]) is label_type
            assert line == json.dumps(row)  # byte-for-byte what the workshop's jsonlines writer gives


def test_half_star_labels_and_csv_holdout(tmp_path: Path, offline_settings: SourceSettings) -> None:
    data = fixture_data("csv", "ml-latest-small", offline_settings)
    config = PrepareConfig(
        dataset="ml-latest-small",
        out_dir=tmp_path,
        protocols=("holdout",),
        validation_per_user=1,
        test_per_user=1,
    )
    write_channels(data, config)
    manifest = read_manifest(task_folder(tmp_path, "ml-latest-small", "holdout", "rating"))
    rows = [row for name in ("train", "validation", "test") for row in read_rows(manifest.channel_path(name))]
    assert triples(rows) == Counter(
        zip(data.ratings.user.tolist(), data.ratings.item.tolist(), data.ratings.rating.tolist(), strict=True)
    )
    assert {row["label"] for row in rows} >= {4.5, 0.5, 2.5}
    assert {name: c.rows for name, c in manifest.channels.items()} == {"test": 3, "validation": 2, "train": 3}
    assert manifest.label.range == (0.5, 5)
    assert manifest.split == {"validation_per_user": 1, "test_per_user": 1}
    assert manifest.vocab.enc1_vocab_size == 513  # movie 512 is in movies.csv but never rated


def test_workshop_protocol_needs_the_ua_files(tmp_path: Path, offline_settings: SourceSettings) -> None:
    data = fixture_data("ml-1m", "ml-1m", offline_settings)
    config = PrepareConfig(dataset="ml-1m", out_dir=tmp_path / "out", protocols=("holdout", "workshop"))
    with pytest.raises(
        ProtocolError, match=r"^protocol 'workshop' needs ua\.base/ua\.test, which ml-1m does not"
    ):
        write_channels(data, config)
    assert not (tmp_path / "out").exists()


def test_empty_carve_is_an_error_not_an_empty_file(tmp_path: Path, offline_settings: SourceSettings) -> None:
    data = fixture_data("ml-1m", "ml-1m", offline_settings)
    with pytest.raises(ProtocolError, match="test channel is empty because no user has 20 ratings"):
        write_channels(data, PrepareConfig(dataset="ml-1m", out_dir=tmp_path / "out", protocols=("holdout",)))
    assert not (tmp_path / "out").exists()


def test_ml100k_counts_for_both_protocols(ml100k_out: Path) -> None:
    holdout = read_manifest(task_folder(ml100k_out, "ml-100k", "holdout", "rating"))
    rows = {name: channel.rows for name, channel in holdout.channels.items()}
    assert rows == {"train": 85_855, "validation": 4_715, "test": 9_430}
    assert rows["train"] + rows["validation"] == 90_570
    workshop = read_manifest(task_folder(ml100k_out, "ml-100k", "workshop", "rating"))
    assert {name: channel.rows for name, channel in workshop.channels.items()} == {
        "train": 90_570,
        "validation": 9_430,
    }
    assert not (task_folder(ml100k_out, "ml-100k", "workshop", "rating") / "test").exists()


def test_holdout_keeps_ua_test_untouched_and_carves_5_per_user(ml100k: MovieLens, ml100k_out: Path) -> None:
    manifest = read_manifest(task_folder(ml100k_out, "ml-100k", "holdout", "rating"))
    test = read_rows(manifest.channel_path("test"))
    ua_test = ml100k.split("ua.test")
    assert triples(test) == Counter(
        zip(ua_test.user.tolist(), ua_test.item.tolist(), ua_test.rating.tolist(), strict=True)
    )
    validation = read_rows(manifest.channel_path("validation"))
    assert set(Counter(row["in0"][0] for row in validation).values()) == {5}
    train = read_rows(manifest.channel_path("train"))
    ua_base = ml100k.split("ua.base")
    assert triples(train) + triples(validation) == Counter(
        zip(ua_base.user.tolist(), ua_base.item.tolist(), ua_base.rating.tolist(), strict=True)
    )


def test_rows_are_shuffled(ml100k_out: Path) -> None:
    rows = read_rows(task_folder(ml100k_out, "ml-100k", "workshop", "rating") / "train" / "train.jsonl")
    users = np.array([row["in0"][0] for row in rows[:1000]])
    assert np.count_nonzero(np.diff(users) != 0) > 900  # ua.base is sorted by user; this is not


def test_recommendation_label_is_rating_above_3(ml100k_out: Path) -> None:
    for channel in ("train", "validation", "test"):
        rating_rows = read_rows(
            task_folder(ml100k_out, "ml-100k", "holdout", "rating") / channel / f"{channel}.jsonl"
        )
        folder = task_folder(ml100k_out, "ml-100k", "holdout", "recommendation")
        binary_rows = read_rows(folder / channel / f"{channel}.jsonl")
        # Same seed, same split: the three tasks list the same pairs in the same order.
        assert [(r["in0"], r["in1"]) for r in rating_rows] == [(r["in0"], r["in1"]) for r in binary_rows]
        assert [int(r["label"] > 3) for r in rating_rows] == [r["label"] for r in binary_rows]
        manifest = read_manifest(folder)
        expected = np.mean([r["label"] for r in binary_rows])
        assert manifest.channels[channel].positive_fraction == pytest.approx(expected, abs=1e-6)


def test_workshop_positive_fractions_match_the_notebook(ml100k_out: Path) -> None:
    manifest = read_manifest(task_folder(ml100k_out, "ml-100k", "workshop", "recommendation"))
    assert round(manifest.channels["train"].positive_fraction, 4) == 0.5510
    assert round(manifest.channels["validation"].positive_fraction, 4) == 0.5800


def test_implicit_labels_are_all_one(ml100k_out: Path) -> None:
    folder = task_folder(ml100k_out, "ml-100k", "holdout", "implicit")
    rows = read_rows(folder / "train" / "train.jsonl")
    assert {row["label"] for row in rows} == {1}
    assert all(type(row["label"]) is int for row in rows[:100])
    assert read_manifest(folder).channels["train"].positive_fraction == 1.0
    assert read_manifest(folder).label.type == "binary"


def test_the_implicit_train_channel_adds_one_pseudo_user_per_genre(ml100k_out: Path) -> None:
    folder = task_folder(ml100k_out, "ml-100k", "holdout", "implicit")
    manifest = read_manifest(folder)
    rating = read_manifest(task_folder(ml100k_out, "ml-100k", "holdout", "rating"))
    genre_users = manifest.genre_users
    assert genre_users is not None
    assert genre_users.first_id == 944  # past ml-100k's last user
    assert genre_users.genres[:3] == ("Action", "Adventure", "Animation")
    assert "unknown" not in genre_users.genres
    assert manifest.vocab.enc0_vocab_size == 944 + len(genre_users.genres) == 962
    assert rating.genre_users is None
    assert rating.vocab.enc0_vocab_size == 944
    rows = read_rows(folder / "train" / "train.jsonl")
    pseudo = [row for row in rows if row["in0"][0] >= 944]
    assert len(rows) - len(pseudo) == rating.channels["train"].rows  # every real rating, once
    assert genre_users.rows == len(pseudo)
    # Star Wars (50) is Action, Adventure, Romance, Sci-Fi and War: one row from each of those genres.
    star_wars = sorted(genre_users.genres[row["in0"][0] - 944] for row in pseudo if row["in1"] == [50])
    assert star_wars == ["Action", "Adventure", "Romance", "Sci-Fi", "War"]
    for channel in ("validation", "test"):  # measured on people only
        assert manifest.channels[channel].rows == rating.channels[channel].rows
        assert all(row["in0"][0] < 944 for row in read_rows(folder / channel / f"{channel}.jsonl"))
    assert json.loads((folder / "manifest.json").read_text())["genre_users"]["first_id"] == 944


def test_manifest_contents(ml100k_out: Path, ml100k_dir: Path) -> None:
    folder = task_folder(ml100k_out, "ml-100k", "holdout", "recommendation")
    raw = json.loads((folder / "manifest.json").read_text())
    assert list(raw) == sorted(raw)  # sorted keys
    assert raw["format_version"] == 1
    assert (raw["dataset"], raw["layout"], raw["task"], raw["protocol"], raw["seed"]) == (
        "ml-100k",
        "ml-100k",
        "recommendation",
        "holdout",
        0,
    )
    assert raw["vocab"] == {"enc0_vocab_size": 944, "enc1_vocab_size": 1683}
    assert raw["label"] == {"type": "binary"}
    assert raw["source"]["path"] == str(ml100k_dir)
    assert (
        raw["source"]["sha256"]["u.data"]
        == "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"
    )
    assert sorted(raw["source"]["sha256"]) == ["u.data", "u.genre", "u.item", "ua.base", "ua.test"]
    assert raw["channels"]["test"]["file"] == "test/test.jsonl"
    manifest = read_manifest(folder / "manifest.json")
    for name, channel in manifest.channels.items():
        path = manifest.channel_path(name)
        assert path == folder / name / f"{name}.jsonl"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == channel.sha256
        assert len(path.read_bytes().splitlines()) == channel.rows
    rating = json.loads(
        (task_folder(ml100k_out, "ml-100k", "workshop", "rating") / "manifest.json").read_text()
    )
    assert rating["label"] == {"type": "float", "range": [1, 5]}
    assert "positive_fraction" not in rating["channels"]["train"]


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(
    ml100k: MovieLens, ml100k_out: Path, tmp_path: Path
) -> None:
    write_channels(ml100k, PrepareConfig(out_dir=tmp_path / "again", tasks=("rating",)))
    write_channels(ml100k, PrepareConfig(out_dir=tmp_path / "seed1", tasks=("rating",), seed=1))
    for protocol in ("holdout", "workshop"):
        first = task_folder(ml100k_out, "ml-100k", protocol, "rating")
        again = task_folder(tmp_path / "again", "ml-100k", protocol, "rating")
        other = task_folder(tmp_path / "seed1", "ml-100k", protocol, "rating")
        for path in sorted(first.rglob("*.jsonl")):
            relative = path.relative_to(first)
            assert path.read_bytes() == (again / relative).read_bytes()
            assert path.read_bytes() != (other / relative).read_bytes()
        assert (first / "manifest.json").read_bytes() == (again / "manifest.json").read_bytes()


def test_a_failure_while_writing_leaves_nothing_new(
    tmp_path: Path, offline_settings: SourceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = fixture_data("ml-100k", "ml-100k", offline_settings)
    config = PrepareConfig(out_dir=tmp_path, protocols=("workshop",), tasks=("rating",))
    write_channels(data, config)
    folder = task_folder(tmp_path, "ml-100k", "workshop", "rating")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    real = prepare_module.write_jsonl
    calls = []

    def failing(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # the train file is staged, then validation fails (e.g. a full disk)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(prepare_module, "write_jsonl", failing)
    with pytest.raises(OutputError) as caught:
        write_channels(
            data, PrepareConfig(out_dir=tmp_path, protocols=("workshop",), tasks=("rating",), seed=9)
        )
    assert str(caught.value) == f"{folder}: cannot write the channels (No space left on device)"
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before  # the previous run's files are untouched
    assert sorted(p.name for p in folder.parent.iterdir()) == ["rating"]  # no staging folder left


def test_a_failure_in_a_fresh_output_folder_leaves_no_folder(
    tmp_path: Path, offline_settings: SourceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = fixture_data("ml-100k", "ml-100k", offline_settings)

    def failing(*_args, **_kwargs):
        raise OSError("disk went away")

    monkeypatch.setattr(prepare_module, "write_jsonl", failing)
    with pytest.raises(OutputError, match=r"/holdout/rating: cannot write the channels \(disk went away\)$"):
        write_channels(data, PrepareConfig(out_dir=tmp_path / "out" / "channels", validation_per_user=1))
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_cannot_be_created_is_one_line(
    tmp_path: Path, offline_settings: SourceSettings, uncreatable_folder: Path
) -> None:
    data = fixture_data("ml-100k", "ml-100k", offline_settings)
    out = uncreatable_folder
    with pytest.raises(OutputError) as caught:
        write_channels(data, PrepareConfig(out_dir=out, protocols=("workshop",), tasks=("rating",)))
    assert str(caught.value) == f"{out}/ml-100k/workshop: cannot create folder (Not a directory)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_files_and_folders_are_fsynced_before_the_manifest_is_published(
    tmp_path: Path, offline_settings: SourceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut must never leave a manifest naming channel data that is not on disk yet."""
    data = fixture_data("ml-100k", "ml-100k", offline_settings)
    events: list[tuple[str, int]] = []  # ("fsync" | "replace", inode)
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(source: str | Path, target: str | Path) -> None:
        inode = os.stat(source).st_ino
        real_replace(source, target)
        events.append(("replace", inode))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_channels(data, PrepareConfig(out_dir=tmp_path, protocols=("workshop",), tasks=("rating",)))
    folder = task_folder(tmp_path, "ml-100k", "workshop", "rating")
    manifest_moves = [
        i for i, e in enumerate(events) if e == ("replace", (folder / "manifest.json").stat().st_ino)
    ]
    published = manifest_moves[-1]  # the first move is atomic_writer's, inside the staging folder
    for name in ("train", "validation"):
        inode = (folder / name / f"{name}.jsonl").stat().st_ino
        moved = events.index(("replace", inode))
        assert events.index(("fsync", inode)) < moved < published  # content on disk, then renamed
        assert ("fsync", (folder / name).stat().st_ino) in events[moved:published]  # the rename too
    assert ("fsync", folder.stat().st_ino) in events[published:]  # and the manifest's own rename


def test_rerun_replaces_the_folder_cleanly(tmp_path: Path, offline_settings: SourceSettings) -> None:
    data = fixture_data("ml-100k", "ml-100k", offline_settings)
    config = PrepareConfig(out_dir=tmp_path, protocols=("workshop",), tasks=("implicit",))
    write_channels(data, config)
    write_channels(data, config)
    folder = task_folder(tmp_path, "ml-100k", "workshop", "implicit")
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == [
        "manifest.json",
        "train",
        "train/train.jsonl",
        "validation",
        "validation/validation.jsonl",
    ]


def test_read_manifest_rejects_other_versions_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"format_version": 2}))
    with pytest.raises(ManifestError, match="format_version 2 is not 1"):
        read_manifest(tmp_path)
    with pytest.raises(ManifestError, match="cannot read the manifest"):
        read_manifest(tmp_path / "nothing" / "manifest.json")
    (tmp_path / "manifest.json").write_text(json.dumps({"format_version": 1, "dataset": "ml-100k"}))
    with pytest.raises(ManifestError, match="missing or invalid field"):
        read_manifest(tmp_path)
