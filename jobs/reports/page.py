"""The evaluation page of one trained model: a single HTML file with its plots embedded (base64 PNG), so
it opens anywhere (a browser, an S3 console preview) with nothing beside it.

It shows the learning curves from the job's metric lines, the held-out metric against the baselines and
reference figures, HR@k for top-N, the map of movie embeddings with the nearest neighbours of well-known
films, the gate's decision and the comparison with the approved package. Every input is plain data, so
the train lifecycle (or anything else) can build one; every text is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from common.atomic import atomic_writer
from jobs.evaluation import HELD_OUT, REFERENCE_FIGURES, ReferenceFigure
from jobs.reports import plots
from jobs.reports.metric_lines import LearningCurves
from jobs.reports.movie_map import movie_map, well_known_ids


@dataclass(frozen=True)
class PackageFigures:
    """A model package as the report compares it: its name, held-out figure and other metrics."""

    label: str  # "ratingModel version 3"
    held_out: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    hit_rate: Mapping[int, float] | None = None  # HR@k per k, top-N models only


@dataclass(frozen=True)
class MovieEmbeddings:
    movie_ids: np.ndarray  # (n,): the movies to map (e.g. those with at least 20 training ratings)
    vectors: np.ndarray  # (n, d): their `in1` embeddings, as the endpoint answers them
    titles: Mapping[int, str]
    genres: Mapping[int, Sequence[str]]


@dataclass(frozen=True)
class ReportData:
    endpoint: str
    task: str  # rating | recommendation | implicit
    dataset: str
    protocol: str
    training_job: str
    test_set: str  # SHA-256 of the test channel every figure was measured on
    candidate: PackageFigures
    curves: LearningCurves
    baselines: Mapping[str, float]  # on the same test set
    approved: PackageFigures | None = None
    decision: tuple[str, str] | None = None  # (ModelApprovalStatus, reason) from the quality gate
    baseline_hit_rates: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    embeddings: MovieEmbeddings | None = None
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    selected_by: str | None = None  # a refit's: the job whose validation channel chose its epochs
    references: Sequence[ReferenceFigure] = REFERENCE_FIGURES


COMPARISON = "Against the approved package"
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.meta { color: #555; } table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.92rem; }
td, th { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.decision { padding: 0.7rem 1rem; border-radius: 6px; margin: 1rem 0; }
.Approved { background: #e6f4ea; border: 1px solid #2ca02c; }
.PendingManualApproval, .Rejected { background: #fff4e5; border: 1px solid #d9a441; }
figure { margin: 0.8rem 0; } img { max-width: 100%; } figcaption { color: #555; font-size: 0.9rem; }
"""


def render_html(data: ReportData, *, generated: datetime | None = None) -> str:
    """The whole page as one string."""
    metric = HELD_OUT[data.task]
    stamp = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        f"<h1>{_e(data.endpoint)}: {_e(data.candidate.label)}</h1>",
        f'<p class="meta">training job {_e(data.training_job)}{_refit_note(data)} · {_e(data.dataset)}, '
        f"{_e(data.protocol)} protocol · test set {_e(data.test_set[:12])} · generated {stamp}</p>",
        _decision(data),
        _held_out_section(data),
    ]
    if data.task == "implicit" and data.candidate.hit_rate:
        sections.append(_hit_rate_section(data))
    sections.append(_curves_section(data.curves))
    if data.embeddings is not None:
        sections.append(_movie_section(data.embeddings))
    sections.append(_comparison_section(data))
    if data.hyperparameters:
        rows = "".join(
            f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in sorted(data.hyperparameters.items())
        )
        count = len(data.hyperparameters)
        sections.append(
            f"<h2>Hyperparameters</h2><details><summary>all {count}, as the training job received them"
            f"</summary><table>{rows}</table></details>"
        )
    title = f"{data.endpoint} {data.candidate.label}: {metric.name} {data.candidate.held_out:.4f}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n"
    )


def write_report(path: Path, data: ReportData) -> Path:
    """Render and write the page atomically (a reader never sees half of it); returns `path`."""
    page = render_html(data).encode("utf-8")
    with atomic_writer(path) as handle:
        handle.write(page)
    return path


# -- sections ------------------------------------------------------------------------------------------------


def _refit_note(data: ReportData) -> str:
    if data.selected_by is None:
        return ""
    chooser = _e(data.selected_by)
    return f" (trained on train + validation for the epochs {chooser} chose; the curves are {chooser}'s)"


def _decision(data: ReportData) -> str:
    if data.decision is None:
        return ""
    status, reason = data.decision
    return f'<div class="decision {_e(status)}"><strong>{_e(status)}</strong>: {_e(reason)}</div>'


def _held_out_section(data: ReportData) -> str:
    metric = HELD_OUT[data.task]
    split = f"{data.dataset} {data.protocol}"
    references = {
        f"{r.model} (reference: {r.source})": r.value
        for r in data.references
        if r.task == data.task and r.split == split
    }
    approved = (data.approved.label, data.approved.held_out) if data.approved else None
    png = plots.held_out_png(
        metric, (data.candidate.label, data.candidate.held_out), approved, data.baselines, references
    )
    caption = (
        f"{metric.name} of this model, the approved one and the baselines, all on the same test set "
        f"({data.test_set[:12]})."
    )
    if references:
        caption += (
            " Hatched: the strongest classical methods on this split, measured separately (not re-run)."
        )
    return f"<h2>Held-out {_e(metric.name)}</h2>" + _figure(
        png, f"{metric.name} against the baselines", caption
    )


def _hit_rate_section(data: ReportData) -> str:
    curves = {data.candidate.label: data.candidate.hit_rate or {}}
    if data.approved and data.approved.hit_rate:
        curves[data.approved.label] = data.approved.hit_rate
    curves.update(data.baseline_hit_rates)
    approved = data.approved.label if data.approved else None
    png = plots.hit_rate_png(curves, data.candidate.label, approved)
    caption = "Share of users with a test movie they rated 4 or 5 among their k best-ranked unrated movies."
    return "<h2>Top-N: HR@k</h2>" + _figure(png, "HR at k curve", caption)


def _curves_section(curves: LearningCurves) -> str:
    if curves.empty:
        return "<h2>Learning curves</h2><p>The job reported no per-epoch metric lines.</p>"
    png = plots.learning_curves_png(curves)
    caption = "Per epoch, from the job's #quality_metric lines (on AWS, its CloudWatch log stream)."
    return "<h2>Learning curves</h2>" + _figure(png, "learning curves", caption)


def _movie_section(embeddings: MovieEmbeddings) -> str:
    probes = well_known_ids(embeddings.titles, [int(m) for m in embeddings.movie_ids])
    movies = movie_map(embeddings.movie_ids, embeddings.vectors, probes)
    png = plots.movie_map_png(movies, embeddings.titles, embeddings.genres)
    caption = (
        f"{len(movies.movie_ids)} movies' embeddings on their two principal components, coloured by "
        "first genre; the circled films are listed below with their nearest movies (cosine)."
    )
    title = lambda m: _e(embeddings.titles.get(m, str(m)))  # noqa: E731
    rows = "".join(
        f"<tr><td>{title(probe)}</td><td>{'; '.join(title(n) for n in nearest)}</td></tr>"
        for probe, nearest in movies.neighbours.items()
    )
    table = f"<table><tr><th>movie</th><th>nearest movies</th></tr>{rows}</table>" if rows else ""
    return "<h2>Movie embeddings</h2>" + _figure(png, "map of movie embeddings", caption) + table


def _comparison_section(data: ReportData) -> str:
    metric = HELD_OUT[data.task]
    if data.approved is None:
        return f"<h2>{COMPARISON}</h2><p>No package of this group was approved before this one.</p>"
    candidate = {f"{metric.name} (held out)": data.candidate.held_out, **data.candidate.metrics}
    approved = {f"{metric.name} (held out)": data.approved.held_out, **data.approved.metrics}
    rows = []
    for name in [k for k in candidate if k in approved]:
        delta = candidate[name] - approved[name]
        rows.append(
            f'<tr><td>{_e(name)}</td><td class="num">{candidate[name]:.4f}</td>'
            f'<td class="num">{approved[name]:.4f}</td><td class="num">{delta:+.4f}</td></tr>'
        )
    labels = f"<th>{_e(data.candidate.label)}</th><th>{_e(data.approved.label)}</th>"
    header = f"<tr><th>metric</th>{labels}<th>change</th></tr>"
    return f"<h2>{COMPARISON}</h2><table>{header}{''.join(rows)}</table>"


def _figure(png: bytes, alt: str, caption: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
