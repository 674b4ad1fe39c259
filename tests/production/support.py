"""Helpers for the production end-to-end tests: the environment that points the real
CLI at moto (SQS, S3), a private Redis and a private PostgreSQL, and cleanup of the
worker processes those runs start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from rclaude.config.schema import Config

BUCKET = "rclaude-e2e"


def prod_env(aws: str, redis_url: str, db_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    from rclaude import awsutil

    awsutil.client("s3", region="us-east-1", endpoint_url=aws).create_bucket(Bucket=BUCKET)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLAUDE_")}
    env.update(
        {
            "RCLAUDE_QUEUE": "sqs",
            "RCLAUDE_STORAGE": "s3",
            "RCLAUDE_LOG": "redis",
            "RCLAUDE_DATABASE": db_url,
            "RCLAUDE_SQS__ENDPOINT_URL": aws,
            "RCLAUDE_SQS__QUEUE_NAME": f"q-{uuid.uuid4().hex[:8]}",
            "RCLAUDE_S3__ENDPOINT_URL": aws,
            "RCLAUDE_S3__BUCKET": BUCKET,
            "RCLAUDE_REDIS__URL": redis_url,
            "RCLAUDE_REDIS__KEY_PREFIX": f"e2e{uuid.uuid4().hex[:6]}:",
            "RCLAUDE_DATA_DIR": str(tmp / "data"),
            "RCLAUDE_WORKER__IDLE_TIMEOUT": "3",
            "XDG_CONFIG_HOME": str(tmp / "xdg"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def config_of(env: dict[str, str]) -> Config:
    """The Config the CLI builds from ``env`` (for checking state from the test)."""
    return Config.model_validate(
        {
            "queue": "sqs",
            "storage": "s3",
            "log": "redis",
            "database": env["RCLAUDE_DATABASE"],
            "data_dir": env["RCLAUDE_DATA_DIR"],
            "sqs": {
                "endpoint_url": env["RCLAUDE_SQS__ENDPOINT_URL"],
                "queue_name": env["RCLAUDE_SQS__QUEUE_NAME"],
            },
            "s3": {"endpoint_url": env["RCLAUDE_S3__ENDPOINT_URL"], "bucket": BUCKET},
            "redis": {
                "url": env["RCLAUDE_REDIS__URL"],
                "key_prefix": env["RCLAUDE_REDIS__KEY_PREFIX"],
            },
            "tasks": {
                "visibility_timeout": float(env.get("RCLAUDE_TASKS__VISIBILITY_TIMEOUT", 30))
            },
        }
    )


def rclaude(
    env: dict[str, str],
    *args: str,
    cwd: Path | None = None,
    timeout: float = 90,
    check: bool = True,
) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", "rclaude.cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert out.returncode == 0, (out.returncode, out.stdout[-2000:], out.stderr[-2000:])
    return out


def stop_workers(db_url: str) -> None:
    """SIGTERM the worker processes these tests started (found in the registry)."""
    from rclaude.adapters.sql_store import SqlTaskStore

    store = SqlTaskStore(db_url)
    try:
        pids = [w.pid for w in store.workers() if w.pid]
    finally:
        store.close()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.monotonic() + 10
    while pids and time.monotonic() < end:
        pids = [p for p in pids if _alive(p)]
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False
