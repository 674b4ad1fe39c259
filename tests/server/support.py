"""A real ``rclaude serve`` in a subprocess on a free port, and sign-in helpers.

The server runs with its own data dir (SQLite + blob directory) and local workers; the
dev mailer writes magic links to ``<data dir>/outbox.jsonl``, which the helpers read
like a user reading their mail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.waiting import wait_for  # noqa: F401  (the server tests' import)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLAUDE_")}
    env.update(
        {
            "RCLAUDE_DATA_DIR": str(root / "data"),
            "XDG_CONFIG_HOME": str(root / "config"),
            "RCLAUDE_WORKER__IDLE_TIMEOUT": "30",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class Server:
    root: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return Path(self.env["RCLAUDE_DATA_DIR"])

    def start(self, *extra: str) -> Server:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rclaude.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--host",
                    "127.0.0.1",
                    *extra,
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not come up")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.kill_workers()

    def kill_workers(self) -> None:
        db = self.data_dir / "rclaude.db"
        if not db.exists():
            return
        import sqlite3

        with sqlite3.connect(db) as c:
            try:
                pids = [r[0] for r in c.execute("SELECT pid FROM workers WHERE pid IS NOT NULL")]
            except sqlite3.Error:
                pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def outbox(self) -> list[dict]:
        path = self.data_dir / "outbox.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def magic_token(self, email: str) -> str:
        """The token of the newest mail to ``email`` (as a user would click it)."""
        for mail in reversed(self.outbox()):
            if mail["to"] == email:
                return mail["body"].split("#token=", 1)[1].split()[0]
        raise AssertionError(f"no mail for {email}")

    def request_link(self, email: str) -> str:
        r = httpx.post(f"{self.url}/api/auth/request", json={"email": email})
        assert r.status_code == 202, r.text
        return self.magic_token(email)

    def browser_client(self, email: str) -> httpx.Client:
        """An httpx client holding a session cookie, sending this server's Origin."""
        token = self.request_link(email)
        c = httpx.Client(base_url=self.url, headers={"origin": self.url})
        r = c.post("/api/auth/verify", json={"token": token})
        assert r.status_code == 200, r.text
        return c

    def api_token(self, email: str) -> str:
        token = self.request_link(email)
        r = httpx.post(
            f"{self.url}/api/auth/verify", json={"token": token, "api_token_name": "tests"}
        )
        assert r.status_code == 200, r.text
        return r.json()["api_token"]

    def token_client(self, email: str) -> tuple[httpx.Client, str]:
        token = self.api_token(email)
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {token}"}), token


def ws_url(server: Server, task_id: str, **params) -> str:
    from urllib.parse import urlencode

    q = f"?{urlencode(params)}" if params else ""
    return f"ws://127.0.0.1:{server.port}/api/tasks/{task_id}/terminal{q}"


def ws_connect(
    server: Server,
    task_id: str,
    *,
    token: str | None = None,
    cookie: str | None = None,
    origin: str | None = None,
    **params,
):
    """A sync WebSocket to a task's terminal (raises InvalidStatus when refused)."""
    from websockets.sync.client import connect

    headers = {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if cookie:
        headers["cookie"] = f"rc_session={cookie}"
    return connect(
        ws_url(server, task_id, **params),
        additional_headers=headers,
        origin=origin,
        compression=None,
        max_size=None,
        open_timeout=10,
    )


def read_until(ws, predicate, timeout: float = 20.0) -> tuple[bytes, list[dict], int]:
    """Collect output (and control messages) until ``predicate(output, controls)``.

    Returns (output bytes, control messages, last output seq)."""
    out = bytearray()
    controls: list[dict] = []
    last = 0
    deadline = time.monotonic() + timeout
    while not predicate(bytes(out), controls):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; got {bytes(out)[-300:]!r} {controls[-3:]}")
        msg = ws.recv(timeout=left)
        if isinstance(msg, bytes):
            last = int.from_bytes(msg[:4], "big")
            out += msg[4:]
        else:
            controls.append(json.loads(msg))
    return bytes(out), controls, last


def has_final(_out: bytes, controls: list[dict]) -> bool:
    return any(c.get("type") == "final" for c in controls)
