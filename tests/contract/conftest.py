"""One contract suite per port, run over every implementation.

Each factory below builds a fresh, isolated instance of an adapter; production
adapters (SQS, S3, Redis, PostgreSQL) register their own factories here, so the same
tests run unchanged against them. A factory is a context manager yielding the adapter.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from rclaude.config.schema import Config


@contextmanager
def _platform(tmp_path: Path):
    from rclaude.platform import Platform

    p = Platform(Config(data_dir=tmp_path / "data"))
    try:
        yield p
    finally:
        p.close()


@contextmanager
def sqlite_queue(tmp_path, request):
    with _platform(tmp_path) as p:
        yield p.queue


@contextmanager
def fs_store(tmp_path, request):
    with _platform(tmp_path) as p:
        yield p.store


@contextmanager
def sqlite_log(tmp_path, request):
    with _platform(tmp_path) as p:
        yield p.log


@contextmanager
def sqlite_tasks(tmp_path, request):
    with _platform(tmp_path) as p:
        yield p.tasks


QUEUES = {"sqlite": sqlite_queue}
STORES = {"fs": fs_store}
LOGS = {"sqlite": sqlite_log}
TASK_STORES = {"sqlite": sqlite_tasks}

try:  # production adapters add their factories (they need servers started by the tests)
    from tests.contract import production  # noqa: F401
except ImportError:
    production = None
else:
    QUEUES.update(production.QUEUES)
    STORES.update(production.STORES)
    LOGS.update(production.LOGS)
    TASK_STORES.update(production.TASK_STORES)


@pytest.fixture(params=sorted(QUEUES))
def queue(request, tmp_path):
    with QUEUES[request.param](tmp_path, request) as q:
        yield q


@pytest.fixture(params=sorted(STORES))
def store(request, tmp_path):
    with STORES[request.param](tmp_path, request) as s:
        yield s


@pytest.fixture(params=sorted(LOGS))
def output_log(request, tmp_path):
    with LOGS[request.param](tmp_path, request) as lg:
        yield lg


@pytest.fixture(params=sorted(TASK_STORES))
def task_store(request, tmp_path):
    with TASK_STORES[request.param](tmp_path, request) as ts:
        yield ts
