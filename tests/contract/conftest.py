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


def port_fixture(factories: dict):
    """A fixture parametrized over every implementation in ``factories``."""

    @pytest.fixture(params=sorted(factories))
    def fixture(request, tmp_path):
        with factories[request.param](tmp_path, request) as port:
            yield port

    return fixture


queue = port_fixture(QUEUES)
store = port_fixture(STORES)
output_log = port_fixture(LOGS)
task_store = port_fixture(TASK_STORES)
