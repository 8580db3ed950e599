"""What training costs as the data grows, on synthetic releases (nothing is downloaded).

One synthetic set of ratings (a low-rank taste model with a long-tailed movie popularity, rounded to 1..5
stars) is written twice: with ids renumbered 1..n ("compact ids") and with the same users and movies scattered
over ml-25m's id range (user ids up to 162,541, movie ids up to 209,171), as a real ml-25m or ml-latest-small
copy has them. The `rating` profile trains COST_EPOCHS epochs on each (95% train, 5% validation); per-epoch
time must be the same on both, because the trainer works on the ids the channels hold (object2vec.compact),
and so must the validation RMSE. The `implicit` profile (32 negatives per positive, HR@10 validation) trains
one epoch on the scattered release. The per-rating cost then gives ml-20m's and ml-25m's time per epoch,
an extrapolation the report labels as such.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from jobs.movielens import repo_root
from object2vec import profile_hyperparameters, train

ML25M_MAX_USER, ML25M_MAX_MOVIE = 162_541, 209_171
N_RATINGS, N_USERS, N_MOVIES = 1_000_000, 7_000, 8_000
IMPLICIT_RATINGS = 200_000
COST_EPOCHS = 3
FULL_SIZES = {"ml-20m": 20_000_263, "ml-25m": 25_000_095}


def synthetic_ratings(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users 1..N_USERS, movies 1..N_MOVIES, stars) from a rank-8 taste model, distinct pairs."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, N_MOVIES + 1) ** 0.9
    users = rng.integers(1, N_USERS + 1, size=int(N_RATINGS * 1.1))
    movies = rng.choice(np.arange(1, N_MOVIES + 1), size=len(users), p=popularity / popularity.sum())
    pairs = np.unique(users * (N_MOVIES + 1) + movies)
    pairs = rng.permutation(pairs)[:N_RATINGS]
    users, movies = pairs // (N_MOVIES + 1), pairs % (N_MOVIES + 1)
    p, q = rng.normal(0, 0.45, (N_USERS + 1, 8)), rng.normal(0, 0.45, (N_MOVIES + 1, 8))
    bu, bi = rng.normal(0, 0.4, N_USERS + 1), rng.normal(0, 0.5, N_MOVIES + 1)
    raw = 3.5 + bu[users] + bi[movies] + (p[users] * q[movies]).sum(1) + rng.normal(0, 0.8, len(users))
    return users, movies, np.clip(np.round(raw), 1, 5)


def scattered_ids(n: int, top: int, seed: int) -> np.ndarray:
    """(n + 1,) increasing map from compact id k (1..n) to an id spread over 1..top (index 0 stays 0)."""
    ids = np.sort(np.random.default_rng(seed).choice(np.arange(1, top + 1), size=n, replace=False))
    return np.concatenate([[0], ids])


def write_release(folder: Path, users: np.ndarray, movies: np.ndarray, labels: np.ndarray) -> dict[str, Path]:
    """train/validation channel folders (5% validation, the last rows) of one synthetic release."""
    cut = int(len(users) * 0.95)
    channels = {}
    for name, rows in (("train", slice(0, cut)), ("validation", slice(cut, None))):
        (folder / name).mkdir(parents=True, exist_ok=True)
        lines = (
            f'{{"in0": [{u}], "in1": [{m}], "label": {v}}}\n'
            for u, m, v in zip(
                users[rows].tolist(), movies[rows].tolist(), labels[rows].tolist(), strict=True
            )
        )
        (folder / name / f"{name}.jsonl").write_text("".join(lines))
        channels[name] = folder / name
    return channels


def timed_training(profile: str, vocab: tuple[int, int], channels: dict[str, Path], out: Path,
                   threads: int, epochs: int) -> dict:  # fmt: skip
    hp = profile_hyperparameters(profile, {"enc0_vocab_size": vocab[0], "enc1_vocab_size": vocab[1]})
    hp["epochs"] = str(epochs)
    start = time.perf_counter()
    result = train(hp, channels, out, threads=threads, progress=False)
    seconds = time.perf_counter() - start
    per_epoch = [h["seconds"] for h in result.history]
    metrics = {k: v for k, v in result.metrics.items() if k.startswith("validation:")}
    return {"profile": profile, "vocab": list(vocab), "seconds": seconds, "epoch_seconds": per_epoch,
            "validation": metrics}  # fmt: skip


def measure_cost(threads: int) -> dict:
    folder = repo_root() / ".work" / "bench" / "cost"
    users, movies, stars = synthetic_ratings()
    user_ids, movie_ids = (
        scattered_ids(N_USERS, ML25M_MAX_USER, 1),
        scattered_ids(N_MOVIES, ML25M_MAX_MOVIE, 2),
    )
    releases = {
        "compact ids": (users, movies, (N_USERS + 1, N_MOVIES + 1)),
        "ml-25m id range": (user_ids[users], movie_ids[movies], (ML25M_MAX_USER + 1, ML25M_MAX_MOVIE + 1)),
    }
    runs = {}
    for name, (u, m, vocab) in releases.items():
        print(f"cost: rating profile, {N_RATINGS:,} synthetic ratings, {name} ...", flush=True)
        channels = write_release(folder / name.replace(" ", "-"), u, m, stars)
        runs[name] = timed_training("rating", vocab, channels, folder / "models", threads, COST_EPOCHS)
        print(f"  {runs[name]['epoch_seconds']}", flush=True)
    u, m, vocab = releases["ml-25m id range"]
    keep = slice(0, IMPLICIT_RATINGS)
    channels = write_release(folder / "implicit", u[keep], m[keep], np.ones(IMPLICIT_RATINGS, dtype=int))
    print(f"cost: implicit profile, {IMPLICIT_RATINGS:,} positives, ml-25m id range ...", flush=True)
    implicit = timed_training("implicit", vocab, channels, folder / "models", threads, 1)
    train_rows = int(N_RATINGS * 0.95)
    per_rating = float(np.median(runs["ml-25m id range"]["epoch_seconds"])) / train_rows
    per_positive = implicit["epoch_seconds"][0] / int(IMPLICIT_RATINGS * 0.95)
    return {
        "ratings": N_RATINGS,
        "users": N_USERS,
        "movies": N_MOVIES,
        "threads": threads,
        "runs": runs,
        "implicit": implicit,
        "rating_seconds_per_rating_epoch": per_rating,
        "implicit_seconds_per_positive_epoch": per_positive,
        "extrapolated_epoch_seconds": {
            name: {"rating": per_rating * n, "implicit": per_positive * n} for name, n in FULL_SIZES.items()
        },
    }


def cost_markdown(cost: dict) -> str:
    lines = [
        f"Training cost on synthetic releases ({cost['ratings']:,} ratings by {cost['users']:,} users of "
        f"{cost['movies']:,} movies; {cost['threads']} torch threads; per-epoch seconds include validation):",
        "",
        "| release | profile | largest ids (users, movies) | seconds per epoch | validation |",
        "|---|---|---|---|---|",
    ]
    implicit = (f"ml-25m id range, {IMPLICIT_RATINGS // 1000}k positives", cost["implicit"])
    for name, run in [*cost["runs"].items(), implicit]:
        epochs = ", ".join(f"{s:.1f}" for s in run["epoch_seconds"])
        metrics = ", ".join(f"{k.split(':')[1]} {v:.4f}" for k, v in run["validation"].items())
        lines.append(
            f"| {name} | {run['profile']} | {run['vocab'][0] - 1:,}, {run['vocab'][1] - 1:,} | {epochs} | "
            f"{metrics} |"
        )
    lines += [
        "",
        f"Per training rating and epoch: {1e6 * cost['rating_seconds_per_rating_epoch']:.2f} µs (`rating`), "
        f"{1e6 * cost['implicit_seconds_per_positive_epoch']:.1f} µs per positive (`implicit`, 32 negatives "
        "each). **Extrapolated** (measured per-rating cost × size, not a measured run):",
        "",
        "| release | `rating`, one epoch | `implicit`, one epoch |",
        "|---|---|---|",
    ]
    for name, epoch in cost["extrapolated_epoch_seconds"].items():
        lines.append(f"| {name} | {epoch['rating'] / 60:.1f} min | {epoch['implicit'] / 60:.0f} min |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(measure_cost(2), indent=2))
