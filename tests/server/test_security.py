"""Isolation between users, Origin checks, CSRF, and secrets kept out of bodies and logs."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.server.support import has_final, read_until, wait_for, ws_connect


@pytest.fixture
def two_users(server):
    a, a_token = server.token_client("owner@example.com")
    b, b_token = server.token_client("intruder@example.com")
    task = a.post("/api/tasks", json={"spec": {"command": ["cat"], "name": "private-job"}}).json()
    wait_for(lambda: a.get(f"/api/tasks/{task['id']}").json()["state"] == "running")
    yield a, a_token, b, b_token, task
    a.post(f"/api/tasks/{task['id']}/cancel")


def test_second_user_cannot_list_read_or_cancel_the_first_users_task(two_users):
    a, _, b, _, task = two_users
    tid = task["id"]
    assert tid not in [t["id"] for t in b.get("/api/tasks").json()]
    assert tid in [t["id"] for t in a.get("/api/tasks").json()]
    for ref in (tid, tid[:6], "private-job"):
        r = b.get(f"/api/tasks/{ref}")
        assert r.status_code == 404, ref
        assert r.json()["error"]["code"] == "RC-TASK-001"
    for path in ("attempts", "output", "results", "results.tar.gz", "blobs/" + "0" * 64):
        assert b.get(f"/api/tasks/{tid}/{path}").status_code == 404, path
    assert b.post(f"/api/tasks/{tid}/input", json={"data": "ZWNobwo="}).status_code == 404
    assert b.post(f"/api/tasks/{tid}/cancel").status_code == 404
    assert a.get(f"/api/tasks/{tid}").json()["state"] == "running"


def test_second_user_cannot_attach_over_websocket(server, two_users):
    _, a_token, _, b_token, task = two_users
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(server, task["id"], token=b_token)
    assert refused.value.response.status_code == 404
    with ws_connect(server, task["id"], token=a_token) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello" and hello["task"]["id"] == task["id"]


def test_websocket_from_a_foreign_origin_is_refused(server):
    c = server.browser_client("origin-check@example.com")
    cookie = c.cookies["rc_session"]
    task = c.post("/api/tasks", json={"spec": {"command": ["echo", "hi"]}}).json()
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(server, task["id"], cookie=cookie, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    # The same cookie without any Origin (not a browser) is not enough either.
    with pytest.raises(InvalidStatus) as anonymous:
        ws_connect(server, task["id"], cookie=cookie)
    assert anonymous.value.response.status_code == 401
    with ws_connect(server, task["id"], cookie=cookie, origin=server.url) as ws:
        out, _, _ = read_until(ws, has_final)
        assert b"hi" in out


def test_unauthenticated_callers_get_401(server):
    assert httpx.get(f"{server.url}/api/tasks").status_code == 401
    assert (
        httpx.get(
            f"{server.url}/api/tasks", headers={"authorization": "Bearer rct_forged"}
        ).status_code
        == 401
    )
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(server, "whatever", origin=server.url)
    assert refused.value.response.status_code == 401


def test_cookie_writes_need_this_servers_origin(server):
    c = server.browser_client("csrf@example.com")
    spec = {"spec": {"command": ["echo", "x"]}}
    forged = c.post("/api/tasks", json=spec, headers={"origin": "http://evil.example"})
    assert forged.status_code == 403
    no_origin = httpx.post(
        f"{server.url}/api/tasks", json=spec, cookies={"rc_session": c.cookies["rc_session"]}
    )
    assert no_origin.status_code == 403
    assert c.get("/api/tasks").json() == []
    assert c.post("/api/tasks", json=spec).status_code == 201


def test_secrets_never_appear_in_responses_or_logs(server):
    email = "secrets@example.com"
    magic = server.request_link(email)
    c = httpx.Client(base_url=server.url, headers={"origin": server.url})
    bodies = []
    r = c.post("/api/auth/verify", json={"token": magic})
    bodies.append(r.text)
    session = c.cookies["rc_session"]
    created = c.post("/api/tokens", json={"name": "x"})
    api_token = created.json()["api_token"]  # shown once, at creation, by design
    bearer = {"authorization": f"Bearer {api_token}"}
    task = c.post("/api/tasks", json={"spec": {"command": ["sh", "-c", "env; echo done"]}}).json()
    bodies.append(json.dumps(task))
    wait_for(lambda: c.get(f"/api/tasks/{task['id']}").json()["state"] == "succeeded")
    for path in (
        "/api/me",
        "/api/tokens",
        "/api/tasks",
        f"/api/tasks/{task['id']}",
        f"/api/tasks/{task['id']}/output",
        "/metrics",
        "/",
    ):
        bodies.append(c.get(path).text)
        bodies.append(httpx.get(server.url + path, headers=bearer).text)
    bodies.append(c.post("/api/auth/logout").text)
    logs = server.log_path.read_text()
    logs += "".join(
        p.read_text(errors="replace") for p in (server.data_dir / "workers").glob("*.log")
    )
    chunks = httpx.get(f"{server.url}/api/tasks/{task['id']}/output", headers=bearer).json()
    output = b"".join(base64.b64decode(ch["data"]) for ch in chunks["chunks"]).decode()
    assert "done" in output
    for secret in (magic, session, api_token):
        assert secret not in logs
        assert secret not in output  # the task's environment carries no credentials
        for body in bodies:
            assert secret not in body
    assert email in logs  # the dev mailer names the recipient, not the link
