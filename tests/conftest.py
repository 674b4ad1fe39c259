"""Shared fixtures. Room-specific fixtures live in each tests/<room>/conftest.py."""

from __future__ import annotations

import pytest

from tests.support.moto_server import moto_server, reset


@pytest.fixture(scope="session")
def moto_endpoint():
    """URL of a real moto server on 127.0.0.1 for the whole session."""
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(moto_endpoint):
    """A clean moto server for one test: yields its endpoint URL."""
    reset(moto_endpoint)
    yield moto_endpoint
