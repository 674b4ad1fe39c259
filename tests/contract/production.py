"""Contract-suite factories for the production adapters (see tests/contract/conftest.py).

SQS and S3 run against the session's moto server (reset per test by the ``aws``
fixture); Redis and PostgreSQL against private servers started once per session from
the installed binaries (tests/support). Each factory yields an adapter isolated from
every other test: a fresh moto state, a unique Redis key prefix, a fresh database.
When a server binary is missing the test is skipped with the package to install.
"""

from __future__ import annotations

import atexit
from contextlib import contextmanager

import pytest

from rclaude.config.schema import Config


def _config(**sections) -> Config:
    return Config.model_validate(sections)


@contextmanager
def sqs_queue(tmp_path, request):
    from rclaude.adapters.sqs_queue import SqsQueue

    endpoint = request.getfixturevalue("aws")
    q = SqsQueue(_config(queue="sqs", sqs={"endpoint_url": endpoint, "queue_name": "contract"}))
    try:
        yield q
    finally:
        q.close()


@contextmanager
def s3_store(tmp_path, request):
    from rclaude import awsutil
    from rclaude.adapters.s3_store import S3ObjectStore

    endpoint = request.getfixturevalue("aws")
    awsutil.client("s3", region="us-east-1", endpoint_url=endpoint).create_bucket(Bucket="contract")
    s = S3ObjectStore(
        _config(storage="s3", s3={"endpoint_url": endpoint, "bucket": "contract", "prefix": "pre/"})
    )
    try:
        yield s
    finally:
        s.close()


@contextmanager
def redis_log(tmp_path, request):
    import uuid

    from rclaude.adapters.redis_log import RedisOutputLog

    server = shared_redis()
    lg = RedisOutputLog(
        _config(log="redis", redis={"url": server.url, "key_prefix": f"t{uuid.uuid4().hex[:8]}:"})
    )
    try:
        yield lg
    finally:
        lg.close_log()


@contextmanager
def postgres_tasks(tmp_path, request):
    from rclaude.adapters.sql_store import SqlTaskStore

    server = shared_postgres()
    store = SqlTaskStore(server.create_database())
    try:
        yield store
    finally:
        store.close()


QUEUES = {"sqs": sqs_queue}
STORES = {"s3": s3_store}
LOGS = {"redis": redis_log}
TASK_STORES = {"postgres": postgres_tasks}


def shared_redis():
    """The session's private redis-server (started on first use, stopped at exit).

    A module-level singleton rather than a fixture: tests/contract/conftest.py only
    imports this module's factory dicts, so fixtures defined here would not be seen.
    """
    from tests.support.redis_server import redis_binary, redis_server

    if "redis" not in _SERVERS:
        if redis_binary() is None:
            pytest.skip("redis-server not installed (apt-get install -y redis-server)")
        _SERVERS["redis"] = _start(redis_server())
    return _SERVERS["redis"]


def shared_postgres():
    """The session's private PostgreSQL server (started on first use, stopped at exit)."""
    from tests.support.postgres_server import postgres_bindir, postgres_server

    if "postgres" not in _SERVERS:
        if postgres_bindir() is None:
            pytest.skip("PostgreSQL not installed (apt-get install -y postgresql)")
        _SERVERS["postgres"] = _start(postgres_server())
    return _SERVERS["postgres"]


_SERVERS: dict = {}


def _start(cm):
    server = cm.__enter__()
    atexit.register(cm.__exit__, None, None, None)
    return server
