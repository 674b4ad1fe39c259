from __future__ import annotations

import pytest

from tests.support.fake_github import FakeGitHub


@pytest.fixture
def fake_github():
    with FakeGitHub() as server:
        yield server


@pytest.fixture
def gh_env(monkeypatch, fake_github, tmp_path):
    """GITHUB_TOKEN for the fake; PATH without `gh` so the real CLI is never asked."""
    monkeypatch.setenv("GITHUB_TOKEN", "gh-test-token")
    monkeypatch.delenv("GH_TOKEN", raising=False)
    return fake_github
