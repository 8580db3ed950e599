"""Write-through mirror of moto's in-memory S3 onto disk, and its restore.

Pinned to moto 5.2.5 internals (checked against `moto/s3/models.py`): `s3_backends[account]["aws"]`
is an `S3Backend` whose `buckets` map names to `FakeBucket`s; `FakeBucket.keys` is a
`_VersionedKeyStore` whose `items()` yields the latest `FakeKey` (or `FakeDeleteMarker`) per key;
`FakeKey` exposes `value`, `etag`, `last_modified`, `metadata` (a `LowercaseDict`), `storage_class`,
`checksum_algorithm`/`checksum_value`/`checksum_type`/`checksum_parts`. Restoring goes through the
backend methods `create_bucket` and `put_object`, then sets the attributes those do not take.

Layout, per bucket: `<root>/<bucket>/manifest.json` (key → blob + metadata) and content-addressed
`<root>/<bucket>/blobs/<sha256>`. Blobs are written before the manifest that names them, and
unreferenced blobs are removed after it, so the manifest on disk is always complete.

Not mirrored: versions other than the latest, in-progress multipart uploads, bucket policies, tags,
lifecycle/CORS/notification configuration.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from moto.s3.models import FakeKey, S3Backend, s3_backends

from localcloud.config import ACCOUNT_ID
from localcloud.storage import atomic_write_bytes, atomic_write_json, clean_trash, read_json, remove_tree

_SAFE_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,254}$")
_MANIFEST_VERSION = 1


def s3_backend() -> S3Backend:
    """The backend every request lands in: moto gives every access key it did not issue (ours) its
    default account, which is our ACCOUNT_ID."""
    return s3_backends[ACCOUNT_ID]["aws"]


@dataclass(frozen=True)
class ObjectEntry:
    """What the manifest records for one object."""

    blob: str
    etag: str
    size: int
    last_modified: str
    metadata: dict[str, str]
    storage_class: str
    checksum_algorithm: str | None
    checksum_value: str | None
    # A multipart upload's checksum is COMPOSITE: served as "<value>-<parts>".
    checksum_type: str | None = None
    checksum_parts: int | None = None

    @classmethod
    def of(cls, key: FakeKey, blob: str) -> ObjectEntry:
        return cls(
            blob=blob,
            etag=key.etag.strip('"'),
            size=key.size,
            last_modified=key.last_modified.isoformat(),
            metadata={k: str(v) for k, v in key.metadata.items()},
            storage_class=key.storage_class or "STANDARD",
            checksum_algorithm=key.checksum_algorithm,
            checksum_value=key.checksum_value,
            checksum_type=key.checksum_type,
            checksum_parts=key.checksum_parts,
        )

    def same_version(self, key: FakeKey) -> bool:
        return (
            self.etag == key.etag.strip('"')
            and self.size == key.size
            and self.last_modified == key.last_modified.isoformat()
            and self.metadata == {k: str(v) for k, v in key.metadata.items()}
        )


@dataclass(frozen=True)
class Snapshot:
    """One bucket as the disk must hold it: its manifest (None: the bucket is gone) and new blobs."""

    bucket: str
    manifest: dict[str, Any] | None
    blobs: dict[str, bytes]


class S3Mirror:
    """Keeps `<root>` equal to moto's buckets: `commit(snapshot(name))` after a mutating request."""

    def __init__(self, root: Path, backend: S3Backend | None = None) -> None:
        self.root = root
        self.backend = backend or s3_backend()
        self.lock = threading.Lock()
        # Each bucket's manifest.json as last read or written: we are its only writer, so a write need
        # not re-read it. Filled on first use, which reads exactly the file that write replaces.
        self._on_disk: dict[str, dict[str, Any]] = {}

    # -- write side ---------------------------------------------------------------------------

    def snapshot(self, bucket_name: str) -> Snapshot:
        """What the disk must hold for one bucket, copied out of moto (call it while moto is not being
        changed): the manifest, and the bytes of every blob the disk does not have yet."""
        bucket = self.backend.buckets.get(bucket_name)
        if bucket is None:
            return Snapshot(bucket_name, None, {})
        folder = self._folder(bucket_name)
        old = self._manifest(bucket_name, folder).get("objects", {})
        objects: dict[str, dict] = {}
        blobs: dict[str, bytes] = {}
        for name, key in bucket.keys.items():
            if not isinstance(key, FakeKey):  # a delete marker: the object is gone
                continue
            previous = old.get(name)
            if previous is not None and ObjectEntry(**previous).same_version(key):
                objects[name] = previous
                continue
            data = key.value
            blob = hashlib.sha256(data).hexdigest()
            if not (folder / "blobs" / blob).exists():
                blobs[blob] = data
            objects[name] = ObjectEntry.of(key, blob).__dict__
        manifest = {
            "version": _MANIFEST_VERSION,
            "name": bucket.name,
            "region": bucket.region_name,
            "creation_date": bucket.creation_date.isoformat(),
            "objects": objects,
        }
        return Snapshot(bucket_name, manifest, blobs)

    def commit(self, snapshot: Snapshot) -> None:
        """Write a snapshot: blobs first, then the manifest naming them, then drop unreferenced blobs."""
        with self.lock:
            folder = self._folder(snapshot.bucket)
            if snapshot.manifest is None:
                remove_tree(folder)
                self._on_disk.pop(snapshot.bucket, None)
                return
            for blob, data in snapshot.blobs.items():
                atomic_write_bytes(folder / "blobs" / blob, data)
            if snapshot.manifest != self._manifest(snapshot.bucket, folder):
                atomic_write_json(folder / "manifest.json", snapshot.manifest)
                self._on_disk[snapshot.bucket] = snapshot.manifest
            keep = {entry["blob"] for entry in snapshot.manifest["objects"].values()}
            self._drop_unreferenced_blobs(folder, keep)

    def revert(self, bucket_name: str) -> None:
        """Put moto's copy of one bucket back to what is on disk (after a write to disk failed): objects
        the disk does not have are deleted, objects that differ are put back from their blobs."""
        with self.lock:
            self._on_disk.pop(bucket_name, None)
            folder = self._folder(bucket_name)
            manifest = self._manifest(bucket_name, folder)
            bucket = self.backend.buckets.get(bucket_name)
            if bucket is None:
                if manifest:
                    self._restore_bucket(folder, manifest)
                return
            if not manifest:  # the bucket itself never reached the disk
                for name in list(bucket.keys.keys()):
                    self.backend.delete_object(bucket_name, name)
                self.backend.delete_bucket(bucket_name)
                return
            objects = manifest["objects"]
            for name, key in list(bucket.keys.items()):
                if name not in objects:
                    self.backend.delete_object(bucket_name, name)
                elif not (isinstance(key, FakeKey) and ObjectEntry(**objects[name]).same_version(key)):
                    self._restore_object(folder, bucket_name, name, objects[name])
            for name, raw in objects.items():
                if name not in bucket.keys:
                    self._restore_object(folder, bucket_name, name, raw)

    def _drop_unreferenced_blobs(self, folder: Path, keep: set[str]) -> None:
        blobs = folder / "blobs"
        if not blobs.is_dir():
            return
        for blob in blobs.iterdir():
            if blob.name not in keep and not blob.name.startswith("."):
                blob.unlink(missing_ok=True)

    # -- read side ----------------------------------------------------------------------------

    def restore(self) -> int:
        """Load every persisted bucket into moto; returns the number of objects restored."""
        clean_trash(self.root)
        restored = 0
        for manifest in self._manifests():
            folder = self._folder(manifest["name"])
            clean_trash(folder / "blobs")
            restored += self._restore_bucket(folder, manifest)
        return restored

    def _restore_bucket(self, folder: Path, manifest: dict[str, Any]) -> int:
        bucket = self.backend.create_bucket(manifest["name"], manifest["region"])
        bucket.creation_date = datetime.fromisoformat(manifest["creation_date"])
        for name, raw in manifest["objects"].items():
            self._restore_object(folder, manifest["name"], name, raw)
        return len(manifest["objects"])

    def _restore_object(self, folder: Path, bucket_name: str, name: str, raw: dict[str, Any]) -> None:
        entry = ObjectEntry(**raw)
        key = self.backend.put_object(
            bucket_name,
            name,
            (folder / "blobs" / entry.blob).read_bytes(),
            storage=entry.storage_class,
            etag=entry.etag,
            checksum_value=entry.checksum_value,
            disable_notification=True,
        )
        key.metadata.clear()
        key.metadata.update(entry.metadata)
        key.checksum_algorithm = entry.checksum_algorithm
        key.checksum_type, key.checksum_parts = entry.checksum_type, entry.checksum_parts
        key.last_modified = datetime.fromisoformat(entry.last_modified)

    def _manifests(self) -> list[dict[str, Any]]:
        if not self.root.is_dir():
            return []
        manifests = []
        for path in sorted(self.root.glob("*/manifest.json")):
            manifest = read_json(path)
            if manifest.get("version") == _MANIFEST_VERSION:
                manifests.append(manifest)
        return manifests

    def _manifest(self, bucket_name: str, folder: Path) -> dict[str, Any]:
        if bucket_name not in self._on_disk:
            path = folder / "manifest.json"
            self._on_disk[bucket_name] = read_json(path) if path.exists() else {}
        return self._on_disk[bucket_name]

    def _folder(self, bucket_name: str) -> Path:
        # Bucket names are normally safe file names; anything else (moto is lenient) is hex-encoded.
        if _SAFE_BUCKET.match(bucket_name) and ".." not in bucket_name:
            return self.root / bucket_name
        return self.root / f"x-{bucket_name.encode().hex()}"
