"""Learning curves from a training job's metric lines.

SageMaker's built-in algorithms, and our trainer, log one line per channel, metric and epoch:

    #quality_metric: host=algo-1, epoch=3, validation mean_squared_error <loss>=0.91
    #quality_metric: host=algo-1, test mean_squared_error <loss>=0.87        (the final model, no epoch)

Locally they are in the job's log (`o2v cloud logs --training-job NAME`); on AWS in the job's
CloudWatch log stream. Anything else on a line (timestamps, logger names) is ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_LINE = re.compile(
    r"#quality_metric: host=[^,\s]+(?:, epoch=(?P<epoch>\d+))?, (?P<channel>\w+) (?P<metric>[\w@]+) "
    r"<(?:loss|score)>=(?P<value>\S+)"
)


@dataclass(frozen=True)
class LearningCurves:
    """per_epoch[metric][channel] = [(epoch, value), ...] in epoch order; final[metric][channel] = value
    of the lines without an epoch (the test channel's figures for the kept model)."""

    per_epoch: dict[str, dict[str, list[tuple[int, float]]]] = field(default_factory=dict)
    final: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.per_epoch


def parse_metric_lines(lines: Iterable[str]) -> LearningCurves:
    """The curves in `lines`; a repeated (metric, channel, epoch) keeps its last value, as a retried
    epoch's last report is the one that counted. Unparseable numbers are skipped, not guessed."""
    points: dict[str, dict[str, dict[int, float]]] = {}
    final: dict[str, dict[str, float]] = {}
    for line in lines:
        match = _LINE.search(line)
        if not match:
            continue
        try:
            value = float(match["value"])
        except ValueError:
            continue
        if not math.isfinite(value):
            continue
        metric, channel = match["metric"], match["channel"]
        if match["epoch"] is None:
            final.setdefault(metric, {})[channel] = value
        else:
            points.setdefault(metric, {}).setdefault(channel, {})[int(match["epoch"])] = value
    per_epoch = {
        metric: {channel: sorted(values.items()) for channel, values in channels.items()}
        for metric, channels in points.items()
    }
    return LearningCurves(per_epoch, final)
