"""Benchmark Object2Vec on MovieLens 100k against baselines, in one run.

    python -m benchmarks.bench_model [--skip-workshop] [--threads 2] [--channels .work/channels]

Protocols (channels written by `o2v data prepare`, made here if missing):
- holdout: train = ua.base minus 5 seeded ratings per user, validation = those (early stopping only), test =
  ua.test (never seen during training or model selection).
- workshop: the notebook's split, train = ua.base, validation = ua.test (early stopping AND the reported
  figure).

Figures: rating RMSE on ua.test, recommendation accuracy on ua.test (label rating > 3), implicit HR@10 on
ua.test with full ranking (every movie not in the user's ua.base is a candidate; relevant = ua.test movies
rated 4 or 5; users without one are skipped; ties broken at random with seed 0), and the workshop profiles'
validation figures. Baselines run on the same data: global mean, per-user mean, majority class, popularity,
Surprise SVD (defaults, seed 0; predictions clipped to 1..5 as Surprise does) and PureSVD-50 (numpy). Results
go to benchmarks/results/model.{json,md,png}.

Retrieval: the movie-retrieval Lambda ranks movies by the distance between their `in1` embeddings, so for
every trained model (and seeded random vectors as the floor) we report genre agreement@10: over the movies
with at least 20 ratings in ua.base, the share of each one's 10 nearest movies (among those same movies,
cosine or euclidean) that share at least one u.item genre with it; and Terminator's (id 195) 5 nearest movies
among every movie rated in ua.base, as the Lambda would answer.
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

from benchmarks.machine import describe, machine, write_report
from jobs.channels import PrepareConfig, default_out_dir, prepare_channels, read_manifest, task_folder
from jobs.local_training import train_profile
from jobs.movielens import load_movielens, repo_root
from object2vec.data import Sequences, parse_jsonlines
from object2vec.serving import Predictor

DATASET = "ml-100k"
RETRIEVAL_MIN_RATINGS = 20  # movies with fewer ratings have embeddings too noisy to judge
RETRIEVAL_K = 10
PROBE_MOVIE = 195  # Terminator, The (1984): the workshop's retrieval example
RANDOM_DIM = 64
TARGETS = {  # the project's quality bar
    "rating_rmse": 0.925,
    "rating_seconds": 60.0,
    "workshop_rating_mse": 0.93,
    "workshop_recommendation_accuracy": 0.69,
    "recommendation_accuracy": 0.704,
    "implicit_hr10": 0.80,
}


# ---- data --------------------------------------------------------------------------------------------------


def ensure_channels(root: Path) -> None:
    if all(
        (task_folder(root, DATASET, p, t) / "manifest.json").is_file()
        for p in ("holdout", "workshop")
        for t in ("rating", "recommendation", "implicit")
    ):
        return
    print(f"channels missing under {root}: writing them (o2v data prepare)", flush=True)
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


# ---- baselines ---------------------------------------------------------------------------------------------


def user_means(u: np.ndarray, r: np.ndarray, n_users: int) -> np.ndarray:
    counts = np.bincount(u, minlength=n_users)
    sums = np.bincount(u, weights=r, minlength=n_users)
    return np.where(counts > 0, sums / np.maximum(counts, 1), r.mean())


def fit_surprise_svd(train: tuple, n_users: int, n_items: int) -> tuple[np.ndarray, float]:
    """Surprise SVD, default parameters, seed 0: unclipped (users, items) estimates and the fit seconds."""
    from surprise import SVD, Dataset, Reader

    u, i, r = train
    folder = repo_root() / ".work" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "svd-train.tsv"
    path.write_text(
        "".join(f"{a}\t{b}\t{c}\n" for a, b, c in zip(u.tolist(), i.tolist(), r.tolist(), strict=True))
    )
    data = Dataset.load_from_file(
        str(path), Reader(line_format="user item rating", sep="\t", rating_scale=(1, 5))
    )
    trainset = data.build_full_trainset()
    start = time.perf_counter()
    algo = SVD(random_state=0).fit(trainset)
    seconds = time.perf_counter() - start
    # Surprise's estimate mu + b_u + b_i + p_u.q_i for every pair at once; unknown ids get 0 for their terms.
    est = np.full((n_users, n_items), trainset.global_mean)
    users = {int(trainset.to_raw_uid(k)): k for k in trainset.all_users()}
    items = {int(trainset.to_raw_iid(k)): k for k in trainset.all_items()}
    bu = np.zeros(n_users)
    pu = np.zeros((n_users, algo.pu.shape[1]))
    bi = np.zeros(n_items)
    qi = np.zeros((n_items, algo.qi.shape[1]))
    for raw, inner in users.items():
        bu[raw], pu[raw] = algo.bu[inner], algo.pu[inner]
    for raw, inner in items.items():
        bi[raw], qi[raw] = algo.bi[inner], algo.qi[inner]
    est += bu[:, None] + bi[None, :] + pu @ qi.T
    return est, seconds


def result_row(task: str, protocol: str, model: str, metric: str, value: float, **extra: object) -> dict:
    return {"task": task, "protocol": protocol, "model": model, "metric": metric, "value": value, **extra}


def explicit_baselines(
    protocol: str,
    metric: str,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    target: tuple[np.ndarray, np.ndarray, np.ndarray],
    svd: tuple[np.ndarray, float],
    n_users: int,
    *,
    per_user_accuracy: bool,
) -> list[dict]:
    """The rating rows (global mean, per-user mean, clipped Surprise SVD, scored by `metric`: RMSE or MSE) and
    the recommendation rows (majority class, optionally per-user mean > 3.5, Surprise SVD > 3.5) of one
    protocol: fitted on `train`, scored on `target`. svd: fit_surprise_svd's (estimates, seconds)."""
    error = rmse if metric == "RMSE" else mse
    users, items, ratings = target
    estimates, seconds = svd
    means = user_means(train[0], train[2], n_users)[users]
    liked = (ratings > 3).astype(float)
    rows = [
        result_row(
            "rating", protocol, "global mean", metric, error(np.full_like(ratings, train[2].mean()), ratings)
        ),
        result_row("rating", protocol, "per-user mean", metric, error(means, ratings)),
        result_row(
            "rating",
            protocol,
            "Surprise SVD",
            metric,
            error(np.clip(estimates[users, items], 1, 5), ratings),
            seconds=seconds,
        ),
        result_row(
            "recommendation",
            protocol,
            "majority class",
            "accuracy",
            float(max(liked.mean(), 1 - liked.mean())),
        ),
    ]
    if per_user_accuracy:
        accuracy = float(((means > 3.5) == (ratings > 3)).mean())
        rows.append(result_row("recommendation", protocol, "per-user mean > 3.5", "accuracy", accuracy))
    accuracy = float(((estimates[users, items] > 3.5) == (ratings > 3)).mean())
    rows.append(result_row("recommendation", protocol, "Surprise SVD > 3.5", "accuracy", accuracy))
    return rows


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


def run_profile(root: Path, profile: str, protocol: str, task: str, out: Path, threads: int) -> dict:
    print(f"training {profile} on {protocol}/{task} with {threads} thread(s) ...", flush=True)
    start = time.perf_counter()
    result = train_profile(
        profile,
        task_folder(root, DATASET, protocol, task),
        out / f"{profile}-{protocol}",
        threads=threads,
        progress=False,
    )
    seconds = time.perf_counter() - start
    print(
        f"  {seconds:.1f} s, {result.epochs_run} epochs (best {result.best_epoch}): {result.metrics}",
        flush=True,
    )
    return {
        "profile": profile,
        "protocol": protocol,
        "task": task,
        "seconds": seconds,
        "threads": threads,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "metrics": result.metrics,
        "history": result.history,
        "model": str(result.model_path),
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


def retrieval_quality(
    embeddings: np.ndarray, rated: np.ndarray, popular: np.ndarray, genres: np.ndarray, titles: dict[int, str]
) -> dict:
    return {
        "genre_agreement_cosine": genre_agreement(embeddings, popular, genres, "cosine"),
        "genre_agreement_euclidean": genre_agreement(embeddings, popular, genres, "euclidean"),
        "probe_cosine": nearest_titles(embeddings, rated, titles, "cosine"),
        "probe_euclidean": nearest_titles(embeddings, rated, titles, "euclidean"),
    }


def movie_genres(n_items: int) -> tuple[np.ndarray, dict[int, str]]:
    """(n_items, genres) bool flags from u.item, and the titles."""
    movies = load_movielens(DATASET).movies.movies
    names = sorted({g for m in movies for g in m.genres})
    flags = np.zeros((n_items, len(names)), bool)
    for m in movies:
        flags[m.movie_id, [names.index(g) for g in m.genres]] = True
    return flags, {m.movie_id: m.title for m in movies}


# ---- the Object2Vec runs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """One Object2Vec profile to train and how it is judged."""

    profile: str
    protocol: str
    task: str
    metric: str
    target: str  # key of TARGETS
    lower_is_better: bool
    verdict: str  # the line in the report, with {target} where TARGETS[target] goes
    strict: bool = False

    def verdict_line(self) -> str:
        return self.verdict.format(target=TARGETS[self.target])


RUNS = (
    RunSpec(
        "rating",
        "holdout",
        "rating",
        "RMSE",
        "rating_rmse",
        True,
        "rating RMSE <= {target:.3f} (holdout, clipped)",
    ),
    RunSpec(
        "recommendation",
        "holdout",
        "recommendation",
        "accuracy",
        "recommendation_accuracy",
        False,
        "recommendation accuracy > {target:.3f} (holdout)",
        strict=True,
    ),
    RunSpec(
        "implicit",
        "holdout",
        "implicit",
        "HR@10",
        "implicit_hr10",
        False,
        "implicit HR@10 >= {target:.2f} (holdout)",
    ),
    RunSpec(
        "workshop-rating",
        "workshop",
        "rating",
        "MSE",
        "workshop_rating_mse",
        True,
        "workshop-rating validation MSE <= {target:.2f}",
    ),
    RunSpec(
        "workshop-recommendation",
        "workshop",
        "recommendation",
        "accuracy",
        "workshop_recommendation_accuracy",
        False,
        "workshop-recommendation validation accuracy >= {target:.2f}",
    ),
)


@dataclass(frozen=True)
class Context:
    """What scoring needs: ua.test as (users, movies, ratings), who saw what, who liked what."""

    test: tuple[np.ndarray, np.ndarray, np.ndarray]
    seen: np.ndarray
    relevant: np.ndarray
    n_users: int
    n_items: int
    threads: int


def score(spec: RunSpec, run: dict, predictor: Predictor, context: Context) -> tuple[float, dict]:
    """The run's figure: RMSE of clipped predictions, HR@10 of a full ranking, or the trainer's metric.
    predictor: the run's model, with 1 thread."""
    if spec.profile == "rating":
        users, movies, ratings = context.test
        raw = predictor.predict(Sequences.single(users), Sequences.single(movies))[:, 0]
        return rmse(np.clip(raw, 1, 5), ratings), {"unclipped": rmse(raw, ratings)}
    if spec.profile == "implicit":
        scoring = Predictor(predictor.model, predictor.hp, threads=context.threads)
        scores = all_pair_scores(scoring, context.n_users, context.n_items)
        return hit_rate_at_10(scores, context.seen, context.relevant), {}
    channel = "test" if spec.protocol == "holdout" else "validation"  # the workshop reports validation
    name = "accuracy" if spec.metric == "accuracy" else "mean_squared_error"
    return run["metrics"][f"{channel}:{name}"], {}


# ---- report ------------------------------------------------------------------------------------------------


def machine_info(threads: int) -> dict:
    """The shared machine description plus what matters here: torch's thread count and the date."""
    return {**machine(), "threads": threads, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def verdict(value: float, target: float, lower_is_better: bool, strict: bool = False) -> str:
    if strict:  # "above the workshop's 0.704": equal is not enough
        met = value < target if lower_is_better else value > target
    else:
        met = value <= target if lower_is_better else value >= target
    gap = value - target
    return "met" if met else f"missed by {abs(gap):.3f}"


def markdown(results: dict) -> str:
    m = results["machine"]
    rows = results["rows"]
    lines = [
        "# Object2Vec on MovieLens 100k",
        "",
        describe(m),
        f"Object2Vec trained with {m['threads']} torch thread(s); run {m['date']}.",
        "",
        "| task | protocol | model | metric | value | target | train (s) | epochs (best) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        seconds = f"{r['seconds']:.1f}" if "seconds" in r else ""
        lines.append(
            f"| {r['task']} | {r['protocol']} | {r['model']} | {r['metric']} | {r['value']:.4f} | "
            f"{r.get('target', '')} | {seconds} | {r.get('epochs', '')} |"
        )
    lines += [
        "",
        "Inference latency inside `Predictor.invoke` (1 thread):",
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
        f"Retrieval quality of the `in1` (movie) embeddings: genre agreement@{RETRIEVAL_K} over the "
        f"{results['retrieval_movies']} movies with >= {RETRIEVAL_MIN_RATINGS} ratings in ua.base, and "
        f"Terminator's (id {PROBE_MOVIE}) 5 nearest movies by cosine:",
        "",
        "| embeddings | genre agreement@10, cosine | euclidean | Terminator's 5 nearest (cosine) |",
        "|---|---|---|---|",
    ]
    for name, r in results["retrieval"].items():
        lines.append(
            f"| {name} | {r['genre_agreement_cosine']:.3f} | {r['genre_agreement_euclidean']:.3f} | "
            f"{'; '.join(r['probe_cosine'])} |"
        )
    lines += ["", "Targets:", ""] + [f"- {k}: {v}" for k, v in results["verdicts"].items()]
    return "\n".join(lines) + "\n"


def write_plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for ax, (task, metric, target, title) in zip(
        axes[:2],
        [
            ("rating", "RMSE", TARGETS["rating_rmse"], "Rating RMSE on ua.test (holdout; lower is better)"),
            (
                "implicit",
                "HR@10",
                TARGETS["implicit_hr10"],
                "HR@10 on ua.test, full ranking (higher is better)",
            ),
        ],
        strict=True,
    ):
        chosen = [
            r for r in rows if r["task"] == task and r["metric"] == metric and r["protocol"] == "holdout"
        ]
        names = [r["model"] for r in chosen]
        values = [r["value"] for r in chosen]
        colors = ["tab:orange" if n.startswith("Object2Vec") else "tab:gray" for n in names]
        ax.barh(names, values, color=colors)
        ax.axvline(target, color="tab:red", linestyle="--", label=f"target {target}")
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:.3f}", va="center", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlim(min(values) * 0.9 if task == "rating" else 0, max(values) * 1.08)
        ax.legend(fontsize=8, loc="lower right")
    ax = axes[2]
    for run in results["runs"]:
        metric = "validation:mean_squared_error" if run["task"] == "rating" else "validation:accuracy"
        if metric in run["history"][0] and run["task"] in ("rating", "recommendation"):
            ax.plot(
                [h["epoch"] for h in run["history"]],
                [h[metric] for h in run["history"]],
                marker="o",
                markersize=3,
                label=f"{run['profile']} ({run['protocol']}): {metric.split(':')[1]}",
            )
    ax.set_xlabel("epoch")
    ax.set_title("Validation metric per epoch", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)


# ---- main --------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=Path, default=default_out_dir(), help="channels root")
    parser.add_argument(
        "--models", type=Path, default=repo_root() / ".work" / "bench" / "models", help="model folder"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads for Object2Vec training")
    parser.add_argument("--skip-workshop", action="store_true", help="skip the slow workshop-* profiles")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ensure_channels(args.channels)

    train = triples(args.channels, "holdout", "train")
    valid = triples(args.channels, "holdout", "validation")
    test = triples(args.channels, "holdout", "test")
    w_train = triples(args.channels, "workshop", "train")
    w_valid = triples(args.channels, "workshop", "validation")
    vocab = read_manifest(task_folder(args.channels, DATASET, "holdout", "rating")).vocab
    n_users, n_items = vocab.enc0_vocab_size, vocab.enc1_vocab_size
    runs: list[dict] = []

    # -- baselines, holdout
    tu, ti, tr = test
    svd_est, svd_seconds = fit_surprise_svd(train, n_users, n_items)
    rows = explicit_baselines(
        "holdout", "RMSE", train, test, (svd_est, svd_seconds), n_users, per_user_accuracy=True
    )
    seen = np.zeros((n_users, n_items), bool)
    seen[train[0], train[1]] = True
    seen[valid[0], valid[1]] = True
    relevant = np.zeros((n_users, n_items), bool)
    relevant[tu[tr >= 4], ti[tr >= 4]] = True
    popularity = seen.sum(0).astype(float)
    genres, titles = movie_genres(n_items)
    rated = np.flatnonzero(seen.any(0))  # ua.base's movies: the ones the retrieval index holds
    popular = np.flatnonzero(seen.sum(0) >= RETRIEVAL_MIN_RATINGS)
    retrieval = {
        f"random N(0, 1) vectors, {RANDOM_DIM}-d": retrieval_quality(
            np.random.default_rng(0).standard_normal((n_items, RANDOM_DIM)), rated, popular, genres, titles
        )
    }
    rows.append(
        result_row(
            "implicit",
            "holdout",
            "popularity",
            "HR@10",
            hit_rate_at_10(np.tile(popularity, (n_users, 1)), seen, relevant),
        )
    )
    rows.append(
        result_row(
            "implicit", "holdout", "Surprise SVD (explicit)", "HR@10", hit_rate_at_10(svd_est, seen, relevant)
        )
    )
    start = time.perf_counter()
    binary = seen.astype(np.float64)
    _, _, vt = np.linalg.svd(binary, full_matrices=False)
    pure = binary @ vt[:50].T @ vt[:50]
    rows.append(
        result_row(
            "implicit",
            "holdout",
            "PureSVD-50",
            "HR@10",
            hit_rate_at_10(pure, seen, relevant),
            seconds=time.perf_counter() - start,
        )
    )
    # -- baselines, workshop (validation = ua.test)
    w_svd = fit_surprise_svd(w_train, n_users, n_items)
    rows += explicit_baselines("workshop", "MSE", w_train, w_valid, w_svd, n_users, per_user_accuracy=False)

    # -- Object2Vec: the tuned profiles on holdout, then the workshop's exact profiles and split
    context = Context(test, seen, relevant, n_users, n_items, args.threads)
    verdicts: dict[str, str] = {}
    latencies: dict[str, dict] = {}
    for spec in RUNS:
        if spec.protocol == "workshop" and args.skip_workshop:
            continue
        run = run_profile(args.channels, spec.profile, spec.protocol, spec.task, args.models, args.threads)
        runs.append(run)
        predictor = Predictor.load(Path(run["model"]))  # once per run: scoring, latency and retrieval
        value, extra = score(spec, run, predictor, context)
        target = TARGETS[spec.target]
        rows.append(
            result_row(
                spec.task,
                spec.protocol,
                f"Object2Vec {spec.profile}",
                spec.metric,
                value,
                target=target,
                seconds=run["seconds"],
                epochs=f"{run['epochs_run']} ({run['best_epoch']})",
                **extra,
            )
        )
        verdicts[spec.verdict_line()] = f"{value:.4f}: " + verdict(
            value, target, spec.lower_is_better, spec.strict
        )
        if spec.profile == "rating":
            seconds = run["seconds"]
            verdicts[f"rating trained in <= {TARGETS['rating_seconds']:g} s"] = (
                f"{seconds:.1f} s: " + verdict(seconds, TARGETS["rating_seconds"], True)
            )
        latencies[spec.profile] = latency(predictor, (789, 286))
        retrieval[spec.profile] = retrieval_quality(
            movie_embeddings(predictor, n_items), rated, popular, genres, titles
        )

    results = {
        "machine": machine_info(args.threads),
        "targets": TARGETS,
        "rows": rows,
        "verdicts": verdicts,
        "latency": latencies,
        "retrieval": retrieval,
        "retrieval_movies": len(popular),
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
