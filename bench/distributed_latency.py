"""Submit → first output byte through SQS (moto) + Redis Streams + PostgreSQL.

One local worker is already waiting (long-polling SQS); each run submits `echo x` and
follows the Redis stream until the first output byte. Prints one JSON line.

    .venv/bin/python bench/distributed_latency.py [--runs 100] [--database postgres|sqlite]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, summary_ms
from _distributed import production_platform, wait_idle_workers


def first_byte(p, spec) -> float:
    t0 = time.perf_counter()
    task = p.service.submit(spec, reconcile=False)
    for chunk in p.log.follow(task.id, 1, idle_timeout=30):
        if chunk.data:
            return time.perf_counter() - t0
    raise RuntimeError("no output")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--pty", action="store_true", help="run under a PTY (default: pipes)")
    args = ap.parse_args()
    from rclaude.model import TaskSpec

    with production_platform(args.database, worker={"idleTimeout": 300}) as p:
        p.compute.launch(1)
        wait_idle_workers(p, 1)
        spec = TaskSpec(command=("echo", "x"), pty=args.pty)
        for _ in range(5):
            first_byte(p, spec)
        runs = [first_byte(p, spec) for _ in range(args.runs)]
    emit(
        "distributed_submit_to_first_byte",
        {
            "stack": f"sqs(moto)+redis+{args.database}",
            "mode": "pty" if args.pty else "pipes",
            "warm": summary_ms(runs),
        },
    )


if __name__ == "__main__":
    main()
