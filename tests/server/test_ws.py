"""The task WebSocket: replay then live, keystrokes, resize, resume, flow control."""

from __future__ import annotations

import json
import re

import pytest
from websockets.exceptions import ConnectionClosedOK

from tests.server.support import has_final, read_until, wait_for, ws_connect

WINDOW = 2 * 1024 * 1024
MAX_FRAME = 256 * 1024


@pytest.fixture(scope="module")
def user(server):
    client, token = server.token_client("ws-user@example.com")
    yield client, token
    client.close()


def _submit(client, command, **spec):
    r = client.post("/api/tasks", json={"spec": {"command": command, **spec}})
    assert r.status_code == 201, r.text
    return r.json()


def test_keystrokes_and_resize_reach_the_task(server, user):
    client, token = user
    task = _submit(client, ["bash", "--norc", "--noprofile"], cols=80, rows=24)
    with ws_connect(server, task["id"], token=token) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello" and hello["attempt"] == 1
        ws.send(json.dumps({"type": "resize", "cols": 101, "rows": 37}))
        ws.send(b"stty size; echo sum=$((6*7))\n")
        out, _, _ = read_until(ws, lambda o, _c: b"sum=42" in o)
        assert re.search(rb"\b37 101\b", out)
        ws.send(b"exit 4\n")
        _, controls, _ = read_until(ws, has_final)
        final = [c for c in controls if c["type"] == "final"][0]
        assert final["exit_status"] == 4 and final["info"]["state"] == "failed"
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=10)


def test_replay_then_live_and_resume_without_gap_or_duplicate(server, user):
    client, token = user
    script = "read go; for i in $(seq 1 300); do echo line-$i; done; read stop; echo tail-end"
    task = _submit(client, ["bash", "-c", script], pty=False)
    with ws_connect(server, task["id"], token=token) as ws:
        json.loads(ws.recv(timeout=10))
        ws.send(b"go\n")
        first, _, last = read_until(ws, lambda o, _c: b"line-120\n" in o)
        attempt = 1
    # Reconnect from the last seq seen: the rest follows, nothing twice.
    with ws_connect(server, task["id"], token=token, attempt=attempt, after_seq=last) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["after_seq"] == last
        middle, _, _ = read_until(ws, lambda o, _c: (first + o).count(b"line-300\n") == 1)
        ws.send(b"stop\n")  # live again after the replay
        rest, _, _ = read_until(ws, has_final)
    text = (first + middle + rest).decode()
    lines = text.splitlines()
    assert lines == [f"line-{i}" for i in range(1, 301)] + ["tail-end"]


def test_flow_control_pauses_until_the_client_acknowledges(server, user):
    client, token = user
    total = 8_000_000
    task = _submit(client, ["sh", "-c", f"head -c {total} /dev/zero | tr '\\000' x"], pty=False)
    wait_for(lambda: client.get(f"/api/tasks/{task['id']}").json()["state"] == "succeeded")
    with ws_connect(server, task["id"], token=token, flow="ack") as ws:
        json.loads(ws.recv(timeout=10))
        unacked, seqs = 0, []
        # Without acks the server sends at most one window (plus the frame crossing it).
        try:
            while True:
                msg = ws.recv(timeout=1.5)
                assert isinstance(msg, bytes)
                unacked += len(msg) - 4
                seqs.append(int.from_bytes(msg[:4], "big"))
        except TimeoutError:
            pass
        assert WINDOW <= unacked <= WINDOW + MAX_FRAME
        got = unacked
        ws.send(json.dumps({"type": "ack", "seq": seqs[-1]}))
        while True:  # acknowledging every frame lets the whole output through
            msg = ws.recv(timeout=10)
            if isinstance(msg, str):
                assert json.loads(msg)["type"] == "final"
                break
            got += len(msg) - 4
            try:
                ws.send(json.dumps({"type": "ack", "seq": int.from_bytes(msg[:4], "big")}))
            except ConnectionClosedOK:
                pass  # the server sent everything and closed; the final is still buffered
    assert got == total


def test_cancelled_while_queued_ends_the_stream(server, user):
    client, token = user
    task = _submit(client, ["sleep", "30"], name="to-cancel")
    client.post(f"/api/tasks/{task['id']}/cancel")
    with ws_connect(server, task["id"], token=token) as ws:
        _, controls, _ = read_until(ws, has_final)
    final = [c for c in controls if c["type"] == "final"][0]
    assert final["info"]["state"] == "cancelled"
    assert final["exit_status"] == 130


def test_long_poll_output_endpoint(server, user):
    import base64

    client, _ = user
    task = _submit(client, ["sh", "-c", "printf abc"], pty=False)
    got, after = b"", 0
    while True:
        r = client.get(
            f"/api/tasks/{task['id']}/output", params={"after_seq": after, "wait": 10}, timeout=30
        ).json()
        for ch in r["chunks"]:
            after = ch["seq"]
            if ch["kind"] == "out":
                got += base64.b64decode(ch["data"])
        if any(ch["kind"] == "final" for ch in r["chunks"]):
            break
    assert got == b"abc"
    assert r["task"]["state"] == "succeeded"
