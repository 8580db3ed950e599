"""What `make train` trains: MODELS= and PROFILE= become slots with profiles, or a one-line error."""

from __future__ import annotations

import pytest

from jobs.stack.errors import StackError
from jobs.stack.names import Stack
from jobs.stack.training_plan import default_protocol, plan_training


def chosen(**options) -> list[tuple[str, str]]:
    return [(slot.endpoint, slot.profile) for slot in plan_training(Stack(), **options).slots]


def test_every_model_with_the_tuned_profiles_by_default():
    assert chosen() == [
        ("ratingModel", "rating"),
        ("recommendationModel", "recommendation"),
        ("topNModel", "implicit"),
    ]
    assert default_protocol("tuned") == "holdout"


def test_models_by_endpoint_task_or_short_name_once_each_in_order():
    assert chosen(models=["topN", "rating", "ratingModel"]) == [
        ("topNModel", "implicit"),
        ("ratingModel", "rating"),
    ]
    assert chosen(models=["recommendation"]) == [("recommendationModel", "recommendation")]


def test_the_workshop_profiles_are_the_labs_and_have_no_top_n():
    plan = plan_training(Stack(), profile_set="workshop")
    assert [(s.endpoint, s.profile) for s in plan.slots] == [
        ("ratingModel", "workshop-rating"),
        ("recommendationModel", "workshop-recommendation"),
    ]
    assert plan.notes == ("topNModel not trained: PROFILE=workshop has no implicit profile",)
    assert default_protocol("workshop") == "workshop"
    with pytest.raises(StackError, match=r"PROFILE=workshop has no profile for topNModel \(implicit\)"):
        plan_training(Stack(), models=["topN"], profile_set="workshop")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"models": ["ratings"]},
            "MODELS='ratings' is not a model of the stack: choose from ratingModel (rating)",
        ),
        ({"models": []}, "MODELS= names no model"),
        ({"profile_set": "fast"}, "PROFILE=fast: choose from tuned, workshop"),
    ],
)
def test_bad_choices_are_one_line(options, message):
    with pytest.raises(StackError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        plan_training(Stack(), **options)
    assert "\n" not in str(caught.value)
