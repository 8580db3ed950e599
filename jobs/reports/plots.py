"""The report's figures, each rendered to PNG bytes with matplotlib's object API (no pyplot: no global
state, safe in any thread, no display needed)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from jobs.evaluation import HeldOutMetric
from jobs.reports.metric_lines import LearningCurves
from jobs.reports.movie_map import MovieMap

CANDIDATE, APPROVED, BASELINE, REFERENCE = "#1f77b4", "#2ca02c", "#9e9e9e", "#d9a441"
CHANNEL_COLOURS = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"}
MAX_GENRES = 9  # colours for the most common primary genres; the rest are "other"


def to_png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def learning_curves_png(curves: LearningCurves) -> bytes:
    """One panel per metric: every channel's value per epoch, the final test figure as a dashed line."""
    metrics = sorted(curves.per_epoch)
    figure = Figure(figsize=(5.2 * len(metrics), 3.6))
    for index, metric in enumerate(metrics):
        axes = figure.add_subplot(1, len(metrics), index + 1)
        for channel, points in sorted(curves.per_epoch[metric].items()):
            epochs, values = zip(*points, strict=True)
            axes.plot(
                epochs, values, marker="o", markersize=3, label=channel, color=CHANNEL_COLOURS.get(channel)
            )
        for channel, value in sorted(curves.final.get(metric, {}).items()):
            axes.axhline(value, linestyle="--", linewidth=1, color=CHANNEL_COLOURS.get(channel, "black"))
            axes.annotate(
                f"{channel} (kept model) {value:.4f}",
                (0.01, value),
                xycoords=("axes fraction", "data"),
                fontsize=8,
                va="bottom",
            )
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(metric)
        axes.set_title(metric.replace("_", " "))
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    return to_png(figure)


def held_out_png(
    metric: HeldOutMetric,
    candidate: tuple[str, float],
    approved: tuple[str, float] | None,
    baselines: Mapping[str, float],
    references: Mapping[str, float],
) -> bytes:
    """Horizontal bars, best at the top: the candidate, the approved package, the baselines measured on
    the same test set and the reference figures (hatched: measured elsewhere, not re-run)."""
    rows = [(candidate[0], candidate[1], CANDIDATE, "")]
    if approved is not None:
        rows.append((approved[0], approved[1], APPROVED, ""))
    rows += [(name, value, BASELINE, "") for name, value in baselines.items()]
    rows += [(name, value, REFERENCE, "//") for name, value in references.items()]
    rows.sort(key=lambda r: r[1], reverse=not metric.higher_is_better)  # best last = drawn at the top
    figure = Figure(figsize=(7.5, 0.45 * len(rows) + 1.2))
    axes = figure.add_subplot()
    positions = range(len(rows))
    bars = axes.barh(positions, [r[1] for r in rows], color=[r[2] for r in rows])
    for position, (_, value, _, hatch) in zip(positions, rows, strict=True):
        if hatch:
            bars[position].set_hatch(hatch)
        axes.annotate(
            f"{value:.4f}",
            (value, position),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.set_yticks(list(positions), [r[0] for r in rows], fontsize=9)
    low = min(r[1] for r in rows)
    high = max(r[1] for r in rows)
    axes.set_xlim(max(0.0, low - 0.15 * (high - low + 1e-9) - 0.02), high + 0.12 * (high - low + 1e-9) + 0.02)
    better = "higher" if metric.higher_is_better else "lower"
    axes.set_xlabel(f"{metric.name} on the test set ({better} is better)")
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return to_png(figure)


def hit_rate_png(curves: Mapping[str, Mapping[int, float]], candidate: str, approved: str | None) -> bytes:
    """HR@k against k for the candidate (thick), the approved package and the baselines."""
    figure = Figure(figsize=(6.5, 3.8))
    axes = figure.add_subplot()
    others = iter(("#ff7f0e", "#9e9e9e", "#9467bd", "#8c564b"))
    for name, curve in curves.items():
        ks = sorted(curve)
        colour = CANDIDATE if name == candidate else APPROVED if name == approved else next(others, None)
        axes.plot(
            ks,
            [curve[k] for k in ks],
            marker="o",
            markersize=3,
            label=name,
            color=colour,
            linewidth=2.5 if name == candidate else 1.2,
        )
    axes.axvline(10, color="black", linewidth=0.8, linestyle=":")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("k (full ranking of every movie the user has not rated)")
    axes.set_ylabel("HR@k")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return to_png(figure)


def movie_map_png(movies: MovieMap, titles: Mapping[int, str], genres: Mapping[int, Sequence[str]]) -> bytes:
    """The PCA map, one dot per movie coloured by its first genre, the probe films labelled."""
    primary = [next(iter(genres.get(int(m), ())), "unknown") for m in movies.movie_ids]
    common = [g for g, _ in Counter(primary).most_common(MAX_GENRES)]
    palette = dict(
        zip(
            common,
            (
                "#1f77b4",
                "#ff7f0e",
                "#2ca02c",
                "#d62728",
                "#9467bd",
                "#8c564b",
                "#e377c2",
                "#bcbd22",
                "#17becf",
            ),
            strict=False,
        )
    )
    figure = Figure(figsize=(8, 6.2))
    axes = figure.add_subplot()
    for genre in [*common, "other"]:
        rows = [i for i, g in enumerate(primary) if (g if g in palette else "other") == genre]
        if rows:
            axes.scatter(
                movies.xy[rows, 0],
                movies.xy[rows, 1],
                s=9,
                alpha=0.7,
                label=genre,
                color=palette.get(genre, "#c7c7c7"),
            )
    index = {int(m): i for i, m in enumerate(movies.movie_ids)}
    for number, probe in enumerate(movies.neighbours):
        x, y = movies.xy[index[probe]]
        axes.scatter([x], [y], s=60, facecolors="none", edgecolors="black", linewidths=1.2)
        axes.annotate(
            titles.get(probe, str(probe)),
            (x, y),
            xytext=(6, 6 if number % 2 == 0 else -14),  # alternate sides: close films stay legible
            textcoords="offset points",
            fontsize=9,
            weight="bold",
        )
    axes.set_xlabel(f"first principal component ({movies.explained[0]:.0%} of the variance)")
    axes.set_ylabel(f"second principal component ({movies.explained[1]:.0%})")
    axes.legend(
        fontsize=8,
        markerscale=2,
        title="first genre",
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
    )
    axes.grid(alpha=0.2)
    figure.tight_layout()
    return to_png(figure)
