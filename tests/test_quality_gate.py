"""The quality gate's decisions, and the held-out metrics and baselines it is fed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jobs.evaluation import (
    HELD_OUT,
    accuracy,
    best_of,
    hit_rate_curve,
    popularity_scores,
    rating_baselines,
    recommendation_baselines,
    rmse,
)
from jobs.stack.quality_gate import APPROVED, PENDING, Evaluation, decide

TEST_SET = "a" * 64
OTHER_SET = "b" * 64


def rating_baseline_set(test_set: str = TEST_SET) -> list[Evaluation]:
    return [Evaluation(1.12, test_set, "global mean"), Evaluation(1.05, test_set, "per-user mean")]


def test_a_better_model_is_approved_and_says_why():
    decision = decide(
        "rating",
        Evaluation(0.936, TEST_SET, "version 2"),
        approved=Evaluation(0.95, TEST_SET, "version 1"),
        baselines=rating_baseline_set(),
    )
    assert decision.status == APPROVED
    assert decision.approved
    assert decision.reason == (
        "RMSE 0.9360 beats the approved version 1 (0.9500) and every baseline "
        "(best: per-user mean 1.0500) on test set aaaaaaaa"
    )


def test_the_first_model_needs_only_to_beat_the_baselines():
    decision = decide(
        "recommendation",
        Evaluation(0.707, TEST_SET, "version 1"),
        approved=None,
        baselines=[
            Evaluation(0.58, TEST_SET, "majority class"),
            Evaluation(0.636, TEST_SET, "per-user mean"),
        ],
    )
    assert decision.status == APPROVED
    assert decision.reason.startswith("accuracy 0.7070 beats every baseline (best: per-user mean 0.6360)")


@pytest.mark.parametrize(
    ("task", "value", "approved", "reason"),
    [
        ("rating", 0.96, 0.95, "does not beat the approved version 1 (0.9500)"),
        ("rating", 0.95, 0.95, "does not beat the approved version 1 (0.9500)"),  # a tie is not a win
        ("rating", 1.08, None, "does not beat the baseline per-user mean (1.0500)"),
        ("rating", 1.2, None, "does not beat the baseline per-user mean (1.0500)"),  # names the best one
        ("implicit", 0.70, 0.81, "does not beat the approved version 1 (0.8100)"),
    ],
)
def test_a_model_that_does_not_win_stays_pending(task, value, approved, reason):
    baselines = rating_baseline_set() if task == "rating" else [Evaluation(0.577, TEST_SET, "popularity")]
    decision = decide(
        task,
        Evaluation(value, TEST_SET, "version 2"),
        approved=Evaluation(approved, TEST_SET, "version 1") if approved is not None else None,
        baselines=baselines,
    )
    assert decision.status == PENDING
    assert not decision.approved
    assert decision.reason == (
        f"{HELD_OUT[task].name} {value:.4f}: {reason}; approve it by hand if it should serve"
    )


def test_figures_from_another_test_set_are_never_compared():
    candidate = Evaluation(0.90, TEST_SET, "version 2")
    other_approved = decide(
        "rating",
        candidate,
        approved=Evaluation(0.95, OTHER_SET, "version 1"),
        baselines=rating_baseline_set(),
    )
    assert other_approved.status == PENDING
    assert "the approved version 1 was measured on another test set (bbbbbbbb, this one aaaaaaaa)" in (
        other_approved.reason
    )
    other_baselines = decide("rating", candidate, approved=None, baselines=rating_baseline_set(OTHER_SET))
    assert other_baselines.status == PENDING
    assert "global mean, per-user mean were measured on another test set" in other_baselines.reason
    nothing = decide("rating", candidate, approved=None, baselines=[])
    assert nothing.status == PENDING
    assert "no baseline was measured on its test set" in nothing.reason


def test_a_failed_evaluation_is_pending():
    decision = decide(
        "rating", Evaluation(math.nan, TEST_SET, "v"), approved=None, baselines=rating_baseline_set()
    )
    assert decision.status == PENDING
    assert decision.reason == "RMSE is not a number: the evaluation failed"


# -- metrics and baselines ---------------------------------------------------------------------------------


def test_rmse_clips_to_the_rating_scale_and_accuracy_thresholds_at_a_half():
    assert rmse(np.array([6.0, 0.0]), np.array([5.0, 1.0])) == 0.0
    assert rmse(np.array([6.0]), np.array([4.5]), scale=(0.5, 5.0)) == pytest.approx(0.5)
    assert accuracy(np.array([0.9, 0.2, 0.51, 0.5]), np.array([1, 0, 0, 0])) == 0.75  # 0.51 says yes, 0.5 no


def test_hit_rate_curve_ranks_every_unseen_item():
    # 2 users, items 0..4 (0 is not an item). User 1 rated item 4 in training; their test item is 3.
    scores = np.array([[9.0, 1.0, 2.0, 3.0, 4.0], [9.0, 5.0, 4.0, 3.0, 2.0]])
    seen = np.array([[False, False, False, False, True], [False, False, False, False, False]])
    relevant = np.array([[False, False, False, True, False], [False, False, False, False, True]])
    curve = hit_rate_curve(scores, seen, relevant, ks=[1, 2, 3, 4])
    # user 0: ranking 3, 2, 1 (4 seen, 0 excluded): hit at rank 1. user 1: 1, 2, 3, 4: hit at rank 4.
    assert curve == {1: 0.5, 2: 0.5, 3: 0.5, 4: 1.0}
    with pytest.raises(ValueError, match="no user has a relevant test item"):
        hit_rate_curve(scores, seen, np.zeros_like(relevant))


def test_baselines():
    train = (np.array([1, 1, 2, 2]), np.array([1, 2, 1, 3]), np.array([5.0, 4.0, 2.0, 2.0]))
    test = (np.array([1, 2]), np.array([3, 2]), np.array([5.0, 1.0]))
    figures = rating_baselines(train, test)
    assert figures["per-user mean"] == pytest.approx(math.sqrt((0.5**2 + 1.0**2) / 2))
    assert figures["global mean"] == pytest.approx(math.sqrt((1.75**2 + 2.25**2) / 2))
    labels = (train[0], train[1], (train[2] > 3).astype(float))  # user 1 likes both, user 2 neither
    liked = (test[0], test[1], np.array([1.0, 1.0]))
    accuracy_figures = recommendation_baselines(labels, liked)
    assert accuracy_figures == {"majority class": 0.0, "per-user majority": 0.5}  # half liked: no majority
    popular = popularity_scores((train[0], train[1]), n_users=3, n_items=4)
    assert popular.shape == (3, 4)
    assert popular[0].tolist() == [0.0, 2.0, 1.0, 1.0]
    assert best_of(HELD_OUT["rating"], figures) == ("per-user mean", figures["per-user mean"])
    assert best_of(HELD_OUT["rating"], {}) is None
