"""An agent task end to end through the real CLI and a worker: the agent's stream-json
events parsed in `logs --json`, its change committed on rclaude/<task> and pushed to a
real bare repository, a pull request opened on an API-following GitHub server, and a
signed webhook notification when it finishes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.fake_github import FakeGitHub
from tests.support.webhook_receiver import Receiver

AGENT = Path(__file__).resolve().parents[1] / "support" / "fake_agent.py"
TOKEN = "gh-e2e-token-value"


def make_remote(tmp_path: Path) -> Path:
    seed = tmp_path / "seed"
    seed.mkdir()
    env = {
        "GIT_AUTHOR_NAME": "s",
        "GIT_AUTHOR_EMAIL": "s@e",
        "GIT_COMMITTER_NAME": "s",
        "GIT_COMMITTER_EMAIL": "s@e",
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    (seed / "README.md").write_text("hello\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=seed, env=env, check=True)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    return bare


def test_agent_task_with_git_pr_and_notification(cli, tmp_path):
    remote = make_remote(tmp_path)
    receiver = Receiver("whsec-e2e")
    with FakeGitHub() as github:
        github.tokens[TOKEN] = {"login": "octo", "scopes": "repo"}
        github.git_remotes["octo/app"] = str(remote)
        cli.env.update(
            {
                "RCLAUDE_AGENT__COMMAND": json.dumps(
                    [
                        sys.executable,
                        str(AGENT),
                        "-p",
                        "{prompt}",
                        "--output-format",
                        "stream-json",
                        "--verbose",
                    ]
                ),
                "RCLAUDE_GIT__API_URL": github.url,
                "RCLAUDE_GIT__GITHUB_REPO": "octo/app",
                "RCLAUDE_NOTIFY__WEBHOOK_URL": receiver.url,
                "RCLAUDE_WEBHOOK_SECRET": "whsec-e2e",
                "GITHUB_TOKEN": TOKEN,
            }
        )
        try:
            r = cli(
                "run",
                "agent-1",
                "--prompt",
                "add notes",
                "--repo",
                str(remote),
                "--pull-request",
                "--notify",
                timeout=120,
            )
            assert r.returncode == 0, r.stderr.decode()
        finally:
            receiver.close()
        st = cli.json("status", "agent-1", "--json")
        assert st["state"] == "succeeded"
        git = st["result"]["git"]
        assert git["branch"] == "rclaude/agent-1" and git["pushed"] and git["errors"] == []
        assert st["result"]["pull_request"] == "https://github.com/octo/app/pull/1"
        assert st["result"]["agent"]["cost_usd"] is not None
        (pr,) = github.pulls["octo/app"]
        assert pr["head"]["ref"] == "rclaude/agent-1"
    # The branch really is in the bare repository, with the agent's change.
    log = subprocess.run(
        ["git", "log", "--oneline", "rclaude/agent-1"],
        cwd=remote,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert len(log.splitlines()) == 2
    assert TOKEN not in (remote / "config").read_text()
    # Parsed agent events sit next to the raw chunks in logs --json.
    lines = [json.loads(x) for x in cli("logs", "agent-1", "--json").stdout.splitlines()]
    kinds = [x["event"]["kind"] for x in lines if x["kind"] == "agent"]
    assert "init" in kinds and "tool_call" in kinds and kinds[-1] == "result"
    # results shows the pull request.
    assert b"pull request: https://github.com/octo/app/pull/1" in cli("results", "agent-1").stdout
    # Signed notification delivered once the task finished.
    assert [d["event"] for d in receiver.delivered] == ["success"]
    assert all(x["verified"] for x in receiver.received)
    worker_logs = "".join(p.read_text() for p in (cli.root / "data" / "workers").glob("*.log"))
    assert TOKEN not in worker_logs
