"""Split protocols: which ratings go to the train, validation and test channels.

- `workshop` reproduces the notebook exactly: train = ua.base, validation = ua.test, no test
  channel. ua.test is then both the early-stopping set and the reported set, so the reported
  metric is optimistic; it exists to compare with the workshop's figures (MSE ≈ 0.91).
- `holdout` (the default) keeps a test set the model never sees, not even for early stopping:
  - ml-100k: test = ua.test, untouched (9,430 ratings, 10 per user), so results compare with the
    published ua.base → ua.test numbers; validation = `validation_per_user` (default 5) seeded
    ratings of every user, carved out of ua.base; train = the rest of ua.base.
  - releases without ua files (ml-1m and the CSV layout): test = `test_per_user` (default 10)
    seeded ratings per user, carved from all ratings the way `mku.sh` builds ua.test (see
    `jobs.movielens.splits`); validation is then carved from what is left, as above.

Why a per-user carve for validation and not a random 5 %: ua.test weighs every user equally
(10 ratings each, light users as much as heavy ones), which makes it harder than a random split.
A validation set built the same way has the same distribution, so early stopping optimises what
the test set measures; a random slice would be dominated by heavy users.

Randomness comes from `np.random.default_rng([seed, stream])`, one stream per use, so changing
one step (e.g. the validation size) never changes another step's draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, cast

import numpy as np

from jobs.movielens.dataset import MovieLens
from jobs.movielens.errors import DataError
from jobs.movielens.ratings import Ratings
from jobs.movielens.splits import carve_per_user

Protocol = Literal["holdout", "workshop"]
PROTOCOLS: Final[tuple[Protocol, ...]] = ("holdout", "workshop")
CHANNELS: Final = ("train", "validation", "test")

# Independent random streams (the second word of the seed sequence).
STREAM_TEST: Final = 1
STREAM_VALIDATION: Final = 2
STREAM_SHUFFLE: Final = {"train": 3, "validation": 4, "test": 5}
STREAM_GENRE_USERS: Final = 6  # the implicit train channel, genre pseudo-users included


class ProtocolError(DataError):
    """A protocol cannot be applied to this release."""


@dataclass(frozen=True)
class SplitParams:
    """Sizes of the per-user carves (None when the protocol does not carve that channel)."""

    validation_per_user: int | None
    test_per_user: int | None


@dataclass(frozen=True)
class Split:
    """The ratings of each channel (in file order; shuffling happens when writing)."""

    protocol: Protocol
    channels: dict[str, Ratings]
    params: SplitParams


def stream(seed: int, purpose: int) -> np.random.Generator:
    """The generator for one purpose of one seeded run."""
    return np.random.default_rng([seed, purpose])


def check_protocol(data: MovieLens, protocol: str) -> Protocol:
    """Fail early (before anything is written) when `protocol` cannot apply to `data`."""
    if protocol not in PROTOCOLS:
        raise ProtocolError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    if protocol == "workshop" and not data.has_ua_split:
        raise ProtocolError(
            f"protocol 'workshop' needs ua.base/ua.test, which {data.name} does not ship; "
            "use --protocols holdout"
        )
    return cast(Protocol, protocol)


def build_split(
    data: MovieLens, protocol: str, seed: int, validation_per_user: int, test_per_user: int
) -> Split:
    """The channels of `protocol` for `data` (see the module docstring)."""
    for name, value in (("validation_per_user", validation_per_user), ("test_per_user", test_per_user)):
        if value < 1:
            raise ProtocolError(f"{name} must be at least 1, got {value}")
    if check_protocol(data, protocol) == "workshop":
        channels = {"train": data.split("ua.base"), "validation": data.split("ua.test")}
        return Split("workshop", channels, SplitParams(None, None))
    if data.has_ua_split:
        pool, test, carved_test = data.split("ua.base"), data.split("ua.test"), None
    else:
        in_test = carve_per_user(data.ratings.user, test_per_user, stream(seed, STREAM_TEST))
        pool, test, carved_test = data.ratings.take(~in_test), data.ratings.take(in_test), test_per_user
    in_validation = carve_per_user(pool.user, validation_per_user, stream(seed, STREAM_VALIDATION))
    channels = {"train": pool.take(~in_validation), "validation": pool.take(in_validation), "test": test}
    _check_not_empty(data, channels, validation_per_user, test_per_user)
    return Split("holdout", channels, SplitParams(validation_per_user, carved_test))


def _check_not_empty(data: MovieLens, channels: dict[str, Ratings], validation: int, test: int) -> None:
    """A carve selects nobody when no user has twice the requested ratings; say so, don't write it."""
    for name, per_user in (("test", test), ("validation", validation)):
        if len(channels[name]) == 0:
            raise ProtocolError(
                f"holdout on {data.name}: the {name} channel is empty because no user has {2 * per_user} "
                f"ratings; lower --{name}-per-user"
            )
