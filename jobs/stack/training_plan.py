"""What `make train` trains: which of the stack's models (MODELS=), with which profiles (PROFILE=).

Profiles come in two sets: `tuned` (the default), the CPU profiles tuned on the holdout protocol, and
`workshop`, the notebook's hyperparameters, which are meant for the workshop protocol (ua.base to train,
ua.test to validate: exactly the lab's run). The workshop trained no top-N model, so that set has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from jobs.stack.errors import StackError
from jobs.stack.names import ModelSlot, Stack

PROFILE_SETS: dict[str, dict[str, str]] = {
    "tuned": {"rating": "rating", "recommendation": "recommendation", "implicit": "implicit"},
    "workshop": {"rating": "workshop-rating", "recommendation": "workshop-recommendation"},
}
DEFAULT_PROFILE_SET = "tuned"


def default_protocol(profile_set: str) -> str:
    """The protocol a profile set is meant for: the workshop's hyperparameters on the workshop's split."""
    return "workshop" if profile_set == "workshop" else "holdout"


@dataclass(frozen=True)
class TrainingPlan:
    slots: tuple[ModelSlot, ...]  # the models to train, each with the profile it trains with
    notes: tuple[str, ...]  # what was left out and why, for the log


def plan_training(
    stack: Stack, *, models: Sequence[str] | None = None, profile_set: str = DEFAULT_PROFILE_SET
) -> TrainingPlan:
    """The slots to train. `models` names them by endpoint (`ratingModel`), task (`rating`) or `topN`;
    None means every model the profile set has a profile for."""
    if profile_set not in PROFILE_SETS:
        raise StackError(f"PROFILE={profile_set}: choose from {', '.join(PROFILE_SETS)}")
    profiles = PROFILE_SETS[profile_set]
    wanted = stack.models if models is None else tuple(_slot(stack, name) for name in models)
    if not wanted:
        raise StackError("MODELS= names no model: choose from " + _choices(stack))
    slots, notes = [], []
    for slot in dict.fromkeys(wanted):  # in order, each once
        if slot.task not in profiles:
            if models is not None:
                raise StackError(f"PROFILE={profile_set} has no profile for {slot.endpoint} ({slot.task})")
            notes.append(f"{slot.endpoint} not trained: PROFILE={profile_set} has no {slot.task} profile")
            continue
        slots.append(replace(slot, profile=profiles[slot.task]))
    return TrainingPlan(tuple(slots), tuple(notes))


def _slot(stack: Stack, name: str) -> ModelSlot:
    wanted = name.strip().lower()
    for slot in stack.models:
        if wanted in {slot.endpoint.lower(), slot.task, slot.endpoint.lower().removesuffix("model")}:
            return slot
    raise StackError(f"MODELS={name!r} is not a model of the stack: choose from {_choices(stack)}")


def _choices(stack: Stack) -> str:
    return ", ".join(f"{slot.endpoint} ({slot.task})" for slot in stack.models)
