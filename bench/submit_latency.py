"""Submit → first output byte on the embedded default, warm and cold.

warm: one idle local worker is already waiting. cold: no worker runs; each run is a
fresh process that, like `rclaude run`, has loaded rclaude and then submits (the
reconcile starts a worker) and follows until the first byte; timed from submit.
`cli_wall` is the whole `rclaude run -- echo x` command, interpreter start-up and
imports included, with a warm worker. Prints one JSON line.

    .venv/bin/python bench/submit_latency.py [--runs 200] [--cold-runs 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import embedded_platform, emit, stop_workers, summary_ms


def first_byte(p, spec, *, reconcile: bool) -> float:
    t0 = time.perf_counter()
    task = p.service.submit(spec, reconcile=reconcile)
    for chunk in p.log.follow(task.id, 1):
        if chunk.data:
            return time.perf_counter() - t0
    raise RuntimeError("no output")


def cold_once(pty: bool) -> None:
    """One cold run in this fresh process (the data dir comes from the environment)."""
    # The modules `rclaude run` has loaded by the time it submits (imports are the same
    # cost warm or cold, and are reported separately as cli_wall).
    import rclaude.adapters.sql_store
    import rclaude.adapters.sqlite_log
    import rclaude.adapters.sqlite_queue
    import rclaude.orchestrator.loop
    import rclaude.worker.loop  # noqa: F401
    from rclaude.config import load_config
    from rclaude.model import TaskSpec
    from rclaude.platform import Platform

    p = Platform(load_config().config)
    print(first_byte(p, TaskSpec(command=("echo", "x"), pty=pty), reconcile=True))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--cold-runs", type=int, default=200)
    ap.add_argument("--pty", action="store_true", help="run under a PTY (default: pipes)")
    ap.add_argument("--cold-once", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from rclaude.model import TaskSpec

    if args.cold_once:
        return cold_once(args.pty)

    p = embedded_platform(worker={"idleTimeout": 120})
    spec = TaskSpec(command=("echo", "x"), pty=args.pty)
    # warm
    p.service.reconcile(force=True)
    first_byte(p, spec, reconcile=True)  # make sure the worker is up
    for _ in range(10):
        first_byte(p, spec, reconcile=False)
    warm = [first_byte(p, spec, reconcile=False) for _ in range(args.runs)]
    import os
    import subprocess

    cli = [sys.executable, "-m", "rclaude.cli", "run", "--no-sync", "--no-pty", "--", "echo", "x"]

    def cli_wall(runs: int, *, cold: bool) -> list[float]:
        walls = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cli, check=True, capture_output=True, env=os.environ)
            walls.append(time.perf_counter() - t0)
            if cold:
                stop_workers(p)
        return walls

    walls = cli_wall(20, cold=False)
    stop_workers(p)
    cold_walls = cli_wall(10, cold=True)
    cold = []
    for _ in range(args.cold_runs):
        out = subprocess.run(
            [sys.executable, __file__, "--cold-once"] + (["--pty"] if args.pty else []),
            check=True,
            capture_output=True,
            env=os.environ,
            text=True,
        )
        cold.append(float(out.stdout.strip()))
        stop_workers(p)
    emit(
        "submit_to_first_byte",
        {
            "mode": "pty" if args.pty else "pipes",
            "warm": summary_ms(warm),
            "cold": summary_ms(cold),
            "cli_wall_warm_worker": summary_ms(walls),
            "cli_wall_no_worker": summary_ms(cold_walls),
            "targets": {"warm_p50_ms": 5, "cold_p50_ms": 300},
        },
    )
    p.close()


if __name__ == "__main__":
    main()
