from __future__ import annotations

import pytest

from tests.support.fake_fly import FakeFly


@pytest.fixture
def fake_fly():
    with FakeFly() as server:
        yield server


@pytest.fixture
def fly_env(monkeypatch, fake_fly, tmp_path):
    """FLY_API_TOKEN for the fake; no fly config file is read from the real home."""
    monkeypatch.setenv("FLY_API_TOKEN", fake_fly.token)
    monkeypatch.setenv("FLY_CONFIG_DIR", str(tmp_path / "nofly"))
    return fake_fly
