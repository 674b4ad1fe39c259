"""End to end: the real `rclaude run` CLI with local compute and the production adapters
(SQS and S3 on a moto server, Redis Streams, PostgreSQL)."""

from __future__ import annotations

import hashlib
import json

import pytest

from rclaude import awsutil, snapshot
from rclaude.adapters.sql_store import SqlTaskStore
from rclaude.model import TaskState
from rclaude.platform import Platform
from tests.production.support import BUCKET, config_of, prod_env, rclaude, stop_workers

pytestmark = pytest.mark.slow


@pytest.fixture
def env(aws, redis_srv, postgres_srv, tmp_path):
    db = postgres_srv.create_database("e2e")
    env = prod_env(aws, redis_srv.url, db, tmp_path)
    yield env
    stop_workers(db)


def test_run_streams_output_and_returns_changed_files(env, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "input.txt").write_text("from the laptop\n")
    (project / "gone.txt").write_text("delete me\n")
    script = "cat input.txt; echo built > out.txt; rm gone.txt; echo line-$RCLAUDE_ATTEMPT"
    out = rclaude(env, "run", "--no-pty", "-C", str(project), "--", "sh", "-c", script)
    assert out.stdout.decode().splitlines()[:2] == ["from the laptop", "line-1"]

    cfg = config_of(env)
    store = SqlTaskStore(env["RCLAUDE_DATABASE"])  # task state lives in PostgreSQL
    try:
        (task,) = store.list()
        assert task.state is TaskState.SUCCEEDED and task.exit_code == 0
        assert [(a.number, a.state) for a in store.attempts(task.id)] == [(1, TaskState.SUCCEEDED)]
    finally:
        store.close()
    assert task.result["added"] == ["out.txt"] and task.result["deleted"] == ["gone.txt"]

    with Platform(cfg) as p:
        # The changed file travelled through S3 ...
        dest = tmp_path / "results"
        assert p.service.download_results(task, dest) == ["out.txt"]
        assert (dest / "out.txt").read_text() == "built\n"
        sha = hashlib.sha256(b"built\n").hexdigest()
        s3 = awsutil.client("s3", region="us-east-1", endpoint_url=env["RCLAUDE_S3__ENDPOINT_URL"])
        body = s3.get_object(Bucket=BUCKET, Key="rclaude/" + snapshot.blob_key(sha))["Body"]
        assert body.read() == b"built\n"
        assert p.store.exists(snapshot.manifest_key(task.result["snapshot"]))
        # ... the output through the Redis stream, closed by its FINAL entry ...
        chunks = list(p.log.read(task.id, 1))
        assert b"".join(c.data for c in chunks[:-1]).startswith(b"from the laptop\n")
        assert chunks[-1].final_info()["state"] == "succeeded"
        # ... and the message was deleted from SQS.
        assert p.queue.depth() == 0

    status = json.loads(rclaude(env, "status", task.id, "--json").stdout)
    assert status["state"] == "succeeded"


def test_failing_command_exit_code_travels_back(env, tmp_path):
    out = rclaude(env, "run", "--no-sync", "--", "sh", "-c", "echo oops >&2; exit 3", check=False)
    assert out.returncode == 3
    assert b"oops" in out.stdout + out.stderr
