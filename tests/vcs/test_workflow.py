"""The git workflow against a real local bare repository and the fake GitHub API."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from rclaude.config.schema import GitSettings
from rclaude.errors import ValidationError
from rclaude.model import Task, TaskSpec
from rclaude.vcs import finalize, prepare_workspace
from rclaude.vcs.git import git_env
from tests.support.fake_github import FakeGitHub

TOKEN = "ghp_SECRETTOKEN1234567890"


def sh(*args: str, cwd: Path) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def remote(tmp_path) -> Path:
    """A bare repo with one commit on main, as the 'origin' of the task."""
    seed = tmp_path / "seed"
    seed.mkdir()
    env = git_env(None, author=("seed", "seed@example.com"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        if args[0] == "add":
            (seed / "README.md").write_text("hello\n")
        subprocess.run(["git", *args], cwd=seed, env=env, check=True)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    return bare


@pytest.fixture
def github(remote):
    with FakeGitHub() as fake:
        fake.tokens[TOKEN] = {"login": "octo", "scopes": "repo"}
        fake.git_remotes["octo/app"] = str(remote)
        yield fake


class RecordingRun:
    """Wraps subprocess.run and records every argv and env it is given."""

    def __init__(self) -> None:
        self.argvs: list[list[str]] = []
        self.envs: list[dict[str, str]] = []

    def __call__(self, argv, **kw):
        self.argvs.append(list(argv))
        self.envs.append(dict(kw.get("env") or {}))
        return subprocess.run(argv, **kw)


def task_for(spec: TaskSpec, task_id: str = "t0001") -> Task:
    return Task(id=task_id, spec=spec)


def test_clone_branch_commit_push_pr_and_no_token_anywhere(tmp_path, remote, github, caplog):
    caplog.set_level(logging.DEBUG)
    run = RecordingRun()
    settings = GitSettings(api_url=github.url, github_repo="octo/app")
    spec = TaskSpec(prompt="add a greeting", name="greet", repo=str(remote))
    ws = tmp_path / "ws"
    ctx = prepare_workspace(spec, ws, lambda: TOKEN, task_id="t0001", settings=settings, run=run)
    assert ctx.branch == "rclaude/greet" and ctx.base_branch == "main"
    assert sh("git", "symbolic-ref", "--short", "HEAD", cwd=ws) == "rclaude/greet"

    (ws / "hello.py").write_text("print('hi')\n")
    (ws / "README.md").unlink()
    out = finalize(ctx, task_for(spec), auto_commit=True, push=True, pull_request=True)

    assert out["errors"] == []
    assert out["branch"] == "rclaude/greet" and out["pushed"] is True
    assert out["pr_url"] == "https://github.com/octo/app/pull/1"
    # verified with git itself on the bare remote
    log = sh("git", "log", "--format=%H %s", "rclaude/greet", cwd=remote)
    assert log.splitlines()[0].startswith(out["commit"])
    assert "rclaude: greet" in log
    files = sh("git", "ls-tree", "--name-only", "rclaude/greet", cwd=remote).split()
    assert files == ["hello.py"]  # the deletion travelled too
    assert sh("git", "log", "-1", "--format=%an <%ae>", "rclaude/greet", cwd=remote) == (
        "rclaude <rclaude@users.noreply.github.com>"
    )
    # the PR call as GitHub sees it
    (pr_call,) = github.calls("POST", "/repos/octo/app/pulls")
    assert pr_call.body["head"] == "rclaude/greet" and pr_call.body["base"] == "main"
    assert "add a greeting" in pr_call.body["body"]
    assert pr_call.headers["authorization"] == f"Bearer {TOKEN}"

    # the token is nowhere but the git child's environment
    assert all(TOKEN not in " ".join(a) for a in run.argvs)
    assert any(e.get("RCLAUDE_GIT_TOKEN") == TOKEN for e in run.envs)
    assert TOKEN not in (ws / ".git" / "config").read_text()
    assert TOKEN not in sh("git", "remote", "-v", cwd=ws)
    assert TOKEN not in caplog.text
    assert any(a[:2] == ["git", "push"] for a in run.argvs)


def test_credential_helper_hands_the_token_to_git(tmp_path, remote):
    """The helper configured through the environment answers git's credential request."""
    ctx = prepare_workspace(TaskSpec(prompt="x", repo=str(remote)), tmp_path / "w", lambda: TOKEN)
    env = ctx.git.env(with_token=True)
    proc = subprocess.run(
        ["git", "credential", "fill"],
        input="protocol=https\nhost=github.com\npath=octo/app.git\n\n",
        cwd=ctx.workspace,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"password={TOKEN}" in proc.stdout
    assert "username=x-access-token" in proc.stdout
    # without the token in the env nothing is handed out, and no prompt is attempted
    proc = subprocess.run(
        ["git", "credential", "fill"],
        input="protocol=https\nhost=github.com\n\n",
        cwd=ctx.workspace,
        env=ctx.git.env(with_token=False),
        capture_output=True,
        text=True,
    )
    assert TOKEN not in proc.stdout


def test_retried_attempt_continues_branch_and_reuses_open_pr(tmp_path, remote, github):
    settings = GitSettings(api_url=github.url, github_repo="octo/app")
    spec = TaskSpec(prompt="p", name="again", repo=str(remote))
    out = None
    for i in range(2):
        ctx = prepare_workspace(spec, tmp_path / f"w{i}", lambda: TOKEN, settings=settings)
        (ctx.workspace / f"f{i}.txt").write_text(str(i))
        out = finalize(ctx, task_for(spec), True, True, True)
    assert out["errors"] == [] and out["pr_url"] == "https://github.com/octo/app/pull/1"
    assert len(github.pulls["octo/app"]) == 1
    # the second attempt built on the first one's pushed branch
    files = sh("git", "ls-tree", "--name-only", "rclaude/again", cwd=remote).split()
    assert {"f0.txt", "f1.txt"} <= set(files)


def test_no_changes_means_no_push_and_no_pr(tmp_path, remote, github):
    settings = GitSettings(api_url=github.url, github_repo="octo/app")
    spec = TaskSpec(prompt="p", name="noop", repo=str(remote))
    ctx = prepare_workspace(spec, tmp_path / "w", lambda: TOKEN, settings=settings)
    out = finalize(ctx, task_for(spec), True, True, True)
    assert out["pushed"] is False and out["pr_url"] is None
    assert github.calls("POST") == []
    assert sh("git", "branch", "--list", "rclaude/noop", cwd=remote) == ""


def test_pr_failure_is_reported_not_raised(tmp_path, remote, github):
    settings = GitSettings(api_url=github.url, github_repo="octo/app")
    spec = TaskSpec(prompt="p", name="bad", repo=str(remote))
    ctx = prepare_workspace(spec, tmp_path / "w", lambda: "wrong-token", settings=settings)
    (ctx.workspace / "x").write_text("x")
    out = finalize(ctx, task_for(spec), True, True, True)
    assert out["pushed"] is True  # the local push needs no token
    assert out["pr_url"] is None
    assert out["errors"][0]["code"] == "RC-GITHUB-401"


def test_branch_given_is_the_base(tmp_path, remote):
    sh("git", "branch", "dev", "main", cwd=remote)
    spec = TaskSpec(prompt="p", name="b", repo=str(remote), branch="dev")
    ctx = prepare_workspace(spec, tmp_path / "w", None)
    assert ctx.base_branch == "dev" and ctx.branch == "rclaude/b"


@pytest.mark.parametrize(
    "url", ["https://x-access-token:ghp_abc@github.com/o/r.git", "https://ghp_abc@github.com/o/r"]
)
def test_credentials_in_url_rejected_before_cloning(tmp_path, url):
    run = RecordingRun()
    with pytest.raises(ValidationError) as err:
        prepare_workspace(TaskSpec(prompt="p", repo=url), tmp_path / "w", None, run=run)
    assert err.value.code == "RC-GIT-001"
    assert run.argvs == []


def test_option_like_repo_rejected(tmp_path):
    with pytest.raises(ValidationError):
        prepare_workspace(TaskSpec(prompt="p", repo="--upload-pack=evil"), tmp_path / "w", None)


def test_pull_request_needs_push(tmp_path, remote):
    spec = TaskSpec(prompt="p", repo=str(remote))
    ctx = prepare_workspace(spec, tmp_path / "w", None, settings=GitSettings(github_repo="o/r"))
    with pytest.raises(ValidationError) as err:
        finalize(ctx, task_for(spec), True, False, True)
    assert err.value.code == "RC-GIT-004"


def test_pull_request_needs_a_github_repo(tmp_path, remote):
    spec = TaskSpec(prompt="p", repo=str(remote))
    ctx = prepare_workspace(spec, tmp_path / "w", None)
    with pytest.raises(ValidationError) as err:
        finalize(ctx, task_for(spec), True, True, True)
    assert err.value.code == "RC-GIT-005"


def test_workspace_without_repo_is_left_alone(tmp_path):
    ws = tmp_path / "plain"
    ws.mkdir()
    ctx = prepare_workspace(TaskSpec(command=("true",)), ws, None)
    assert ctx.enabled is False
    spec = TaskSpec(command=("true",))
    assert finalize(ctx, task_for(spec), True, True, True)["commit"] is None
    assert not (ws / ".git").exists()


def test_existing_repo_in_workspace_gets_a_branch(tmp_path, remote):
    ws = tmp_path / "existing"
    subprocess.run(["git", "clone", "-q", str(remote), str(ws)], check=True)
    ctx = prepare_workspace(TaskSpec(command=("true",), name="local"), ws, None)
    assert ctx.enabled and ctx.branch == "rclaude/local" and ctx.remote_url == str(remote)


def test_parse_repo():
    from rclaude.vcs.github import parse_repo

    assert parse_repo("https://github.com/octo/app.git") == "octo/app"
    assert parse_repo("git@github.com:octo/app.git") == "octo/app"
    assert parse_repo("octo/app") == "octo/app"
    assert parse_repo("/tmp/remote.git") is None


def test_check_git_reports_scopes(github):
    from rclaude.config.schema import Config
    from rclaude.vcs import check_git

    cfg = Config(git={"api_url": github.url})
    assert [ok for _, ok, _ in check_git(cfg, env={"GITHUB_TOKEN": TOKEN})] == [True, True]
    github.tokens["cs-only"] = {"login": "octo", "scopes": "codespace"}
    res = check_git(cfg, env={"GITHUB_TOKEN": "cs-only"})
    assert res[-1][1] is False and "repo" in res[-1][2]
    assert check_git(cfg, env={"PATH": ""})[0][1] is False


def test_token_provider_is_lazy_and_cached(tmp_path):
    from rclaude.compute.tokens import github_token_provider

    env = {"GITHUB_TOKEN": "first"}
    provide = github_token_provider(env)
    env["GITHUB_TOKEN"] = "second"  # looked up on first use, not at construction
    assert provide() == "second"
    env["GITHUB_TOKEN"] = "third"
    assert provide() == "second"


def test_bad_github_repo_setting(tmp_path, remote):
    with pytest.raises(ValidationError) as err:
        prepare_workspace(
            TaskSpec(prompt="p", repo=str(remote)),
            tmp_path / "w",
            None,
            settings=GitSettings(github_repo="octo/app/../../x"),
        )
    assert err.value.code == "RC-GIT-006"
    assert not (tmp_path / "w").exists()  # nothing cloned
