"""The CLI against a server: login (magic link pasted), run/list/logs/stop/results with
the same output and exit codes as the embedded mode, logout revokes the token."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import httpx
import pytest

from tests.server.support import wait_for


@pytest.fixture
def cli_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLAUDE_")}
    env.update(
        {
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "RCLAUDE_DATA_DIR": str(tmp_path / "client-data"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def rc(env, *args, cwd=None, timeout=60, input=None):
    return subprocess.run(
        [sys.executable, "-m", "rclaude.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        input=input,
        start_new_session=True,
    )  # no controlling tty: prompts read stdin


def login(server, env, email):
    proc = subprocess.Popen(
        [sys.executable, "-m", "rclaude.cli", "login", "--server", server.url, "--email", email],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    wait_for(lambda: any(m["to"] == email for m in server.outbox()))
    mail = [m for m in server.outbox() if m["to"] == email][-1]
    link = next(w for w in mail["body"].split() if "#token=" in w)
    out, err = proc.communicate(link.encode() + b"\n", timeout=30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.slow
def test_login_run_list_logs_stop_results_logout(server, cli_env, tmp_path):
    email = "cli-user@example.com"
    assert f"signed in to {server.url} as {email}" in login(server, cli_env, email)
    creds = tmp_path / "config" / "rclaude" / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    token = json.loads(creds.read_text())[server.url]["token"]
    config = (tmp_path / "config" / "rclaude" / "config.yaml").read_text()
    assert server.url in config and token not in config

    project = tmp_path / "proj"
    project.mkdir()
    (project / "in.txt").write_text("from the project\n")
    r = rc(
        cli_env,
        "run",
        "--no-pty",
        "--",
        "sh",
        "-c",
        "cat in.txt; echo out > out.txt; exit 5",
        cwd=project,
    )
    assert r.stdout == b"from the project\n"
    assert r.returncode == 5  # the command's exit status, as in embedded mode

    tasks = json.loads(rc(cli_env, "list", "--all", "--json").stdout)
    assert len(tasks) == 1 and tasks[0]["exit_code"] == 5
    tid = tasks[0]["id"]
    assert rc(cli_env, "logs", tid).stdout == b"from the project\n"
    follow = rc(cli_env, "logs", "-f", tid)
    assert follow.stdout == b"from the project\n" and follow.returncode == 5
    status = json.loads(rc(cli_env, "status", tid, "--json").stdout)
    assert status["state"] == "failed" and status["attempts"][0]["number"] == 1
    dest = tmp_path / "dl"
    res = rc(cli_env, "results", tid, "--download", str(dest))
    assert res.returncode == 0 and b"A out.txt" in res.stdout
    assert (dest / "out.txt").read_text() == "out\n"

    sleeper = (
        rc(cli_env, "run", "-d", "nap", "--no-sync", "--", "sleep", "60").stdout.decode().strip()
    )
    stopped = rc(cli_env, "stop", "nap")
    assert stopped.returncode == 0 and sleeper in stopped.stdout.decode()
    wait_for(
        lambda: json.loads(rc(cli_env, "status", sleeper, "--json").stdout)["state"] == "cancelled"
    )

    missing = rc(cli_env, "logs", "no-such-task")
    assert missing.returncode == 66 and b"RC-TASK-001" in missing.stderr

    out = rc(cli_env, "logout")
    assert out.returncode == 0 and b"logged out" in out.stdout
    assert server.url not in json.loads(creds.read_text())
    me = httpx.get(f"{server.url}/api/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 401  # revoked on the server, not only forgotten
    after = rc(cli_env, "list")
    assert after.returncode == 77 and b"rclaude login" in after.stderr


def test_login_rejects_a_bad_paste(server, cli_env):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rclaude.cli",
            "login",
            "--server",
            server.url,
            "--email",
            "cli-bad@example.com",
        ],
        env=cli_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    _, err = proc.communicate(b"https://x/login#token=" + b"A" * 43 + b"\n", timeout=30)
    assert proc.returncode == 77
    assert b"RC-AUTH-002" in err
