"""Throughput of trivial tasks (`true`) with 2 local workers on the embedded default.

Submits N tasks as fast as one client can and measures from the first submit until the
last task is terminal. Prints one JSON line.

    .venv/bin/python bench/throughput.py [--tasks 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import embedded_platform, emit, stop_workers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pty", action="store_true")
    ap.add_argument("--concurrency", type=int, default=1, help="tasks each worker runs at once")
    args = ap.parse_args()
    from rclaude.model import TERMINAL_STATES, TaskSpec, TaskState

    p = embedded_platform(worker={"idleTimeout": 120, "concurrency": args.concurrency})
    p.compute.launch(args.workers)
    # wait until both workers registered as idle
    end = time.time() + 30
    while (
        sum(1 for w in p.compute.list() if w.state == "idle") < args.workers and time.time() < end
    ):
        time.sleep(0.05)
    spec = TaskSpec(command=("true",), pty=args.pty)
    t0 = time.perf_counter()
    ids = [p.service.submit(spec, reconcile=False).id for _ in range(args.tasks)]
    submitted = time.perf_counter() - t0
    while True:
        active = p.tasks.list(states=set(TaskState) - TERMINAL_STATES, limit=1)
        if not active:
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - t0
    ok = len(p.tasks.list(states=[TaskState.SUCCEEDED], limit=args.tasks + 10))
    stop_workers(p)
    emit(
        "trivial_task_throughput",
        {
            "tasks": args.tasks,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "mode": "pty" if args.pty else "pipes",
            "succeeded": ok,
            "tasks_per_s": round(args.tasks / elapsed, 1),
            "submit_per_s": round(args.tasks / submitted, 1),
            "elapsed_s": round(elapsed, 3),
            "target_tasks_per_s": 500,
        },
    )
    assert ok == len(ids), f"only {ok} of {len(ids)} tasks succeeded"
    p.close()


if __name__ == "__main__":
    main()
