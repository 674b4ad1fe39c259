"""An agent task end to end: clone, run the stream-json agent, parse, commit, push, PR."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rclaude.agent import build_command, parse_stream, summarize
from rclaude.config.schema import AgentSettings, GitSettings
from rclaude.model import Task, TaskSpec
from rclaude.vcs import finalize, prepare_workspace
from rclaude.vcs.git import git_env
from tests.support.fake_github import FakeGitHub

FAKE_AGENT = Path(__file__).resolve().parents[1] / "support" / "fake_agent.py"


def test_agent_task_end_to_end(tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "app.py").write_text("print(1)\n")
    env = git_env(None, author=("s", "s@example.com"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=seed, env=env, check=True)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)

    with FakeGitHub() as gh:
        gh.git_remotes["octo/app"] = str(bare)
        spec = TaskSpec(prompt="document the app", name="docs", repo=str(bare))
        task = Task(id="task42", spec=spec)
        ctx = prepare_workspace(
            spec,
            tmp_path / "ws",
            lambda: "gh-test-token",
            settings=GitSettings(api_url=gh.url, github_repo="octo/app"),
        )
        agent = AgentSettings(
            command=[
                sys.executable,
                str(FAKE_AGENT),
                "-p",
                "{prompt}",
                "--output-format",
                "stream-json",
            ]
        )
        out = subprocess.run(
            build_command(agent, spec.prompt), cwd=ctx.workspace, capture_output=True, check=True
        ).stdout
        events = list(parse_stream([out]))
        summary = summarize(events)
        result = finalize(ctx, task, auto_commit=True, push=True, pull_request=True)

    assert summary["tool_calls"] == 1 and summary["cost_usd"] > 0
    assert result["pr_url"] == "https://github.com/octo/app/pull/1"
    shown = subprocess.run(
        ["git", "show", "rclaude/docs:AGENT_NOTES.md"],
        cwd=bare,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == "document the app\n"
