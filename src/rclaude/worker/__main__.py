"""``python -m rclaude.worker``: the worker process, with a lean import path.

Compute backends start workers this way (or through ``rclaude worker``); it avoids
importing the CLI framework so a cold worker is ready sooner.
"""

from __future__ import annotations

import argparse
import logging
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="rclaude worker", description="Lease and run tasks.")
    ap.add_argument("--worker-id")
    ap.add_argument("--idle-timeout", type=float, help="exit after this many idle seconds")
    ap.add_argument("--concurrency", type=int, help="tasks run at once")
    ap.add_argument("--burst", action="store_true", help="exit as soon as the queue is empty")
    ap.add_argument("--drain-timeout", type=float, help="seconds SIGTERM waits for running tasks")
    ap.add_argument("--log-level", default="INFO")
    return ap.parse_args(argv)


def serve(
    *, worker_id=None, idle_timeout=None, concurrency=None, burst=False, drain_timeout=None
) -> int:
    from rclaude.config import load_config
    from rclaude.platform import Platform
    from rclaude.worker.loop import Worker

    cfg = load_config().config
    with Platform(cfg) as platform:
        return Worker(
            platform,
            worker_id=worker_id,
            concurrency=concurrency,
            idle_timeout=idle_timeout,
            burst=burst,
            drain_timeout=drain_timeout,
        ).run()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from rclaude.errors import RclaudeError

    try:
        return serve(
            worker_id=args.worker_id,
            idle_timeout=args.idle_timeout,
            concurrency=args.concurrency,
            burst=args.burst,
            drain_timeout=args.drain_timeout,
        )
    except RclaudeError as exc:
        print(f"rclaude worker: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
