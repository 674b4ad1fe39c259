"""A real ``rclaude serve`` for the server tests (one per session, users isolate tests)."""

from __future__ import annotations

import pytest

from tests.server.support import Server, base_env, free_port


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    env = base_env(root)
    # Many sign-ins come from 127.0.0.1 here; the limiter itself is tested in-process.
    env["RCLAUDE_SERVER__LOGIN_LIMIT"] = "10000"
    srv = Server(root, free_port(), env).start()
    yield srv
    srv.stop()
