"""The production stack for benchmarks: SQS and S3 on a moto server, a private
redis-server and (by default) a private PostgreSQL, all on 127.0.0.1, torn down after.

Uses the test-support servers (tests/support), so run benchmarks from the repo root.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@contextmanager
def production_platform(database: str = "postgres", aof: str = "everysec", **overrides) -> Iterator:
    """A Platform wired to SQS+S3 (moto), Redis Streams and PostgreSQL (or SQLite).

    ``aof``: the Redis AOF fsync policy ("everysec", "always") or "off".
    """
    import logging

    from tests.support.moto_server import moto_server
    from tests.support.postgres_server import postgres_server
    from tests.support.redis_server import redis_server

    from rclaude import awsutil
    from rclaude.config.schema import Config
    from rclaude.platform import Platform

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    with ExitStack() as stack:
        aws = stack.enter_context(moto_server())
        redis = stack.enter_context(redis_server(fsync=aof))
        db_url = "sqlite"
        if database == "postgres":
            db_url = stack.enter_context(postgres_server()).create_database("bench")
        data = Path(tempfile.mkdtemp(prefix="rclaude-bench-")) / "data"
        os.environ["RCLAUDE_DATA_DIR"] = str(data)
        os.environ.setdefault("XDG_CONFIG_HOME", str(data.parent / "config"))
        awsutil.client("s3", region="us-east-1", endpoint_url=aws).create_bucket(Bucket="bench")
        settings = {
            "dataDir": str(data),
            "queue": "sqs",
            "storage": "s3",
            "log": "redis",
            "database": db_url,
            "sqs": {"endpointUrl": aws, "queueName": f"bench-{uuid.uuid4().hex[:6]}"},
            "s3": {"endpointUrl": aws, "bucket": "bench"},
            "redis": {"url": redis.url},
        }
        for key, value in overrides.items():
            settings.setdefault(key, {}).update(value) if isinstance(value, dict) else None
            if not isinstance(value, dict):
                settings[key] = value
        p = Platform(Config.model_validate(settings))
        p.bench_redis_pid = redis.proc.pid  # for benchmarks that place Redis on a core
        try:
            yield p
        finally:
            from _common import stop_workers

            stop_workers(p)
            p.close()


def wait_idle_workers(p, n: int, timeout: float = 60) -> None:
    import time

    end = time.time() + timeout
    while sum(1 for w in p.compute.list() if w.state == "idle") < n:
        if time.time() > end:
            raise RuntimeError(f"{n} workers did not become idle within {timeout}s")
        time.sleep(0.05)
