"""`manifest.json`: what a task folder holds, so training code never guesses.

Layout (other code depends on it): `<out>/<dataset>/<protocol>/<task>/manifest.json` beside
`<channel>/<channel>.jsonl` for each channel. Keys are sorted and the file is written atomically,
last, after every channel file is in place: a manifest's presence means the folder is complete.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from common.atomic import write_json_atomic
from jobs.movielens.errors import DataError, one_line

FORMAT_VERSION: Final = 1
MANIFEST_NAME: Final = "manifest.json"


class ManifestError(DataError):
    """A manifest is missing, unreadable or of another format version."""


@dataclass(frozen=True)
class ChannelFile:
    """One channel: its file relative to the manifest's folder, its rows and SHA-256."""

    file: str
    rows: int
    sha256: str
    positive_fraction: float | None = None  # binary labels only

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.positive_fraction is None:
            del data["positive_fraction"]
        return data


@dataclass(frozen=True)
class SourceRecord:
    """Where the data came from and the SHA-256 of every source file used."""

    path: str
    origin: str
    sha256: dict[str, str]


@dataclass(frozen=True)
class Vocab:
    """Object2Vec vocabulary sizes: raw MovieLens ids are the tokens, so max id + 1."""

    enc0_vocab_size: int
    enc1_vocab_size: int


@dataclass(frozen=True)
class GenreUsers:
    """The implicit task's train channel also holds one pseudo-user per genre, in0 id `first_id + i` for
    `genres[i]`, who has watched every movie of that genre (see `jobs.channels.genre_users`)."""

    first_id: int
    genres: tuple[str, ...]
    rows: int  # of the train channel's rows, how many are theirs

    def to_json(self) -> dict[str, Any]:
        return {"first_id": self.first_id, "genres": list(self.genres), "rows": self.rows}


@dataclass(frozen=True)
class LabelSpec:
    """`type` is "float" (with `range`) for ratings, "binary" for 0/1 labels."""

    type: str
    range: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type} if self.range is None else {"type": self.type, "range": list(self.range)}


@dataclass(frozen=True)
class ChannelManifest:
    """The parsed manifest of one task folder."""

    format_version: int
    dataset: str
    layout: str
    task: str
    protocol: str
    seed: int
    split: dict[str, int | None]
    source: SourceRecord
    channels: dict[str, ChannelFile]
    vocab: Vocab
    label: LabelSpec
    folder: Path  # the folder holding manifest.json (not stored in the file)
    genre_users: GenreUsers | None = None  # implicit task only

    def channel_path(self, channel: str) -> Path:
        """Absolute path of a channel's jsonl file."""
        try:
            return self.folder / self.channels[channel].file
        except KeyError:
            raise ManifestError(f"{self.folder / MANIFEST_NAME}: no {channel!r} channel") from None

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "dataset": self.dataset,
            "layout": self.layout,
            "task": self.task,
            "protocol": self.protocol,
            "seed": self.seed,
            "split": self.split,
            "source": asdict(self.source),
            "channels": {name: channel.to_json() for name, channel in self.channels.items()},
            "vocab": asdict(self.vocab),
            "label": self.label.to_json(),
            **({"genre_users": self.genre_users.to_json()} if self.genre_users else {}),
        }


def write_manifest(manifest: ChannelManifest, folder: Path | None = None) -> Path:
    """Write `manifest.json` into `folder` (default: the manifest's own folder), atomically."""
    path = (folder or manifest.folder) / MANIFEST_NAME
    write_json_atomic(path, manifest.to_json())
    return path


def read_manifest(path: Path | str) -> ChannelManifest:
    """Read a manifest, given its path or its task folder; a one-line error if it is not valid."""
    path = Path(path)
    path = path / MANIFEST_NAME if path.is_dir() else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ManifestError(f"{path}: cannot read the manifest ({one_line(str(error))})") from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        version = data.get("format_version") if isinstance(data, dict) else None
        raise ManifestError(f"{path}: format_version {version!r} is not {FORMAT_VERSION}")
    try:
        return _from_json(data, path.parent)
    except (KeyError, TypeError, ValueError) as error:
        raise ManifestError(f"{path}: missing or invalid field {error}") from None


def _from_json(data: dict[str, Any], folder: Path) -> ChannelManifest:
    label = data["label"]
    return ChannelManifest(
        format_version=int(data["format_version"]),
        dataset=str(data["dataset"]),
        layout=str(data["layout"]),
        task=str(data["task"]),
        protocol=str(data["protocol"]),
        seed=int(data["seed"]),
        split=dict(data.get("split", {})),
        source=SourceRecord(**data["source"]),
        channels={name: ChannelFile(**channel) for name, channel in data["channels"].items()},
        vocab=Vocab(**data["vocab"]),
        label=LabelSpec(str(label["type"]), tuple(label["range"]) if "range" in label else None),
        folder=folder,
        genre_users=_genre_users(data.get("genre_users")),
    )


def _genre_users(data: dict[str, Any] | None) -> GenreUsers | None:
    if data is None:
        return None
    return GenreUsers(int(data["first_id"]), tuple(str(genre) for genre in data["genres"]), int(data["rows"]))
