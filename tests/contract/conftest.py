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


def embedded(port: str):
    """A factory yielding one port of a fresh embedded Platform on ``tmp_path``."""

    @contextmanager
    def factory(tmp_path: Path, request):
        from rclaude.platform import Platform

        p = Platform(Config(data_dir=tmp_path / "data"))
        try:
            yield getattr(p, port)
        finally:
            p.close()

    return factory


QUEUES = {"sqlite": embedded("queue")}
STORES = {"fs": embedded("store")}
LOGS = {"sqlite": embedded("log")}
TASK_STORES = {"sqlite": embedded("tasks")}

try:  # production adapters add their factories (they need servers started by the tests)
    from tests.contract import production
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
