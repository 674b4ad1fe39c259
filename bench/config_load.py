"""Benchmark: how long loading the layered configuration takes (it runs on every CLI call).

Prints one JSON line: cold import of the loader in a fresh interpreter, the first
``load_config`` call in that interpreter, and warm calls (median, p95) with a user file
(the DESIGN.md seed), a project file found two directories up, and env variables.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = """\
backend: aws
aws:
  mode: ec2
  region: us-east-1
  ec2: {instanceType: t3.medium, spotInstance: true}
  ecs: {clusterName: remote-claude, instanceType: t3.medium}
  shared: {instanceType: t3.large, maxTasksPerInstance: 10}
"""

CHILD = """
import time, json, sys
from pathlib import Path
t0 = time.perf_counter()
from rclaude.config import load_config
t1 = time.perf_counter()
load_config(cwd=Path(sys.argv[1]))
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t1) * 1e3}))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "xdg" / "rclaude").mkdir(parents=True)
        (root / "xdg" / "rclaude" / "config.yaml").write_text(SEED)
        deep = root / "proj" / "a" / "b"
        deep.mkdir(parents=True)
        (root / "proj" / ".rclaude.yaml").write_text("aws:\n  mode: ecs\n")
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(root / "xdg"),
            "RCLAUDE_TASKS__VISIBILITY_TIMEOUT": "2",
        }
        env.pop("RCLAUDE_CONFIG", None)
        colds = [
            json.loads(
                subprocess.run(
                    [sys.executable, "-c", CHILD, str(deep)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(5)
        ]
        os.environ.update(XDG_CONFIG_HOME=str(root / "xdg"))
        from rclaude.config import load_config

        load_config(cwd=deep, env=env)
        warm = []
        for _ in range(200):
            t = time.perf_counter()
            load_config(cwd=deep, env=env)
            warm.append((time.perf_counter() - t) * 1e3)
    warm.sort()
    print(
        json.dumps(
            {
                "bench": "config_load",
                "cold_import_ms_median": round(statistics.median(c["import_ms"] for c in colds), 1),
                "cold_first_load_ms_median": round(
                    statistics.median(c["first_ms"] for c in colds), 1
                ),
                "warm_load_ms_median": round(statistics.median(warm), 2),
                "warm_load_ms_p95": round(warm[int(len(warm) * 0.95)], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
