"""``rclaude serve --no-orchestrator``: the server queues tasks but never starts workers."""

from __future__ import annotations

import sqlite3

from tests.server.support import Server, base_env, free_port


def test_no_orchestrator_leaves_scaling_to_someone_else(tmp_path):
    srv = Server(tmp_path, free_port(), base_env(tmp_path)).start("--no-orchestrator")
    try:
        client, _ = srv.token_client("no-orch@example.com")
        task = client.post("/api/tasks", json={"spec": {"command": ["true"]}}).json()
        # With the orchestrator on, submit registers a worker before answering.
        with sqlite3.connect(srv.data_dir / "rclaude.db") as db:
            assert db.execute("SELECT COUNT(*) FROM workers").fetchone()[0] == 0
        assert client.get(f"/api/tasks/{task['id']}").json()["state"] == "queued"
        assert "rclaude_queue_depth 1.0" in client.get("/metrics").text
    finally:
        srv.stop()
