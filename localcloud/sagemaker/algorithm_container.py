"""The training "container": `python -m localcloud.sagemaker.algorithm_container JOB_DIR EVENTS_FD`.

Runs `object2vec.train.train` on `JOB_DIR/input/data/<channel>/` with the job's hyperparameters and
writes `JOB_DIR/model/model.tar.gz`. Its stdout/stderr are the job's log; one JSON object per line on
EVENTS_FD tells the local cloud the progress ({"event": "epoch"}) and the outcome ({"event":
"result"} or {"event": "error"} with SageMaker's ClientError/AlgorithmError split).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, Any

# The Lambda worker's helper: both are children that must die with the local cloud.
from localcloud.awslambda.bootstrap import exit_with_parent

# train.py logs "#quality_metric: host=algo-1, epoch=<n>, train <metric> ..." after every epoch (one line per
# metric). Counting distinct epoch values rather than reading the number works whether it counts from 0 or 1.
_TRAIN_METRIC = re.compile(r"#quality_metric: host=\S+, epoch=(\d+), train ")


class EpochReporter(logging.Handler):
    """Turns the trainer's per-epoch metric lines into "epoch N/M is running" events."""

    def __init__(self, events: IO[str], epochs: int) -> None:
        super().__init__(logging.INFO)
        self.events = events
        self.epochs = epochs
        self.finished: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        match = _TRAIN_METRIC.search(record.getMessage())
        if match and match.group(1) not in self.finished:
            self.finished.add(match.group(1))
            running = min(len(self.finished) + 1, self.epochs)
            send(self.events, {"event": "epoch", "epoch": running, "epochs": self.epochs})


def send(events: IO[str], event: dict[str, Any]) -> None:
    events.write(json.dumps(event) + "\n")
    events.flush()


def run(job_dir: Path, events: IO[str]) -> int:
    from object2vec.errors import ChannelError, HyperparameterError, Object2VecError
    from object2vec.hyperparameters import Hyperparameters
    from object2vec.train import train

    config = job_dir / "input" / "config"
    hyperparameters = json.loads((config / "hyperparameters.json").read_text())
    job = json.loads((config / "trainingjob.json").read_text())
    data = job_dir / "input" / "data"
    channels = {path.name: path for path in sorted(data.iterdir()) if path.is_dir()} if data.is_dir() else {}
    try:
        epochs = Hyperparameters.from_dict(hyperparameters).epochs
        logging.getLogger("object2vec").addHandler(EpochReporter(events, epochs))
        send(events, {"event": "epoch", "epoch": 1, "epochs": epochs})
        result = train(
            hyperparameters,
            channels,
            job_dir / "model",
            seed=job["seed"],
            threads=job["threads"],
            progress=False,
        )
    except (HyperparameterError, ChannelError) as exc:  # the customer's input: SageMaker's ClientError
        send(events, {"event": "error", "kind": "ClientError", "message": str(exc)})
        print(f"ClientError: {exc}", flush=True)
        return 1
    except Object2VecError as exc:
        send(events, {"event": "error", "kind": "AlgorithmError", "message": str(exc)})
        print(f"AlgorithmError: {exc}", flush=True)
        return 1
    except Exception as exc:
        traceback.print_exc()
        send(events, {"event": "error", "kind": "AlgorithmError", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    send(events, {"event": "result", "metrics": result.metrics})
    return 0


def main(argv: list[str]) -> int:
    job_dir, fd = Path(argv[1]), int(argv[2])
    threading.Thread(target=exit_with_parent, daemon=True).start()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with os.fdopen(fd, "w") as events:
        return run(job_dir, events)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
