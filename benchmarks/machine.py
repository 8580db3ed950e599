"""What every benchmark report says about the machine it ran on, and how it writes its results."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
from pathlib import Path
from typing import Any

from common.atomic import atomic_writer, write_json_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    models = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    info: dict[str, Any] = {
        "cpu_model": models[0] if models else platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    for package in ("numpy", "torch", "boto3", "moto"):
        # Read the installed version without importing: an import would grow this process, and the
        # benchmarks' child processes inherit the parent's peak RSS (ru_maxrss) across fork and exec.
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            info[package] = importlib.metadata.version(package)
    return info


def describe(info: dict[str, Any]) -> str:
    """One markdown line for a report's footer."""
    versions = ", ".join(
        f"{name} {info[name]}" for name in ("numpy", "torch", "boto3", "moto") if name in info
    )
    load = ", ".join(map(str, info["load_average_at_start"]))
    return (
        f"Machine: {info['cpu_model']}, {info['cores']} cores; Python {info['python']}, {versions}; "
        f"{info['platform']}; load average at start {load}."
    )


def write_report(name: str, report: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path, md_path = RESULTS / f"{name}.json", RESULTS / f"{name}.md"
    write_json_atomic(json_path, json.loads(json.dumps(report, default=str)))
    with atomic_writer(md_path) as sink:
        sink.write(markdown.encode())
    return json_path, md_path
