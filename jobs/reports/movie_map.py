"""Movie embeddings made visible: a 2-D map (PCA) and each well-known film's nearest neighbours.

PCA is numpy's SVD of the centred embeddings: the two directions along which the movies differ most.
Neighbours are by cosine distance, as the movie-retrieval function ranks them by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# Films most people know, matched by title prefix so every MovieLens release finds them (ml-100k's
# "Star Wars (1977)" is "Star Wars: Episode IV - A New Hope (1977)" in ml-1m and later releases).
WELL_KNOWN = (
    "Toy Story (1995)",
    "Star Wars",
    "Terminator, The (1984)",
    "Fargo (1996)",
    "Pulp Fiction (1994)",
)
NEIGHBOURS = 5


@dataclass(frozen=True)
class MovieMap:
    movie_ids: np.ndarray  # (n,)
    xy: np.ndarray  # (n, 2): the first two principal components
    explained: tuple[float, float]  # share of the variance along each
    neighbours: dict[int, list[int]]  # probe movie id -> its nearest movie ids, nearest first


def well_known_ids(titles: Mapping[int, str], candidates: Sequence[int]) -> list[int]:
    """The ids, among `candidates`, of the first title starting with each of WELL_KNOWN."""
    found = []
    for prefix in WELL_KNOWN:
        match = next((m for m in sorted(candidates) if titles.get(m, "").startswith(prefix)), None)
        if match is not None:
            found.append(match)
    return found


def movie_map(
    movie_ids: np.ndarray, vectors: np.ndarray, probes: Sequence[int], k: int = NEIGHBOURS
) -> MovieMap:
    """PCA of `vectors` (one row per id in `movie_ids`) and the k nearest of each probe among them."""
    if len(movie_ids) < 3 or vectors.shape[0] != len(movie_ids):
        raise ValueError(
            f"need one embedding per movie and at least 3 movies, got {vectors.shape} for {len(movie_ids)}"
        )
    x = vectors.astype(np.float64)
    centred = x - x.mean(0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2 / max(float((singular**2).sum()), 1e-300)
    xy = centred @ components[:2].T
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    row = {int(m): i for i, m in enumerate(movie_ids)}
    neighbours = {}
    for probe in probes:
        if probe not in row:
            continue
        distance = 1.0 - unit @ unit[row[probe]]
        distance[row[probe]] = np.inf
        nearest = np.argsort(distance, kind="stable")[:k]
        neighbours[int(probe)] = [int(movie_ids[i]) for i in nearest]
    return MovieMap(np.asarray(movie_ids), xy, (float(variance[0]), float(variance[1])), neighbours)
