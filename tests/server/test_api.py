"""REST API: health, metrics, submit validation, snapshot upload, results download,
and the RemoteTaskService (the CLI's HTTP twin) against the real server."""

from __future__ import annotations

import hashlib
import io
import tarfile

import httpx
import pytest

from rclaude.config.schema import Config
from rclaude.errors import ConflictError, NotFoundError
from rclaude.model import ChunkKind, TaskSpec
from tests.server.support import wait_for


@pytest.fixture(scope="module")
def user(server):
    client, token = server.token_client("api-user@example.com")
    yield client, token
    client.close()


@pytest.fixture
def remote(server, user):
    from rclaude.client import RemoteTaskService

    svc = RemoteTaskService(Config(server={"url": server.url}), token=user[1])
    yield svc
    svc.close()


def test_healthz_and_metrics(server, user):
    client, token = user
    assert httpx.get(f"{server.url}/healthz").json() == {"ok": True}
    task = client.post("/api/tasks", json={"spec": {"command": ["true"]}}).json()
    wait_for(lambda: client.get(f"/api/tasks/{task['id']}").json()["state"] == "succeeded")
    assert httpx.get(f"{server.url}/metrics").status_code == 401  # scrapers need a token
    text = httpx.get(f"{server.url}/metrics", headers={"authorization": f"Bearer {token}"}).text
    for name in (
        "rclaude_queue_depth",
        "rclaude_workers{",
        "rclaude_websocket_clients",
        "rclaude_task_duration_seconds_bucket",
        "rclaude_http_requests_total",
    ):
        assert name in text, name
    count = [ln for ln in text.splitlines() if ln.startswith("rclaude_task_duration_seconds_count")]
    assert float(count[0].split()[-1]) >= 1


def test_responses_carry_security_headers(server):
    r = httpx.get(f"{server.url}/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert "/static/dist/app.js" in r.text  # the built bundle, served by this server


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ({"command": []}, "RC-USAGE-002"),
        ({"command": ["x"], "sudo": True}, "RC-API-004"),
        ({"command": ["x"], "timeout": -1}, "RC-TASK-005"),
        ({"command": ["x"], "name": "bad name!"}, "RC-TASK-004"),
        ({"command": ["x"], "snapshot_id": "f" * 64}, "RC-SNAP-004"),
    ],
)
def test_invalid_tasks_are_refused_with_a_code(user, spec, code):
    client, _ = user
    r = client.post("/api/tasks", json={"spec": spec})
    assert r.status_code in (400, 404)
    assert r.json()["error"]["code"] == code


def test_a_string_command_is_split_like_a_shell(user):
    client, _ = user
    task = client.post("/api/tasks", json={"spec": {"command": "echo 'a b' c"}}).json()
    assert task["spec"]["command"] == ["echo", "a b", "c"]


def test_blob_uploads_are_verified_against_their_sha(server, user):
    client, _ = user
    sha = hashlib.sha256(b"right").hexdigest()
    r = client.put(f"/api/blobs/{sha}", content=b"wrong")
    assert r.status_code == 400 and r.json()["error"]["code"] == "RC-SNAP-007"
    assert client.put(f"/api/blobs/{sha}", content=b"right").status_code == 201
    plan = client.post("/api/snapshots/missing", json={"shas": [sha]}).json()
    assert plan["uploads"] == []


def test_snapshot_paths_cannot_escape(user):
    client, _ = user
    sha = hashlib.sha256(b"right").hexdigest()
    for rel in ("../evil", "/etc/passwd", "a/../../b"):
        r = client.post(
            "/api/snapshots", json={"files": {rel: {"sha": sha, "size": 5, "mode": 420}}}
        )
        assert r.status_code == 400, rel


def test_remote_service_runs_a_project_and_downloads_results(tmp_path, remote, user):
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "a.txt").write_text("alpha\n")
    (project / "sub" / "bin.dat").write_bytes(bytes(range(256)) * 10)
    (project / "gone.txt").write_text("delete me\n")
    spec = TaskSpec(
        command=(
            "sh",
            "-c",
            "cat a.txt; cmp sub/bin.dat sub/bin.dat && echo same; echo new > new.txt; rm gone.txt",
        ),
        pty=False,
    )
    task = remote.submit(spec, project=project)
    out, final = b"", None
    for ev in remote.follow(task):
        if ev.chunk and ev.chunk.kind is ChunkKind.OUTPUT:
            out += ev.chunk.data
        elif ev.chunk and ev.chunk.kind is ChunkKind.FINAL:
            final = ev.chunk.final_info()
    assert out == b"alpha\nsame\n"
    assert final["state"] == "succeeded"
    done = remote.get(task.id)
    assert done.result["added"] == ["new.txt"] and done.result["deleted"] == ["gone.txt"]
    dest = tmp_path / "results"
    dest.mkdir()
    (dest / "gone.txt").write_text("old")
    assert remote.download_results(done, dest, apply_deletions=True) == ["new.txt"]
    assert (dest / "new.txt").read_text() == "new\n"
    assert not (dest / "gone.txt").exists()
    assert b"".join(c.data for c in remote.read(done) if c.kind is ChunkKind.OUTPUT) == out
    assert [a.number for a in remote.attempts(done)] == [1]
    # The browser's archive has the same files.
    client, _ = user
    tgz = client.get(f"/api/tasks/{task.id}/results.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(tgz.content)) as tar:
        assert tar.getnames() == ["new.txt"]
    # A second upload of the unchanged project sends no blob again.
    from rclaude import snapshot

    shas = sorted({i["sha"] for i in snapshot.scan(project).files.values()})
    assert client.post("/api/snapshots/missing", json={"shas": shas}).json()["uploads"] == []


def test_remote_service_raises_the_same_errors(remote):
    with pytest.raises(NotFoundError) as missing:
        remote.get("no-such-task")
    assert missing.value.code == "RC-TASK-001" and missing.value.exit_code == 66
    with pytest.raises(NotFoundError) as no_snapshot:
        remote.submit(TaskSpec(command=("x",), snapshot_id="0" * 64))
    assert no_snapshot.value.code == "RC-SNAP-004"
    first = remote.submit(TaskSpec(command=("sleep", "30"), name="twice"))
    with pytest.raises(ConflictError) as twice:
        remote.submit(TaskSpec(command=("sleep", "30"), name="twice"))
    assert twice.value.code == "RC-TASK-003" and twice.value.exit_code == 73
    remote.cancel(first.id)


def test_remote_cancel_and_list(remote):
    task = remote.submit(TaskSpec(command=("sleep", "30"), name="remote-sleep"))
    wait_for(lambda: remote.get(task.id).state.value == "running")
    assert task.id in [t.id for t in remote.list(states=None)]
    remote.cancel("remote-sleep")
    events = list(remote.follow(task))
    assert events[-1].chunk.final_info()["state"] == "cancelled"
    assert remote.get(task.id).state.value == "cancelled"
