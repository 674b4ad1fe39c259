"""Trivial-task (`true`) throughput through SQS (moto) + Redis Streams + PostgreSQL.

N tasks are submitted as fast as one client can (SendMessageBatch, 10 per call) to
`--workers` local workers already long-polling SQS; measured from the first submit
until every task is terminal. Prints one JSON line.

    .venv/bin/python bench/distributed_throughput.py [--tasks 300] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit
from _distributed import production_platform, wait_idle_workers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=4, help="tasks per worker at once")
    ap.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    args = ap.parse_args()
    from rclaude.model import TERMINAL_STATES, QueueMessage, Task, TaskSpec, TaskState, new_id

    worker = {"idleTimeout": 300, "concurrency": args.concurrency}
    with production_platform(args.database, worker=worker) as p:
        p.compute.launch(args.workers)
        wait_idle_workers(p, args.workers)
        spec = TaskSpec(command=("true",), pty=False)
        t0 = time.perf_counter()
        msgs = []
        for _ in range(args.tasks):
            now = time.time()
            task = p.tasks.create(
                Task(id=new_id(), spec=spec, state=TaskState.QUEUED, created_at=now, queued_at=now)
            )
            msgs.append(QueueMessage(task_id=task.id, max_attempts=spec.max_attempts))
        p.queue.send_batch(msgs)
        submitted = time.perf_counter() - t0
        while p.tasks.list(states=set(TaskState) - TERMINAL_STATES, limit=1):
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        ok = len(p.tasks.list(states=[TaskState.SUCCEEDED], limit=args.tasks + 10))
    emit(
        "distributed_trivial_task_throughput",
        {
            "stack": f"sqs(moto)+redis+{args.database}",
            "tasks": args.tasks,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "succeeded": ok,
            "tasks_per_s": round(args.tasks / elapsed, 1),
            "submit_per_s": round(args.tasks / submitted, 1),
            "elapsed_s": round(elapsed, 3),
        },
    )
    assert ok == args.tasks, f"only {ok} of {args.tasks} tasks succeeded"


if __name__ == "__main__":
    main()
