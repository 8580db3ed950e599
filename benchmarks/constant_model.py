"""The model server of `make bench-load`: a fixed rating, so the model costs nothing measurable.

A module of its own, stdlib only, because the local cloud imports it by name: importing the benchmark
itself would load its dependencies (boto3, numpy, the stack's code) into the cloud and inflate the
memory the benchmark reports.
"""

from __future__ import annotations

import json
from pathlib import Path


class ConstantModel:
    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        count = len(json.loads(body)["instances"])
        return json.dumps({"predictions": [{"scores": [3.5]}] * count}).encode(), "application/json"


def load(artifact: Path, threads: int) -> ConstantModel:
    return ConstantModel()
