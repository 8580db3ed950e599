"""Benchmark Object2Vec on MovieLens 100k against its classical peers, over seeds, in one run.

    python -m benchmarks.bench_model [--seeds 0,1,2] [--skip-workshop] [--skip-cost] [--threads 2]

Protocols (channels written by `o2v data prepare`, made here if missing):
- holdout: train = ua.base minus 5 seeded ratings per user, validation = those, test = ua.test (never seen
  during training or model selection). Early stopping on validation chooses the number of epochs; the model
  measured is then trained that many epochs on train + validation, all of ua.base (jobs.refit), as `make
  train` does.
- workshop: the notebook's split, train = ua.base, validation = ua.test (early stopping AND the reported
  figure); trained with the first seed only.

Four tasks on ua.test, each judged on the worst seed against its goal (GOALS), each beside Surprise SVD++,
KNNBaseline, SVD and PureSVD fitted on the same ratings, ua.base (see benchmarks/peers.py; SVD and SVD++
get the same seed as Object2Vec; PureSVD gets its best rank per task, chosen on ua.test):
- rating: RMSE of predictions clipped to 1..5 (`rating` profile);
- recommendation: accuracy of "rating > 3" (`recommendation` profile; the peers: estimate > 3.5);
- top-N: HR@10 with full ranking (every movie not in the user's ua.base is a candidate; relevant = ua.test
  movies rated 4 or 5; users without one are skipped; ties broken at random with seed 0) (`implicit`);
- movie embeddings: genre agreement@10, the share of each movie's 10 nearest (cosine) among the movies with
  at least 50 ratings in ua.base that share a u.item genre with it (`implicit`'s in1 embeddings, the ones
  the retrieval Lambda indexes; the peers' item factors).
Then the cost section (benchmarks/bench_cost.py): per-epoch time on synthetic releases with ml-25m's id
range. Results go to benchmarks/results/model.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_cost import cost_markdown, measure_cost
from benchmarks.machine import describe, machine, write_report
from benchmarks.peers import Peer, pure_svd, surprise_knn_baseline, surprise_svd
from jobs.channels import PrepareConfig, default_out_dir, prepare_channels, read_manifest, task_folder
from jobs.local_training import train_profile
from jobs.movielens import load_movielens, repo_root
from object2vec.data import Sequences, parse_jsonlines
from object2vec.serving import Predictor

DATASET = "ml-100k"
RETRIEVAL_MIN_RATINGS = 50  # the movies whose neighbours are judged (573 in ua.base)
RETRIEVAL_K = 10
PROBE_MOVIE = 195  # Terminator, The (1984): the workshop's retrieval example
RANDOM_DIM = 64
PEERS = ("Surprise SVD++", "Surprise KNNBaseline", "Surprise SVD", "PureSVD")
# PureSVD's rank is chosen per task on ua.test itself (an oracle no user has, so the peer is at its best):
# HR@10 peaks at 25 factors on ml-100k, genre agreement at 15.
PURE_SVD_RANKS = (10, 15, 20, 25, 30, 40, 50)
WORKSHOP_GOALS = {
    "workshop-rating": ("MSE", 0.93, True),
    "workshop-recommendation": ("accuracy", 0.69, False),
}


@dataclass(frozen=True)
class Task:
    """One figure Object2Vec is judged on: which profile produces it, and its goal on the worst seed."""

    name: str
    profile: str
    metric: str
    goal: float
    lower_is_better: bool

    def worst(self, values: list[float]) -> float:
        return max(values) if self.lower_is_better else min(values)

    def verdict(self, value: float) -> str:
        met = value <= self.goal if self.lower_is_better else value >= self.goal
        return "met" if met else f"missed by {abs(value - self.goal):.4f}"


TASKS = (
    Task("rating", "rating", "RMSE", 0.925, True),
    Task("recommendation", "recommendation", "accuracy", 0.715, False),
    Task("top-N", "implicit", "HR@10", 0.80, False),
    Task("movie embeddings", "implicit", "genre agreement@10", 0.75, False),
)
PROFILES = ("rating", "recommendation", "implicit")


# ---- data --------------------------------------------------------------------------------------------------


def ensure_channels(root: Path) -> None:
    """Written every run (a few seconds): channels left by an older version of the writer would measure
    that version's data, not this one's."""
    print(f"writing the channels under {root} (o2v data prepare)", flush=True)
    prepare_channels(PrepareConfig(dataset=DATASET, out_dir=root))


def triples(root: Path, protocol: str, channel: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, movies, ratings) of one channel of the rating task."""
    manifest = read_manifest(task_folder(root, DATASET, protocol, "rating"))
    in0, in1, labels, _ = parse_jsonlines(manifest.channel_path(channel))
    return in0.values, in1.values, labels


def rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def mse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((pred - y) ** 2))


# ---- scoring ----------------------------------------------------------------------------------------------


def hit_rate_at_10(scores: np.ndarray, seen: np.ndarray, relevant: np.ndarray) -> float:
    """Share of users (with a relevant movie) having a relevant movie among their top 10 unseen ones."""
    users = np.flatnonzero(relevant.any(1))
    s = scores[users].astype(np.float64)
    s += np.random.default_rng(0).random(s.shape) * 1e-9 * (np.abs(s).max() + 1)  # random tie-break
    s[seen[users]] = -np.inf
    s[:, 0] = -np.inf  # id 0 is not a movie
    top = np.argpartition(-s, 10, axis=1)[:, :10]
    return float(relevant[users[:, None], top].any(1).mean())


# ---- Object2Vec runs ---------------------------------------------------------------------------------------


def run_profile(
    root: Path, profile: str, protocol: str, task: str, out: Path, threads: int, seed: int
) -> dict:
    print(f"training {profile} on {protocol}/{task}, seed {seed}, {threads} thread(s) ...", flush=True)
    start = time.perf_counter()
    run = train_profile(
        profile,
        task_folder(root, DATASET, protocol, task),
        out / f"{profile}-{protocol}-seed{seed}",
        seed=seed,
        threads=threads,
        progress=False,
    )
    seconds = time.perf_counter() - start
    result = run.selection  # its validation curve chose the epochs; run.final is the model measured
    refit = f", refit on train + validation {run.final.seconds:.1f} s" if run.refit else ""
    print(f"  {seconds:.1f} s, {result.epochs_run} epochs (best {result.best_epoch}){refit}", flush=True)
    return {
        "profile": profile,
        "protocol": protocol,
        "task": task,
        "seed": seed,
        "seconds": seconds,
        "threads": threads,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "refit_seconds": run.final.seconds if run.refit else None,
        "metrics": result.metrics,
        "history": result.history,
        "model": str(run.final.model_path),
        "hyperparameters": result.hyperparameters,
    }


def all_pair_scores(predictor: Predictor, n_users: int, n_items: int) -> np.ndarray:
    users, items = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    scores = predictor.predict(Sequences.single(users.ravel()), Sequences.single(items.ravel()))
    return scores[:, -1].reshape(n_users, n_items)  # regression value, or p(label 1)


def latency(predictor: Predictor, ids: tuple[int, int]) -> dict:
    """Seconds inside Predictor.invoke: one pair (median, best of 300) and the retrieval Lambda's request."""
    body = json.dumps({"instances": [{"in0": [ids[0]], "in1": [ids[1]]}]}).encode()
    timings = []
    for _ in range(300):
        start = time.perf_counter()
        predictor.invoke(body, "application/json")
        timings.append(time.perf_counter() - start)
    movies = json.dumps({"instances": [{"in1": [m]} for m in range(1, 1681)]}).encode()
    start = time.perf_counter()
    response, _ = predictor.invoke(movies, "application/json")
    return {
        "one_pair_median_ms": 1e3 * float(np.median(timings)),
        "one_pair_best_ms": 1e3 * min(timings),
        "embeddings_1680_movies_ms": 1e3 * (time.perf_counter() - start),
        "embeddings_1680_movies_bytes": len(response),
    }


# ---- retrieval -------------------------------------------------------------------------------------------


def movie_embeddings(predictor: Predictor, n_items: int) -> np.ndarray:
    """(n_items, enc_dim) `in1` embeddings, what the retrieval index holds (row = movie id)."""
    return predictor.embed(1, Sequences.single(np.arange(n_items)))


def distances(embeddings: np.ndarray, metric: str) -> np.ndarray:
    """(n, n) pairwise distances, as the retrieval Lambda computes them (cosine: 1 - cos; euclidean)."""
    x = embeddings.astype(np.float64)
    if metric == "cosine":
        unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return 1.0 - unit @ unit.T
    squares = (x**2).sum(1)
    return np.sqrt(np.maximum(squares[:, None] + squares[None, :] - 2.0 * x @ x.T, 0.0))


def genre_agreement(embeddings: np.ndarray, movies: np.ndarray, genres: np.ndarray, metric: str) -> float:
    """Share of the RETRIEVAL_K nearest of each of `movies` (among them) sharing a genre with it."""
    d = distances(embeddings[movies], metric)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :RETRIEVAL_K]  # (n, k)
    g = genres[movies]  # (n, genres)
    return float((g[nearest] & g[:, None, :]).any(2).mean())


def nearest_titles(
    embeddings: np.ndarray, movies: np.ndarray, titles: dict[int, str], metric: str, k: int = 5
) -> list[str]:
    """The k movies of `movies` nearest to PROBE_MOVIE, as titles."""
    probe = int(np.flatnonzero(movies == PROBE_MOVIE)[0])
    d = distances(embeddings[movies], metric)[probe]
    d[probe] = np.inf
    return [titles[int(movies[i])] for i in np.argsort(d, kind="stable")[:k]]


def movie_genres(n_items: int) -> tuple[np.ndarray, dict[int, str]]:
    """(n_items, genres) bool flags from u.item, and the titles."""
    movies = load_movielens(DATASET).movies.movies
    names = sorted({g for m in movies for g in m.genres})
    flags = np.zeros((n_items, len(names)), bool)
    for m in movies:
        flags[m.movie_id, [names.index(g) for g in m.genres]] = True
    return flags, {m.movie_id: m.title for m in movies}


# ---- the split and what every model is scored on ---------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """The holdout split as arrays: ua.test, who saw what in ua.base, who liked what in ua.test."""

    train: tuple[np.ndarray, np.ndarray, np.ndarray]  # ua.base: the train and validation channels
    test: tuple[np.ndarray, np.ndarray, np.ndarray]
    seen: np.ndarray  # (users, items) rated in ua.base (train + validation)
    relevant: np.ndarray  # (users, items) rated 4 or 5 in ua.test
    popular: np.ndarray  # movies with >= RETRIEVAL_MIN_RATINGS ratings in ua.base
    genres: np.ndarray
    titles: dict[int, str]

    @property
    def shape(self) -> tuple[int, int]:
        return self.seen.shape

    @classmethod
    def load(cls, root: Path) -> Split:
        train, valid, test = (triples(root, "holdout", c) for c in ("train", "validation", "test"))
        learnt = tuple(np.concatenate(parts) for parts in zip(train, valid, strict=True))
        vocab = read_manifest(task_folder(root, DATASET, "holdout", "rating")).vocab
        n_users, n_items = vocab.enc0_vocab_size, vocab.enc1_vocab_size
        seen = np.zeros((n_users, n_items), bool)
        seen[train[0], train[1]] = True
        seen[valid[0], valid[1]] = True
        relevant = np.zeros_like(seen)
        liked = test[2] >= 4
        relevant[test[0][liked], test[1][liked]] = True
        genres, titles = movie_genres(n_items)
        popular = np.flatnonzero(seen.sum(0) >= RETRIEVAL_MIN_RATINGS)
        return cls(learnt, test, seen, relevant, popular, genres, titles)  # type: ignore[arg-type]

    def rmse(self, estimates: np.ndarray) -> float:
        users, movies, ratings = self.test
        return rmse(np.clip(estimates[users, movies], 1, 5), ratings)

    def accuracy(self, liked: np.ndarray) -> float:
        """Accuracy of per-pair "liked" flags for ua.test's pairs against rating > 3."""
        return float((liked == (self.test[2] > 3)).mean())

    def hit_rate(self, scores: np.ndarray) -> float:
        return hit_rate_at_10(scores, self.seen, self.relevant)

    def genre_agreement(self, item_vectors: np.ndarray) -> float:
        return genre_agreement(item_vectors, self.popular, self.genres, "cosine")


def peer_figures(peer: Peer, split: Split) -> dict[str, float | None]:
    """A peer's four figures (None where the method has no such output)."""
    est = peer.estimates
    users, movies, _ = split.test
    explicit = not peer.name.startswith("PureSVD")  # PureSVD scores 0/1 "rated", not ratings
    return {
        "rating": split.rmse(est) if explicit else None,
        "recommendation": split.accuracy(est[users, movies] > 3.5) if explicit else None,
        "top-N": split.hit_rate(est),
        "movie embeddings": split.genre_agreement(peer.item_vectors)
        if peer.item_vectors is not None
        else None,
    }


def object2vec_figures(runs: dict[str, dict], split: Split, threads: int) -> dict[str, float]:
    """Object2Vec's four figures for one seed, through the trained artifacts as the endpoints load them."""
    users, movies, _ = split.test
    rating = Predictor.load(Path(runs["rating"]["model"]), threads=threads)
    recommendation = Predictor.load(Path(runs["recommendation"]["model"]), threads=threads)
    implicit = Predictor.load(Path(runs["implicit"]["model"]), threads=threads)
    pairs = (Sequences.single(users), Sequences.single(movies))
    liked = recommendation.predict(*pairs)
    return {
        "rating": split.rmse(all_pair_scores(rating, *split.shape)),
        "recommendation": split.accuracy(liked.argmax(1) == 1),
        "top-N": split.hit_rate(all_pair_scores(implicit, *split.shape)),
        "movie embeddings": split.genre_agreement(movie_embeddings(implicit, split.shape[1])),
        "rating > 3.5 (the rating model)": split.accuracy(rating.predict(*pairs)[:, 0] > 3.5),
    }


def summarise(values: list[float | None], task: Task) -> dict:
    present = [v for v in values if v is not None]
    if not present:
        return {"values": values, "mean": None, "worst": None}
    return {"values": values, "mean": float(np.mean(present)), "worst": task.worst(present)}


# ---- the workshop profiles ---------------------------------------------------------------------------------


def workshop_rows(root: Path, models: Path, threads: int, seed: int) -> list[dict]:
    """The notebook's two profiles on its own split, beside Surprise SVD fitted on the same ua.base."""
    train = triples(root, "workshop", "train")
    users, movies, ratings = triples(root, "workshop", "validation")
    vocab = read_manifest(task_folder(root, DATASET, "workshop", "rating")).vocab
    svd = surprise_svd(train, vocab.enc0_vocab_size, vocab.enc1_vocab_size, seed, plus=False)
    est = svd.estimates[users, movies]
    rows = [
        {"model": "Surprise SVD", "task": "rating", "metric": "MSE",
         "value": mse(np.clip(est, 1, 5), ratings)},
        {"model": "Surprise SVD > 3.5", "task": "recommendation", "metric": "accuracy",
         "value": float(((est > 3.5) == (ratings > 3)).mean())},
    ]  # fmt: skip
    for profile, task in (("workshop-rating", "rating"), ("workshop-recommendation", "recommendation")):
        run = run_profile(root, profile, "workshop", task, models, threads, seed)
        metric, goal, lower = WORKSHOP_GOALS[profile]
        name = "mean_squared_error" if metric == "MSE" else "accuracy"
        value = run["metrics"][f"validation:{name}"]
        met = value <= goal if lower else value >= goal
        rows.append({"model": f"Object2Vec {profile}", "task": task, "metric": metric, "value": value,
                     "goal": goal, "verdict": "met" if met else f"missed by {abs(value - goal):.4f}",
                     "seconds": run["seconds"], "epochs": f"{run['epochs_run']} ({run['best_epoch']})",
                     "run": run})  # fmt: skip
    return rows


# ---- report ------------------------------------------------------------------------------------------------


def machine_info(threads: int) -> dict:
    """The shared machine description plus what matters here: torch's thread count and the date."""
    return {**machine(), "threads": threads, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def _cell(summary: dict | None, digits: int = 4) -> str:
    if not summary or summary["mean"] is None:
        return "—"
    return f"{summary['mean']:.{digits}f} / {summary['worst']:.{digits}f}"


def markdown(results: dict) -> str:
    m, ranks = results["machine"], results["pure_svd_ranks"]
    seeds = ", ".join(map(str, results["seeds"]))
    lines = [
        "# Object2Vec on MovieLens 100k against its classical peers",
        "",
        describe(m),
        f"Object2Vec trained with {m['threads']} torch thread(s); run {m['date']}.",
        "",
        f"Holdout protocol, figures on ua.test, **mean / worst over seeds {seeds}** (worst: highest RMSE, "
        "lowest of the others). Peers fitted on ua.base, as the refit models; for accuracy a peer's estimate "
        '> 3.5 counts as "liked". Goals are judged on Object2Vec\'s worst seed.',
        "",
        "| task | metric | Object2Vec | " + " | ".join(PEERS) + " | goal | verdict |",
        "|---|---|---|" + "---|" * len(PEERS) + "---|---|",
    ]
    for task in TASKS:
        t = results["tasks"][task.name]
        sign = "<=" if task.lower_is_better else ">="
        peers = " | ".join(_cell(t["peers"].get(p)) for p in PEERS)
        lines.append(
            f"| {task.name} | {task.metric} | **{_cell(t['object2vec'])}** | {peers} | {sign} {task.goal} | "
            f"{t['verdict']} |"
        )
    lines += [
        "",
        f"PureSVD is at its best rank for each task, chosen on ua.test among {PURE_SVD_RANKS} (top-N: "
        f"{ranks['top-N']} factors, embeddings: {ranks['movie embeddings']}; item vectors V_k S_k); "
        "KNNBaseline "
        "(user-based) has no item vectors. Other rows: "
        + "; ".join(f"{k} {_cell(v)}" for k, v in results["other"].items())
        + ".",
        "",
        "Per seed:",
        "",
        "| model | task | " + " | ".join(f"seed {s}" for s in results["seeds"]) + " |",
        "|---|---|" + "---|" * len(results["seeds"]),
    ]
    for task in TASKS:
        t = results["tasks"][task.name]
        for name, summary in [("Object2Vec", t["object2vec"]), *t["peers"].items()]:
            if summary["mean"] is None:
                continue
            cells = " | ".join("—" if v is None else f"{v:.4f}" for v in summary["values"])
            lines.append(f"| {name} | {task.name} | {cells} |")
    lines += [
        "",
        f"Training time ({m['threads']} torch threads, wall clock of both runs: the one whose validation "
        "chose the epochs, then the refit), per seed:",
        "",
        "| model | " + " | ".join(f"seed {s}" for s in results["seeds"]) + " | epochs run (kept) |",
        "|---|" + "---|" * len(results["seeds"]) + "---|",
    ]
    for profile in PROFILES:
        runs = [r for r in results["runs"] if r["profile"] == profile and r["protocol"] == "holdout"]
        lines.append(
            f"| Object2Vec {profile} | "
            + " | ".join(f"{r['seconds']:.1f} s" for r in runs)
            + " | "
            + ", ".join(f"{r['epochs_run']} ({r['best_epoch']})" for r in runs)
            + " |"
        )
    for name, seconds in results["peer_seconds"].items():
        lines.append(f"| {name} (1 thread) | " + " | ".join(f"{s:.1f} s" for s in seconds) + " | |")
    if results.get("workshop"):
        lines += [
            "",
            "The workshop's profiles on the notebook's split (validation = ua.test), first seed:",
            "",
            "| model | task | metric | value | goal | train (s) | epochs (kept) |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in results["workshop"]:
            goal = f"{r['goal']} ({r['verdict']})" if "goal" in r else ""
            seconds = f"{r['seconds']:.1f}" if "seconds" in r else ""
            lines.append(
                f"| {r['model']} | {r['task']} | {r['metric']} | {r['value']:.4f} | {goal} | {seconds} | "
                f"{r.get('epochs', '')} |"
            )
    lines += [
        "",
        "Inference latency inside `Predictor.invoke` (1 thread, first seed's models):",
        "",
        "| model | one pair, median (ms) | one pair, best (ms) | 1,680 movie embeddings (ms) "
        "| response bytes |",
        "|---|---|---|---|---|",
    ]
    for name, lat in results["latency"].items():
        lines.append(
            f"| {name} | {lat['one_pair_median_ms']:.3f} | {lat['one_pair_best_ms']:.3f} | "
            f"{lat['embeddings_1680_movies_ms']:.0f} | {lat['embeddings_1680_movies_bytes']:,} |"
        )
    lines += [
        "",
        f"Terminator's (id {PROBE_MOVIE}) 5 nearest movies by cosine, among every movie rated in ua.base "
        "(first seed):",
        "",
    ] + [f"- {name}: {'; '.join(titles)}" for name, titles in results["probe"].items()]
    if results.get("cost"):
        lines += ["", cost_markdown(results["cost"])]
    return "\n".join(lines) + "\n"


def write_plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(18, 4.2))
    for ax, task in zip(axes, TASKS, strict=True):
        t = results["tasks"][task.name]
        entries = [("Object2Vec", t["object2vec"])] + [(p, t["peers"][p]) for p in PEERS if p in t["peers"]]
        entries = [(n, s) for n, s in entries if s["mean"] is not None]
        names = [n for n, _ in entries]
        means = [s["mean"] for _, s in entries]
        worst = [s["worst"] for _, s in entries]
        colors = ["tab:orange" if n == "Object2Vec" else "tab:gray" for n in names]
        ax.barh(names, means, color=colors)
        ax.scatter(worst, names, color="black", marker="|", s=200, label="worst seed", zorder=3)
        ax.axvline(task.goal, color="tab:red", linestyle="--", label=f"goal {task.goal}")
        for y, v in enumerate(means):
            ax.text(v, y, f" {v:.3f}", va="center", fontsize=8)
        low = min([*means, task.goal])
        ax.set_xlim(low * 0.9, max([*means, task.goal]) * 1.06)
        better = "lower" if task.lower_is_better else "higher"
        ax.set_title(f"{task.name}: {task.metric}\n({better} is better)", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


# ---- main --------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=Path, default=default_out_dir(), help="channels root")
    parser.add_argument(
        "--models", type=Path, default=repo_root() / ".work" / "bench" / "models", help="model folder"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads for Object2Vec training")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    parser.add_argument("--skip-workshop", action="store_true", help="skip the slow workshop-* profiles")
    parser.add_argument("--skip-cost", action="store_true", help="skip the synthetic cost measurements")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    torch.set_num_threads(1)
    ensure_channels(args.channels)
    split = Split.load(args.channels)
    n_users, n_items = split.shape

    # -- peers: deterministic ones once, seeded ones per seed
    knn = surprise_knn_baseline(split.train, n_users, n_items, split.test[:2])
    pure = {k: pure_svd(split.seen, k) for k in PURE_SVD_RANKS}
    ranks = {
        "top-N": max(pure, key=lambda k: split.hit_rate(pure[k].estimates)),
        "movie embeddings": max(pure, key=lambda k: split.genre_agreement(pure[k].item_vectors)),
    }
    top_n, embeddings = pure[ranks["top-N"]], pure[ranks["movie embeddings"]]
    fixed = {"Surprise KNNBaseline": peer_figures(knn, split)}
    fixed["PureSVD"] = {
        **peer_figures(top_n, split),
        "movie embeddings": split.genre_agreement(embeddings.item_vectors),
    }
    per_seed_peers: dict[str, list[dict]] = {"Surprise SVD++": [], "Surprise SVD": []}
    peer_seconds: dict[str, list[float]] = {"Surprise SVD++": [], "Surprise KNNBaseline": [knn.seconds],
                                            "Surprise SVD": [], top_n.name: [top_n.seconds]}  # fmt: skip
    ours: list[dict] = []
    runs: list[dict] = []
    for seed in seeds:
        for plus in (True, False):
            peer = surprise_svd(split.train, n_users, n_items, seed, plus=plus)
            per_seed_peers[peer.name].append(peer_figures(peer, split))
            peer_seconds[peer.name].append(peer.seconds)
        seed_runs = {
            profile: run_profile(args.channels, profile, "holdout", profile, args.models, args.threads, seed)
            for profile in PROFILES
        }
        runs += seed_runs.values()
        ours.append(object2vec_figures(seed_runs, split, args.threads))
        print(f"seed {seed}: {ours[-1]}", flush=True)

    tasks = {}
    for task in TASKS:
        mine = summarise([o[task.name] for o in ours], task)
        peers = {name: summarise([f[task.name] for f in figs], task) for name, figs in per_seed_peers.items()}
        peers.update({name: summarise([f[task.name]] * len(seeds), task) for name, f in fixed.items()})
        tasks[task.name] = {"object2vec": mine, "peers": peers, "verdict": task.verdict(mine["worst"])}
    other_task = Task("recommendation", "rating", "accuracy", 0.715, False)
    other = {
        "Object2Vec `rating` model's prediction > 3.5, accuracy": summarise(
            [o["rating > 3.5 (the rating model)"] for o in ours], other_task
        ),
        "popularity HR@10": summarise(
            [split.hit_rate(np.tile(split.seen.sum(0).astype(float), (n_users, 1)))], other_task
        ),
        f"random {RANDOM_DIM}-d vectors, genre agreement@10": summarise(
            [split.genre_agreement(np.random.default_rng(0).standard_normal((n_items, RANDOM_DIM)))],
            other_task,
        ),
    }

    # -- latency and the retrieval probe of the first seed's models
    latencies, probe = {}, {}
    rated = np.flatnonzero(split.seen.any(0))
    for run in runs[: len(PROFILES)]:
        predictor = Predictor.load(Path(run["model"]))
        latencies[run["profile"]] = latency(predictor, (789, 286))
        probe[run["profile"]] = nearest_titles(
            movie_embeddings(predictor, n_items), rated, split.titles, "cosine"
        )
    probe[embeddings.name] = nearest_titles(embeddings.item_vectors, rated, split.titles, "cosine")

    workshop = [] if args.skip_workshop else workshop_rows(args.channels, args.models, args.threads, seeds[0])
    for row in workshop:
        if "run" in row:
            runs.append(row.pop("run"))
            predictor = Predictor.load(Path(runs[-1]["model"]))
            latencies[runs[-1]["profile"]] = latency(predictor, (789, 286))
    cost = None if args.skip_cost else measure_cost(args.threads)

    results = {
        "machine": machine_info(args.threads),
        "seeds": seeds,
        "goals": {t.name: t.goal for t in TASKS},
        "tasks": tasks,
        "other": other,
        "peer_seconds": peer_seconds,
        "workshop": workshop,
        "latency": latencies,
        "probe": probe,
        "retrieval_movies": len(split.popular),
        "pure_svd_ranks": ranks,
        "cost": cost,
        "runs": runs,
    }
    report = markdown(results)
    json_path, md_path = write_report("model", results, report)
    png_path = md_path.with_suffix(".png")
    write_plot(results, png_path)
    print(report)
    print(f"wrote {json_path}, {md_path} and {png_path}")


if __name__ == "__main__":
    main()
