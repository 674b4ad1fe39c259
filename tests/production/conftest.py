"""Fixtures for the production-adapter tests: private redis-server and PostgreSQL.

The servers are the same session-wide instances the contract suite uses
(tests/contract/production.py), started from the installed binaries on first use.
"""

from __future__ import annotations

import pytest

from tests.contract.production import shared_postgres, shared_redis


@pytest.fixture
def redis_srv():
    return shared_redis()


@pytest.fixture
def postgres_srv():
    return shared_postgres()
