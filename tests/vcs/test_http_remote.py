"""Clone and push over authenticated HTTP: the token reaches git only via the helper."""

from __future__ import annotations

import logging
import subprocess

import pytest

from rclaude.errors import BackendError
from rclaude.model import Task, TaskSpec
from rclaude.vcs import finalize, prepare_workspace
from rclaude.vcs.git import git_env
from tests.vcs.git_http_server import GitHttpServer
from tests.vcs.test_workflow import RecordingRun

TOKEN = "ghs_HTTPTOKEN0987654321"


@pytest.fixture
def http_remote(tmp_path):
    root = tmp_path / "srv"
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "a.txt").write_text("a\n")
    env = git_env(None, author=("s", "s@example.com"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=seed, env=env, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(root / "app.git")], check=True)
    with GitHttpServer(root, TOKEN) as server:
        yield server, root / "app.git"


def test_clone_and_push_over_http_with_helper(tmp_path, http_remote, caplog):
    caplog.set_level(logging.DEBUG)
    server, bare = http_remote
    run = RecordingRun()
    spec = TaskSpec(prompt="p", name="http", repo=server.url("app.git"))
    ctx = prepare_workspace(spec, tmp_path / "ws", lambda: TOKEN, run=run)
    (ctx.workspace / "b.txt").write_text("b\n")
    out = finalize(ctx, Task(id="t1", spec=spec), auto_commit=True, push=True, pull_request=False)

    assert out["pushed"] is True and out["errors"] == []
    log = subprocess.run(
        ["git", "log", "--format=%H", "rclaude/http"],
        cwd=bare,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert log.split()[0] == out["commit"]
    # git was challenged (401) and answered with what the helper supplied
    assert None in server.auth_headers and server.expected in server.auth_headers
    assert all(TOKEN not in p for p in server.paths)
    assert TOKEN not in (ctx.workspace / ".git" / "config").read_text()
    assert all(TOKEN not in " ".join(a) for a in run.argvs)
    assert TOKEN not in caplog.text


def test_wrong_token_fails_cleanly_without_leaking(tmp_path, http_remote, caplog):
    server, _ = http_remote
    spec = TaskSpec(prompt="p", repo=server.url("app.git"))
    with pytest.raises(BackendError) as err:
        prepare_workspace(spec, tmp_path / "ws", lambda: "not-the-token")
    assert err.value.code == "RC-GIT-010"
    assert "not-the-token" not in str(err.value) and "not-the-token" not in caplog.text


def test_no_token_does_not_prompt(tmp_path, http_remote):
    server, _ = http_remote
    spec = TaskSpec(prompt="p", repo=server.url("app.git"))
    with pytest.raises(BackendError):
        prepare_workspace(spec, tmp_path / "ws", lambda: None)
