"""Ingestion benchmark: parse + validate a synthetic 25 M-row MovieLens `ratings.csv`.

The file imitates ml-25m (162,541 users, each with at least 20 ratings and a long-tailed activity;
59,047 rated movies with ids up to 209,171 and Zipf-like popularity; half-star ratings with
ml-25m's skew; 1995-2019 timestamps). It is generated vectorised and cached under
`.work/bench/` (git-ignored), so reruns start measuring at once. Like real MovieLens it holds one
rating per (user, movie) pair: ingestion refuses repeats.

Generation and every measurement run in fresh Python processes started by a small parent, so
`ru_maxrss` (peak resident memory) belongs to the measured work, not to the generator. (Linux
carries a parent's RSS at fork time into the child's `ru_maxrss` across exec, which is why the
parent itself never generates; `/proc/self/status` VmHWM, which exec resets, is recorded as a
cross-check.) Results go to `benchmarks/results/ingest.json` and `ingest.md`.

    python -m benchmarks.bench_ingest                 # 25 M rows, 3 repeats, plus channel writing
    python -m benchmarks.bench_ingest --rows 1000000 --repeats 1 --no-channels
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import describe, machine, write_report
from common.atomic import atomic_writer, write_json_atomic
from jobs.movielens import repo_root

ROOT = repo_root()
BENCH_DIR = ROOT / ".work" / "bench"
GENERATOR_VERSION = 2  # 2: no repeated (user, movie) pairs

USERS = 162_541  # ml-25m's user count
RATED_MOVIES = 59_047  # ml-25m's rated-movie count
MAX_MOVIE_ID = 209_171  # ml-25m's largest movie id
FIRST_TS, LAST_TS = 789_652_009, 1_574_327_703  # ml-25m's timestamp range
# Share of each half-star rating 0.5, 1.0, …, 5.0, close to ml-25m's histogram.
RATING_SHARES = np.array([1.6, 3.1, 1.6, 6.6, 5.0, 19.6, 12.6, 26.6, 8.5, 14.8])
CHUNK = 2_000_000


# ---------------------------------------------------------------- synthetic data (cached)


def dataset_folder(rows: int) -> Path:
    return BENCH_DIR / f"csv-{rows}"


def cache_stamp(rows: int, seed: int) -> dict[str, int]:
    """What generated.json records, so a cached file made by other settings or code is not reused."""
    return {"rows": rows, "seed": seed, "version": GENERATOR_VERSION}


def is_cached(folder: Path, rows: int, seed: int = 0) -> bool:
    stamp = folder / "generated.json"
    return (
        stamp.is_file()
        and json.loads(stamp.read_text()) == cache_stamp(rows, seed)
        and (folder / "ratings.csv").is_file()
    )


def generate_dataset(folder: Path, rows: int, seed: int = 0) -> dict[str, Any]:
    """Write the synthetic release folder for `rows` ratings (run in a child process)."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    movie_ids = np.sort(rng.choice(np.arange(1, MAX_MOVIE_ID + 1), RATED_MOVIES, replace=False)).astype(
        np.int32
    )
    write_ratings(folder / "ratings.csv", rows, movie_ids, rng)
    write_movies(folder / "movies.csv", movie_ids)
    write_json_atomic(folder / "generated.json", cache_stamp(rows, seed))
    return {"seconds": time.perf_counter() - started}


def user_counts(rows: int, rng: np.random.Generator) -> np.ndarray:
    """Ratings per user: at least 20 each (MovieLens' rule), long-tailed, summing to `rows`."""
    users = min(USERS, rows // 20)
    weights = rng.lognormal(mean=0.0, sigma=1.2, size=users)
    extra = np.floor(weights / weights.sum() * (rows - 20 * users)).astype(np.int64)
    extra[: rows - 20 * users - int(extra.sum())] += 1  # hand out the rounding remainder
    return 20 + extra


def write_ratings(path: Path, rows: int, movie_ids: np.ndarray, rng: np.random.Generator) -> None:
    """`userId,movieId,rating,timestamp`, sorted by user like ml-25m, written chunk by chunk."""
    counts = user_counts(rows, rng)
    users = np.repeat(np.arange(1, counts.size + 1, dtype=np.int32), counts)
    movies = distinct_movies(users, rng.permutation(movie_ids), rng)
    shares = RATING_SHARES / RATING_SHARES.sum()
    with atomic_writer(path) as sink:
        sink.write(b"userId,movieId,rating,timestamp\n")
        for start in range(0, rows, CHUNK):
            size = min(CHUNK, rows - start)
            movie = movies[start : start + size]
            rating = (rng.choice(10, size=size, p=shares) + 1) / 2
            stamp = rng.integers(FIRST_TS, LAST_TS, size=size)
            sink.write(csv_lines(users[start : start + size], movie, rating, stamp))


def distinct_movies(users: np.ndarray, by_rank: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A movie per row, Zipf-like by popularity rank, never twice for one user.

    Why redraw rounds: drawing whole columns keeps generation vectorised; the repeats (about 14 % at
    first, heavy users meet blockbusters again) are redrawn until none is left, uniformly after a few
    rounds so that a user who has seen most blockbusters still finds a movie quickly.
    """
    popularity = 1.0 / (np.arange(by_rank.size) + 10.0)  # a few blockbusters, a long tail
    popularity /= popularity.sum()
    ranks = rng.choice(by_rank.size, size=users.size, p=popularity)
    for round_ in range(100):
        keys = (users.astype(np.int64) << 32) | ranks
        order = np.argsort(keys, kind="stable")
        repeats = order[1:][keys[order[1:]] == keys[order[:-1]]]
        if repeats.size == 0:
            return by_rank[ranks]
        if round_ < 3:
            ranks[repeats] = rng.choice(by_rank.size, size=repeats.size, p=popularity)
        else:
            ranks[repeats] = rng.integers(0, by_rank.size, size=repeats.size)
    raise RuntimeError("could not draw distinct movies per user in 100 rounds")


def csv_lines(user: np.ndarray, movie: np.ndarray, rating: np.ndarray, stamp: np.ndarray) -> bytes:
    """Fixed-width byte fields padded with NUL, then the NULs dropped: CSV text without Python rows."""
    record = np.empty(
        user.size,
        dtype=[
            ("u", "S6"),
            ("c1", "S1"),
            ("m", "S6"),
            ("c2", "S1"),
            ("r", "S3"),
            ("c3", "S1"),
            ("t", "S10"),
            ("n", "S1"),
        ],
    )
    record["u"], record["m"], record["r"], record["t"] = user, movie, rating, stamp
    record["c1"] = record["c2"] = record["c3"] = b","
    record["n"] = b"\n"
    return record.tobytes().replace(b"\x00", b"")


def write_movies(path: Path, movie_ids: np.ndarray) -> None:
    genres = ("Action", "Comedy", "Drama", "Thriller", "Romance", "Documentary")
    lines = ["movieId,title,genres"]
    for index, movie in enumerate(movie_ids.tolist()):
        title = f'"Synthetic Film {movie}, Part {index % 3 + 1} ({1950 + index % 70})"'
        lines.append(f"{movie},{title},{genres[index % 6]}|{genres[(index + 2) % 6]}")
    with atomic_writer(path) as sink:
        sink.write(("\n".join(lines) + "\n").encode())


# ---------------------------------------------------------------- measurements (child processes)


def child_ingest(folder: Path) -> dict[str, Any]:
    """Parse + validate ratings.csv; also the SHA-256 the manifest records."""
    from jobs.movielens import LAYOUTS, parse_ratings
    from jobs.movielens.checksums import sha256_file

    baseline_mb = peak_memory_mb()
    started = time.perf_counter()
    ratings = parse_ratings(folder / "ratings.csv", LAYOUTS["csv"])
    seconds = time.perf_counter() - started
    peak_mb = peak_memory_mb()
    started = time.perf_counter()
    sha256_file(folder / "ratings.csv")
    return {
        "rows": len(ratings),
        "seconds": seconds,
        "peak_rss_mb": peak_mb["ru_maxrss"],
        "peak_vmhwm_mb": peak_mb["vmhwm"],
        "baseline_rss_mb": baseline_mb["ru_maxrss"],
        "sha256_seconds": time.perf_counter() - started,
    }


def peak_memory_mb() -> dict[str, float]:
    """Peak resident memory so far: `ru_maxrss` and, on Linux, VmHWM (both in MB)."""
    status = Path("/proc/self/status")
    hwm = [line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM:")]
    return {
        "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "vmhwm": int(hwm[0]) / 1024 if hwm else float("nan"),
    }


def child_channels(folder: Path) -> dict[str, Any]:
    """Load the release, then write the holdout channels of one task (rating)."""
    from jobs.channels import PrepareConfig, write_channels
    from jobs.movielens import SourceSettings, load_movielens

    out = BENCH_DIR / "channels"
    started = time.perf_counter()
    data = load_movielens("ml-25m", folder, SourceSettings(cache_dir=BENCH_DIR / "cache", repo_root=None))
    loaded = time.perf_counter()
    result = write_channels(
        data, PrepareConfig(dataset="ml-25m", tasks=("rating",), protocols=("holdout",), out_dir=out)
    )
    finished = time.perf_counter()
    manifest = result.manifests[0]
    written = sum(channel.rows for channel in manifest.channels.values())
    size = sum(manifest.channel_path(name).stat().st_size for name in manifest.channels)
    shutil.rmtree(out)  # ~1 GB of text we only wanted to time
    peak_mb = peak_memory_mb()
    return {
        "rows": written,
        "load_seconds": loaded - started,
        "write_seconds": finished - loaded,
        "bytes": size,
        "channels": {name: channel.rows for name, channel in manifest.channels.items()},
        "peak_rss_mb": peak_mb["ru_maxrss"],
        "peak_vmhwm_mb": peak_mb["vmhwm"],
    }


def run_child(mode: str, folder: Path, rows: int = 0) -> dict[str, Any]:
    """Run one step in a fresh interpreter and return its JSON result."""
    command = [sys.executable, "-m", __spec__.name, "--rows", str(rows), "--child", mode, str(folder)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [run["seconds"] for run in runs]
    best = min(seconds)
    return {
        "runs": runs,
        "best_seconds": round(best, 3),
        "median_seconds": round(statistics.median(seconds), 3),
        "rows_per_second_best": round(runs[0]["rows"] / best),
        "peak_rss_mb_max": round(max(run["peak_rss_mb"] for run in runs), 1),
        "peak_vmhwm_mb_max": round(max(run["peak_vmhwm_mb"] for run in runs), 1),
        "baseline_rss_mb": round(runs[0]["baseline_rss_mb"], 1),
        "sha256_seconds": round(min(run["sha256_seconds"] for run in runs), 3),
    }


def markdown(report: dict[str, Any]) -> str:
    m, ingest = report["machine"], report["ingest"]
    rows = report["rows"]
    lines = [
        "# Ingestion benchmark",
        "",
        f"Synthetic ml-25m-like `ratings.csv`: {rows:,} rows, {report['file_mb']:.0f} MB. "
        f"Measured {report['date']} (the machine line below gives the load average at the start).",
        "",
        "| step | wall time | rows/s | peak RSS |",
        "|---|---|---|---|",
        f"| parse + validate `ratings.csv` (best of {len(ingest['runs'])}; "
        f"median {ingest['median_seconds']:.2f} s) | {ingest['best_seconds']:.2f} s "
        f"| {ingest['rows_per_second_best'] / 1e6:.1f} M "
        f"| {ingest['peak_rss_mb_max']:.0f} MB (interpreter + imports: {ingest['baseline_rss_mb']:.0f} MB) |",
        f"| SHA-256 of `ratings.csv` (for the manifest) | {ingest['sha256_seconds']:.2f} s | | |",
    ]
    if channels := report.get("channels"):
        lines.append(
            f"| load release + write `rating` holdout channels ({channels['rows']:,} rows, "
            f"{channels['bytes'] / 1e9:.2f} GB) "
            f"| {channels['load_seconds']:.2f} s + {channels['write_seconds']:.2f} s "
            f"| {channels['rows'] / channels['write_seconds'] / 1e6:.1f} M (writing) "
            f"| {channels['peak_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        describe(m),
        "",
        "Each step ran in a fresh process; peak RSS is that process's `ru_maxrss`. Reproduce with "
        "`make bench-ingest` (the synthetic file is cached under `.work/bench/`).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=25_000_000, help="ratings in the synthetic file")
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process ingestion runs")
    parser.add_argument("--no-channels", action="store_true", help="skip timing the channel writing")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, folder = args.child
        steps = {"ingest": child_ingest, "channels": child_channels}
        result = (
            generate_dataset(Path(folder), args.rows) if mode == "generate" else steps[mode](Path(folder))
        )
        print(json.dumps(result))
        return
    report: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": machine(), "rows": args.rows}
    folder = dataset_folder(args.rows)
    if is_cached(folder, args.rows):
        print(f"using cached {folder / 'ratings.csv'}")
    else:
        generated = run_child("generate", folder, args.rows)
        print(f"generated {args.rows:,} ratings in {generated['seconds']:.1f} s -> {folder}")
    report["file_mb"] = (folder / "ratings.csv").stat().st_size / 1e6
    report["ingest"] = summarise([run_child("ingest", folder) for _ in range(args.repeats)])
    print(f"ingest: best {report['ingest']['best_seconds']} s, peak {report['ingest']['peak_rss_mb_max']} MB")
    if not args.no_channels:
        report["channels"] = run_child("channels", folder)
        channels = report["channels"]
        print(f"channels: write {channels['write_seconds']:.2f} s, peak {channels['peak_rss_mb']:.0f} MB")
    json_path, md_path = write_report("ingest", report, markdown(report))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
