"""The classical peers Object2Vec is compared with, fitted on the same training ratings.

Each peer gives a full (users, items) matrix of estimates (rows and columns are raw MovieLens ids, as
Object2Vec's), so the same numbers score rating RMSE, accuracy of "estimate > 3.5", and a full top-N
ranking, plus item vectors where the method has them (for genre agreement):
- Surprise SVD and SVD++ (default parameters, random_state = the seed): mu + b_u + b_i + q_i.(p_u [+
  |N(u)|^-1/2 sum y_j]), unclipped, exactly Surprise's estimate, computed for every pair at once.
- Surprise KNNBaseline (defaults: user-based, MSD similarity, k=40, min_k=1): baseline plus the
  similarity-weighted deviations of the k most similar users who rated the item, vectorised per user. MSD
  similarities tie often and Surprise keeps the first of tied neighbours in its rating order, this the
  lowest user id, so `pairs` (ua.test's) get Surprise's own predictions and the rest of the matrix (used
  only for top-N ranking) is this close equivalent.
- PureSVD-k: the truncated SVD of the 0/1 "rated" matrix, scores R V_k V_k^T; item vectors V_k S_k.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from jobs.movielens import repo_root

KNN_K = 40


@dataclass
class Peer:
    name: str
    estimates: np.ndarray  # (n_users, n_items)
    seconds: float  # fit time
    item_vectors: np.ndarray | None = None  # (n_items, d), rows = raw movie ids


def _trainset(ratings: tuple[np.ndarray, np.ndarray, np.ndarray]):
    """A Surprise trainset of (users, items, ratings), through a TSV file (Surprise reads files or pandas)."""
    from surprise import Dataset, Reader

    u, i, r = ratings
    folder = repo_root() / ".work" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "peers-train.tsv"
    path.write_text(
        "".join(f"{a}\t{b}\t{c}\n" for a, b, c in zip(u.tolist(), i.tolist(), r.tolist(), strict=True))
    )
    reader = Reader(line_format="user item rating", sep="\t", rating_scale=(1, 5))
    return Dataset.load_from_file(str(path), reader).build_full_trainset()


def _raw_index(trainset, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw id of each inner user and inner item."""
    users = np.array([int(trainset.to_raw_uid(k)) for k in range(trainset.n_users)])
    items = np.array([int(trainset.to_raw_iid(k)) for k in range(trainset.n_items)])
    return users, items


def _factor_estimates(
    trainset, algo, n_users: int, n_items: int, implicit: bool
) -> tuple[np.ndarray, np.ndarray]:
    users, items = _raw_index(trainset, n_users, n_items)
    f = algo.qi.shape[1]
    pu, qi = np.zeros((n_users, f)), np.zeros((n_items, f))
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    pu[users], bu[users] = algo.pu, algo.bu
    qi[items], bi[items] = algo.qi, algo.bi
    if implicit:  # SVD++: p_u + |N(u)|^-1/2 sum of y_j over the items u rated
        rated = np.zeros((trainset.n_users, trainset.n_items))
        for inner_u, row in trainset.ur.items():
            rated[inner_u, [j for j, _ in row]] = 1.0
        pu[users] += (rated @ algo.yj) / np.sqrt(np.maximum(rated.sum(1, keepdims=True), 1.0))
    est = trainset.global_mean + bu[:, None] + bi[None, :] + pu @ qi.T
    return est, qi


def surprise_svd(ratings: tuple, n_users: int, n_items: int, seed: int, *, plus: bool) -> Peer:
    from surprise import SVD, SVDpp

    trainset = _trainset(ratings)
    start = time.perf_counter()
    algo = (SVDpp if plus else SVD)(random_state=seed).fit(trainset)
    seconds = time.perf_counter() - start
    est, qi = _factor_estimates(trainset, algo, n_users, n_items, implicit=plus)
    return Peer("Surprise SVD++" if plus else "Surprise SVD", est, seconds, qi)


def surprise_knn_baseline(
    ratings: tuple, n_users: int, n_items: int, pairs: tuple[np.ndarray, np.ndarray]
) -> Peer:
    from surprise import KNNBaseline

    trainset = _trainset(ratings)
    start = time.perf_counter()
    algo = KNNBaseline(k=KNN_K, verbose=False).fit(trainset)
    users, items = _raw_index(trainset, n_users, n_items)
    mu = trainset.global_mean
    bu, bi = np.asarray(algo.bu), np.asarray(algo.bi)  # inner ids
    nu, ni = trainset.n_users, trainset.n_items
    rated = np.zeros((nu, ni), bool)
    deviation = np.zeros((nu, ni))
    for inner_u, row in trainset.ur.items():
        js = np.array([j for j, _ in row])
        rated[inner_u, js] = True
        deviation[inner_u, js] = np.array([r for _, r in row]) - (mu + bu[inner_u] + bi[js])
    sim = np.asarray(algo.sim)
    inner = np.empty((nu, ni))
    for u in range(nu):
        order = np.argsort(-sim[u], kind="stable")
        s = sim[u, order]
        r = rated[order]
        take = r & (np.cumsum(r, axis=0) <= KNN_K) & (s[:, None] > 0)
        weights = np.where(take, s[:, None], 0.0)
        den = weights.sum(0)
        num = (weights * deviation[order]).sum(0)
        inner[u] = mu + bu[u] + bi + np.divide(num, den, out=np.zeros(ni), where=den > 0)
    seconds = time.perf_counter() - start
    est = np.full((n_users, n_items), mu)
    est[users] += bu[:, None]
    est[:, items] += bi[None, :]
    est[np.ix_(users, items)] = inner
    for u, i in zip(*pairs, strict=True):
        est[u, i] = algo.predict(str(u), str(i), clip=False).est
    return Peer("Surprise KNNBaseline", est, seconds)


def pure_svd(seen: np.ndarray, k: int) -> Peer:
    start = time.perf_counter()
    binary = seen.astype(np.float64)
    _, singular, vt = np.linalg.svd(binary, full_matrices=False)
    scores = binary @ vt[:k].T @ vt[:k]
    return Peer(f"PureSVD-{k}", scores, time.perf_counter() - start, vt[:k].T * singular[:k])
