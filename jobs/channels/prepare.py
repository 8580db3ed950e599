"""Write the Object2Vec channels of every requested task and protocol, all-or-nothing.

Everything that can fail on the input (parsing, validation, protocol checks, split sizes) runs
before the first byte is written. Each task folder is then built in a staging folder beside it
and published file by file with `os.replace`, the manifest last: a folder with a manifest is
always complete and consistent, and an error leaves nothing behind but what was there before.
Every file is fsynced before it is renamed and every folder after, so this holds across a power
cut too. OS errors (an output folder that cannot be created, a full disk) become `OutputError`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.atomic import fsync_dir
from jobs.channels.genre_users import genre_user_rows
from jobs.channels.jsonl import write_jsonl
from jobs.channels.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    ChannelFile,
    ChannelManifest,
    GenreUsers,
    SourceRecord,
    Vocab,
    write_manifest,
)
from jobs.channels.protocols import (
    PROTOCOLS,
    STREAM_GENRE_USERS,
    STREAM_SHUFFLE,
    Split,
    build_split,
    check_protocol,
    stream,
)
from jobs.channels.tasks import TASKS, Task, label_spec, make_labels
from jobs.movielens.catalog import DEFAULT_DATASET
from jobs.movielens.dataset import MovieLens, load_movielens
from jobs.movielens.errors import DataError, OutputError, os_failure
from jobs.movielens.ratings import Ratings
from jobs.movielens.sources import SourceSettings
from jobs.movielens.stats import StatsReport, report_for
from jobs.paths import channels_dir


def default_out_dir() -> Path:
    """`<repo>/.work/channels` (git-ignored)."""
    return channels_dir()


@dataclass(frozen=True)
class PrepareConfig:
    """What to write. Defaults: ml-100k, every task and supported protocol, seed 0, 5 validation/user."""

    dataset: str = DEFAULT_DATASET
    source: str | Path | None = None
    tasks: tuple[str, ...] = TASKS
    protocols: tuple[str, ...] | None = None  # None: every protocol the release supports
    seed: int = 0
    validation_per_user: int = 5
    test_per_user: int = 10
    out_dir: Path = field(default_factory=default_out_dir)
    progress: bool = False


@dataclass(frozen=True)
class PrepareResult:
    """The manifests written (one per protocol and task) and the dataset's statistics."""

    dataset: str
    source_folder: Path
    manifests: tuple[ChannelManifest, ...]
    stats: StatsReport


def task_folder(out_dir: Path, dataset: str, protocol: str, task: str) -> Path:
    """`<out>/<dataset>/<protocol>/<task>`: the folder holding one manifest and its channels."""
    return out_dir / dataset / protocol / task


def prepare_channels(config: PrepareConfig, settings: SourceSettings | None = None) -> PrepareResult:
    """Resolve and load the dataset, then write every requested channel (see `write_channels`)."""
    data = load_movielens(config.dataset, config.source, settings)
    return write_channels(data, config)


def write_channels(data: MovieLens, config: PrepareConfig) -> PrepareResult:
    """Write `<out>/<dataset>/<protocol>/<task>/…` for every protocol and task of `config`."""
    tasks = _check_tasks(config.tasks)
    protocols = (
        supported_protocols(data) if config.protocols is None else tuple(dict.fromkeys(config.protocols))
    )
    for protocol in protocols:
        check_protocol(data, protocol)
    _hash_sources(data)  # now: a source file that cannot be read must fail before the first write
    splits = [
        build_split(data, protocol, config.seed, config.validation_per_user, config.test_per_user)
        for protocol in protocols
    ]
    total = sum(len(r) for split in splits for r in split.channels.values()) * len(tasks)
    manifests: list[ChannelManifest] = []
    with tqdm(total=total, unit="rows", unit_scale=True, disable=not config.progress, desc="channels") as bar:
        for split in splits:
            orders = {
                name: stream(config.seed, STREAM_SHUFFLE[name]).permutation(len(r))
                for name, r in split.channels.items()
            }
            for task in tasks:
                manifests.append(_write_task(data, split, task, orders, config, bar.update))
    return PrepareResult(data.name, data.folder, tuple(manifests), report_for(data))


def _hash_sources(data: MovieLens) -> dict[str, str]:
    """The SHA-256 of every source file the manifests record (computed once, then cached)."""
    try:
        return data.file_sha256
    except OSError as error:
        raise DataError(os_failure(error, "read")) from error


def supported_protocols(data: MovieLens) -> tuple[str, ...]:
    """holdout and workshop for ml-100k; holdout only for releases without ua.base/ua.test."""
    return PROTOCOLS if data.has_ua_split else ("holdout",)


def _check_tasks(tasks: tuple[str, ...]) -> tuple[Task, ...]:
    unknown = [task for task in tasks if task not in TASKS]
    if unknown or not tasks:
        raise DataError(
            f"unknown task(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(TASKS)}"
        )
    return tuple(task for task in TASKS if task in tasks)  # canonical order, duplicates dropped


def _write_task(
    data: MovieLens,
    split: Split,
    task: Task,
    orders: dict[str, np.ndarray],
    config: PrepareConfig,
    on_rows: Callable[[int], None],
) -> ChannelManifest:
    folder = task_folder(config.out_dir, data.name, split.protocol, task)
    rows, genre_users = dict(split.channels), None
    if task == "implicit":  # a pseudo-user per genre, so movies of a genre share a learnt taste
        extra, genre_users = genre_user_rows(data.movies, rows["train"].item, data.max_user_id + 1)
        rows["train"] = Ratings.concat(rows["train"], extra)
        orders = {**orders, "train": stream(config.seed, STREAM_GENRE_USERS).permutation(len(rows["train"]))}
    created, staging = _make_staging(folder)
    try:
        channels = {
            name: _write_channel(staging / f"{name}.jsonl", ratings, task, orders[name], on_rows)
            for name, ratings in rows.items()
        }
        manifest = _manifest(data, split, task, channels, config.seed, folder, genre_users)
        write_manifest(manifest, staging)
        _publish(staging, folder, tuple(channels))
        return manifest
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(created)
        if isinstance(error, OSError):  # a full disk names no file: name the task folder then
            raise OutputError(os_failure(error, "write the channels", folder)) from error
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _make_staging(folder: Path) -> tuple[list[Path], Path]:
    """The ancestors of `folder` this call creates (deepest first) and a staging folder beside it."""
    created: list[Path] = []
    try:
        created = [parent for parent in folder.parents if not parent.exists()]
        folder.parent.mkdir(parents=True, exist_ok=True)
        return created, Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging_", dir=folder.parent))
    except OSError as error:
        _remove_empty(created)
        raise OutputError(os_failure(error, "create folder")) from error


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders an interrupted write created, deepest first, where they are still empty."""
    for directory in folders:
        with contextlib.suppress(OSError):
            directory.rmdir()


def _write_channel(
    path: Path, ratings: Ratings, task: Task, order: np.ndarray, on_rows: Callable[[int], None]
) -> ChannelFile:
    labels = make_labels(task, ratings.rating)
    written = write_jsonl(path, ratings.user, ratings.item, labels.text, order, on_rows)
    fraction = None if labels.binary is None else round(float(labels.binary.mean()), 6)
    return ChannelFile(f"{path.stem}/{path.name}", written.rows, written.sha256, fraction)


def _manifest(
    data: MovieLens,
    split: Split,
    task: Task,
    channels: dict[str, ChannelFile],
    seed: int,
    folder: Path,
    genre_users: GenreUsers | None,
) -> ChannelManifest:
    pseudo_users = len(genre_users.genres) if genre_users else 0
    return ChannelManifest(
        format_version=FORMAT_VERSION,
        dataset=data.name,
        layout=data.layout.name,
        task=task,
        protocol=split.protocol,
        seed=seed,
        split={
            "validation_per_user": split.params.validation_per_user,
            "test_per_user": split.params.test_per_user,
        },
        source=SourceRecord(str(data.folder), data.source.origin, dict(data.file_sha256)),
        channels=channels,
        vocab=Vocab(
            enc0_vocab_size=data.max_user_id + 1 + pseudo_users, enc1_vocab_size=data.max_movie_id + 1
        ),
        label=label_spec(task, data.layout.scale),
        folder=folder,
        genre_users=genre_users,
    )


def _publish(staging: Path, folder: Path, channels: tuple[str, ...]) -> None:
    """Move the staged files into place; the old manifest goes first and the new one comes last.

    The staged files are already fsynced; each folder is fsynced after its renames, so even after
    a power cut no manifest names a channel file that is missing, empty or from another run.
    """
    folder.mkdir(exist_ok=True)
    (folder / MANIFEST_NAME).unlink(missing_ok=True)
    fsync_dir(folder)
    for name in channels:
        (folder / name).mkdir(exist_ok=True)
        os.replace(staging / f"{name}.jsonl", folder / name / f"{name}.jsonl")
        fsync_dir(folder / name)
    fsync_dir(folder)
    os.replace(staging / MANIFEST_NAME, folder / MANIFEST_NAME)
    fsync_dir(folder)
    fsync_dir(folder.parent)  # the task folder's own entry, when this run created it
