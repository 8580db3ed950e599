"""The quality gate: may a newly registered model package be approved without a human?

Only when it beats, on its task's held-out metric (RMSE for rating, accuracy for recommendation, HR@10
with full ranking for top-N) and on the same test set, both the package currently approved in its group
and every baseline measured on that test set. Anything else (worse, equal, measured elsewhere, nothing to
compare against) leaves it PendingManualApproval with a one-line reason, and the endpoint keeps serving
the approved package. Pure: numbers in, a decision out; the caller reads and writes the registry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from jobs.evaluation import HELD_OUT, HeldOutMetric

APPROVED = "Approved"
PENDING = "PendingManualApproval"


@dataclass(frozen=True)
class Evaluation:
    """One model's held-out figure, the test set it was measured on (the test channel's SHA-256, so two
    figures are comparable exactly when the bytes they were measured on are the same) and its name
    ("version 3", "per-user mean")."""

    value: float
    test_set: str
    label: str


@dataclass(frozen=True)
class GateDecision:
    status: str  # APPROVED or PENDING: a ModelApprovalStatus
    reason: str  # one line, for `make train` and the package's ApprovalDescription
    metric: HeldOutMetric

    @property
    def approved(self) -> bool:
        return self.status == APPROVED


def decide(
    task: str,
    candidate: Evaluation,
    *,
    approved: Evaluation | None,
    baselines: Sequence[Evaluation],
) -> GateDecision:
    """Approve `candidate` only if it beats `approved` (when there is one) and every baseline."""
    metric = HELD_OUT[task]
    shown = f"{metric.name} {candidate.value:.4f}"

    def pending(why: str) -> GateDecision:
        return GateDecision(PENDING, f"{shown}: {why}; approve it by hand if it should serve", metric)

    if math.isnan(candidate.value):
        return GateDecision(PENDING, f"{metric.name} is not a number: the evaluation failed", metric)
    if not baselines:
        return pending("no baseline was measured on its test set")
    elsewhere = [b.label for b in baselines if b.test_set != candidate.test_set]
    if elsewhere:
        return pending(f"baseline(s) {', '.join(elsewhere)} were measured on another test set")
    if approved is not None and approved.test_set != candidate.test_set:
        return pending(
            f"the approved {approved.label} was measured on another test set "
            f"({approved.test_set[:8]}, this one {candidate.test_set[:8]})"
        )
    beaten_by = [b for b in baselines if not metric.better(candidate.value, b.value)]
    if beaten_by:
        best = max(beaten_by, key=lambda b: _rank(metric, b.value))
        return pending(f"does not beat the baseline {best.label} ({best.value:.4f})")
    if approved is not None and not metric.better(candidate.value, approved.value):
        return pending(f"does not beat the approved {approved.label} ({approved.value:.4f})")
    strongest = max(baselines, key=lambda b: _rank(metric, b.value))
    against = f"the approved {approved.label} ({approved.value:.4f}) and " if approved else ""
    return GateDecision(
        APPROVED,
        f"{shown} beats {against}every baseline (best: {strongest.label} {strongest.value:.4f}) "
        f"on test set {candidate.test_set[:8]}",
        metric,
    )


def _rank(metric: HeldOutMetric, value: float) -> float:
    """A key that grows with quality, whichever direction the metric goes."""
    return value if metric.higher_is_better else -value
