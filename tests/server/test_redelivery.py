"""A worker dies mid-task: the WebSocket announces the new attempt and streams it."""

from __future__ import annotations

import os
import signal
import sqlite3

import pytest

from tests.server.support import Server, base_env, free_port, read_until, wait_for, ws_connect


@pytest.mark.slow
def test_websocket_follows_the_task_to_its_next_attempt(tmp_path):
    env = base_env(tmp_path) | {
        "RCLAUDE_TASKS__VISIBILITY_TIMEOUT": "2",
        "RCLAUDE_ORCHESTRATOR__INTERVAL": "0.5",
    }
    srv = Server(tmp_path, free_port(), env).start()
    try:
        client, token = srv.token_client("redelivery@example.com")
        task = client.post(
            "/api/tasks",
            json={
                "spec": {
                    "command": ["sh", "-c", "echo attempt-$RCLAUDE_ATTEMPT; sleep 30"],
                    "max_attempts": 2,
                    "pty": False,
                }
            },
        ).json()
        with ws_connect(srv, task["id"], token=token) as ws:
            first, _, _ = read_until(ws, lambda o, _c: b"attempt-1" in o)
            worker = client.get(f"/api/tasks/{task['id']}").json()["worker_id"]
            with sqlite3.connect(srv.data_dir / "rclaude.db") as db:
                (pid,) = db.execute("SELECT pid FROM workers WHERE id=?", (worker,)).fetchone()
            os.kill(pid, signal.SIGKILL)
            out, controls, _ = read_until(ws, lambda o, _c: b"attempt-2" in o, timeout=30)
        assert {"type": "attempt", "attempt": 2} in controls
        assert not any(c["type"] == "final" for c in controls)  # a lost attempt is no end
        assert (first + out).count(b"attempt-1") == 1 and out.endswith(b"attempt-2\n")
        client.post(f"/api/tasks/{task['id']}/cancel")
        wait_for(lambda: client.get(f"/api/tasks/{task['id']}").json()["state"] == "cancelled")
        attempts = client.get(f"/api/tasks/{task['id']}/attempts").json()
        assert [a["state"] for a in attempts] == ["lost", "cancelled"]
        assert attempts[0]["reason"].startswith("worker lost")
    finally:
        srv.stop()
