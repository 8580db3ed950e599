"""The movie-embedding index built at deploy time, and nearest-neighbour search over it.

The deploy job asks the endpoint once for every trained movie's embedding and stores an `.npz` in
S3 with a small pointer object beside it (`<prefix>/<endpoint>/current.json`) naming the model
version. A container loads the index once and re-reads it only when the pointer's ETag changes,
which happens when a new model version is deployed.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handlers import contract
from handlers.bucket import read_object, s3_errors
from handlers.catalog import not_in_catalog
from handlers.responses import NotFound, UpstreamError

METRICS = ("euclidean", "cosine")


@dataclass(frozen=True)
class EmbeddingIndex:
    model_version: str
    movie_ids: np.ndarray  # (n,) int, the movies that have an embedding
    embeddings: np.ndarray  # (n, d) float32
    unit: np.ndarray  # (n, d) embeddings scaled to length 1, for cosine
    titles: dict[int, str]  # every catalog movie, embedded or not
    positions: dict[int, int] = field(repr=False)

    def position(self, movie_id: int) -> int:
        if movie_id in self.positions:
            return self.positions[movie_id]
        if movie_id in self.titles:
            raise NotFound(
                f"movie {movie_id} ({self.titles[movie_id]}) has no embedding: "
                "it has no ratings in the training data"
            )
        raise not_in_catalog(movie_id)


@dataclass(frozen=True)
class Neighbour:
    movie_id: int
    title: str
    distance: float


def nearest(index: EmbeddingIndex, movie_id: int, k: int, metric: str) -> list[Neighbour]:
    """The k movies closest to `movie_id` (itself excluded); ties go to the lower movie id."""
    query = index.position(movie_id)
    if metric == "cosine":
        distances = 1.0 - index.unit @ index.unit[query]
    else:
        distances = np.linalg.norm(index.embeddings - index.embeddings[query], axis=1)
    distances[query] = np.inf
    k = min(k, len(distances) - 1)
    if k <= 0:
        return []
    candidates = np.argpartition(distances, k - 1)[:k]
    ranked = candidates[np.lexsort((index.movie_ids[candidates], distances[candidates]))]
    return [
        Neighbour(int(index.movie_ids[i]), index.titles[int(index.movie_ids[i])], float(distances[i]))
        for i in ranked
    ]


def load_index(raw: bytes, model_version: str) -> EmbeddingIndex:
    with np.load(io.BytesIO(raw), allow_pickle=False) as arrays:
        movie_ids = arrays[contract.NPZ_MOVIE_IDS].astype(np.int64)
        embeddings = arrays[contract.NPZ_EMBEDDINGS].astype(np.float32)
        ids, names = arrays[contract.NPZ_CATALOG_IDS], arrays[contract.NPZ_CATALOG_TITLES]
        titles = dict(zip(ids.tolist(), names.tolist(), strict=True))
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = embeddings / np.where(norms == 0, 1.0, norms)
    positions = {int(movie): i for i, movie in enumerate(movie_ids.tolist())}
    return EmbeddingIndex(model_version, movie_ids, embeddings, unit, titles, positions)


@dataclass
class IndexCache:
    """Per-container cache: the loaded index and the pointer ETag it came from."""

    s3: Any
    bucket: str
    pointer_key: str
    refresh_seconds: float
    index: EmbeddingIndex | None = None
    etag: str | None = None
    checked_at: float = -float("inf")

    def current(self) -> EmbeddingIndex:
        now = time.monotonic()
        if self.index is not None and now - self.checked_at < self.refresh_seconds:
            return self.index
        etag = self._pointer_etag()
        if self.index is None or etag != self.etag:
            pointer = json.loads(read_object(self.s3, self.bucket, self.pointer_key))
            raw = read_object(self.s3, self.bucket, pointer[contract.POINTER_INDEX_KEY])
            self.index = load_index(raw, pointer[contract.POINTER_MODEL_VERSION])
            self.etag = etag
            movies = len(self.index.movie_ids)
            loaded = {"event": "index_loaded", "model_version": self.index.model_version, "movies": movies}
            print(json.dumps(loaded))
        self.checked_at = now
        return self.index

    def _pointer_etag(self) -> str:
        where = f"s3://{self.bucket}/{self.pointer_key}"
        missing = f"no embedding index at {where}: run `make train` to build it"
        with s3_errors(where, unreadable=UpstreamError, unreachable="cannot reach S3", missing=missing):
            return self.s3.head_object(Bucket=self.bucket, Key=self.pointer_key)["ETag"]
