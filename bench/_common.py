"""Helpers shared by benchmarks: isolated platforms, percentiles, worker control."""

from __future__ import annotations

import json
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def summary_ms(values: list[float]) -> dict:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p95_ms": round(percentile(values, 95) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
        "n": len(values),
    }


def embedded_platform(**overrides):
    """A Platform on a fresh temporary data dir (env set so spawned workers share it)."""
    from rclaude.config.schema import Config
    from rclaude.platform import Platform

    data = Path(tempfile.mkdtemp(prefix="rclaude-bench-")) / "data"
    os.environ["RCLAUDE_DATA_DIR"] = str(data)
    os.environ.setdefault("XDG_CONFIG_HOME", str(data.parent / "config"))
    cfg = Config.model_validate({"dataDir": str(data), **overrides})
    return Platform(cfg)


def stop_workers(platform, timeout: float = 10) -> None:
    for w in platform.compute.list():
        try:
            os.kill(w.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.time() + timeout
    while platform.compute.list() and time.time() < end:
        time.sleep(0.01)


def emit(name: str, figures: dict) -> None:
    print(json.dumps({"bench": name, **figures}))
