"""The agent-task git workflow the worker calls around a task's command.

``prepare_workspace`` (before the command): clone ``spec.repo`` (or use the git repo
already in the workspace), check out the base branch, create ``rclaude/<task>``.

``finalize`` (after it): optionally commit everything (``auto_commit``), push the branch
(``push``) and open a pull request through the GitHub REST API (``pull_request``).
It returns ``{"branch", "commit", "pr_url", "pushed", "errors"}``; a failing push or PR
is reported in ``errors`` (code + message) rather than raised, so the task's own outcome
is never lost to a notification-style side step. Bad input (a URL with credentials in
it, a PR without push, no GitHub repository to open it on) raises before anything runs.

Tokens: see :mod:`rclaude.vcs.git` — only ever in the git child's environment.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rclaude.errors import RclaudeError, ValidationError
from rclaude.vcs.git import Git, Runner, TokenProvider

log = logging.getLogger(__name__)


@dataclass
class GitContext:
    """What ``prepare_workspace`` set up; ``enabled`` is False when there is no repo."""

    workspace: Path
    enabled: bool = False
    remote_url: str | None = None
    base_branch: str | None = None
    branch: str | None = None
    github_repo: str | None = None
    start_commit: str | None = None
    git: Git | None = field(default=None, repr=False)
    settings: Any = field(default=None, repr=False)


def check_repo_url(url: str) -> str:
    """Reject URLs that carry credentials or could be read as git options."""
    if url.startswith("-"):
        raise ValidationError(
            f"invalid repository {url!r}", code="RC-GIT-002", hint="give a URL or a path"
        )
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.password is not None:
        raise ValidationError(
            "the repository URL contains credentials",
            code="RC-GIT-001",
            hint="remove the user:token@ part; rclaude passes the token through a "
            "credential helper (GITHUB_TOKEN or the secret store)",
        )
    if parts.scheme in ("http", "https") and parts.username and parts.username != "git":
        raise ValidationError(
            "the repository URL contains a user name or token",
            code="RC-GIT-001",
            hint="use https://HOST/OWNER/REPO without user info",
        )
    return url


def branch_name(prefix: str, task: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", task).strip("-.") or "task"
    return f"{prefix}{slug[:60]}"


def prepare_workspace(
    spec,
    workspace: str | Path,
    token_provider: TokenProvider | None,
    *,
    task_id: str | None = None,
    settings=None,
    run: Runner | None = None,
) -> GitContext:
    """Clone/branch for ``spec`` in ``workspace``; see the module docstring."""
    from rclaude.config.schema import GitSettings
    from rclaude.vcs.github import parse_repo

    settings = settings or GitSettings()
    workspace = Path(workspace)
    configured_repo = None
    if settings.github_repo:
        configured_repo = parse_repo(settings.github_repo)
        if configured_repo is None or "://" in settings.github_repo:
            raise ValidationError(
                f"git.githubRepo {settings.github_repo!r} is not OWNER/NAME",
                code="RC-GIT-006",
                hint="e.g. githubRepo: octo/app",
            )
    git = Git(
        workspace,
        token_provider,
        author=(settings.author_name, settings.author_email),
        run=run,
    )
    ctx = GitContext(workspace=workspace, git=git, settings=settings)
    if spec.repo:
        url = check_repo_url(spec.repo)
        if workspace.exists() and any(workspace.iterdir()):
            raise ValidationError(
                f"workspace {workspace} is not empty; cannot clone {url} into it",
                code="RC-GIT-003",
                hint="use a fresh workspace for repository tasks",
            )
        workspace.mkdir(parents=True, exist_ok=True)
        args = ["clone", "--quiet"]
        if spec.branch:
            args += ["--branch", spec.branch]
        git(*args, "--", url, str(workspace), network=True, cwd=workspace.parent)
        ctx.remote_url = url
    elif (workspace / ".git").exists():
        ctx.remote_url = git("remote", "get-url", "origin", check=False) or None
    else:
        return ctx
    ctx.enabled = True
    ctx.base_branch = spec.branch or git("symbolic-ref", "--short", "-q", "HEAD", check=False)
    ctx.branch = branch_name(settings.branch_prefix, spec.name or task_id or "task")
    git("check-ref-format", "--branch", ctx.branch)
    # A retried attempt continues from what an earlier attempt already pushed.
    pushed = f"refs/remotes/origin/{ctx.branch}"
    if git("rev-parse", "-q", "--verify", pushed, check=False):
        git("checkout", "-q", "-B", ctx.branch, pushed)
    else:
        git("checkout", "-q", "-B", ctx.branch)
    ctx.start_commit = git("rev-parse", "-q", "--verify", "HEAD", check=False) or None
    ctx.github_repo = configured_repo or (parse_repo(ctx.remote_url) if ctx.remote_url else None)
    log.info("workspace %s on branch %s (base %s)", workspace, ctx.branch, ctx.base_branch)
    return ctx


def _title(task) -> str:
    label = task.spec.name or task.id
    prompt = (task.spec.prompt or " ".join(task.spec.command) or "").strip().splitlines()
    return f"rclaude: {label}" + (f" — {prompt[0][:60]}" if prompt else "")


def finalize(
    ctx: GitContext,
    task,
    auto_commit: bool,
    push: bool,
    pull_request: bool,
) -> dict[str, Any]:
    """Commit/push/PR after the task; see the module docstring for the contract."""
    result: dict[str, Any] = {
        "branch": ctx.branch,
        "commit": None,
        "pr_url": None,
        "pushed": False,
        "errors": [],
    }
    if not ctx.enabled or ctx.git is None:
        return result
    if pull_request and not push:
        raise ValidationError(
            "a pull request needs the branch pushed",
            code="RC-GIT-004",
            hint="use --push together with --pull-request",
        )
    if pull_request and not ctx.github_repo:
        raise ValidationError(
            f"cannot tell which GitHub repository {ctx.remote_url!r} is",
            code="RC-GIT-005",
            hint="set git.githubRepo: OWNER/NAME",
        )
    git = ctx.git
    if auto_commit:
        git("add", "-A")
        if git("status", "--porcelain"):
            message = _title(task) + f"\n\nTask {task.id}"
            if task.spec.prompt:
                message += f"\n\nPrompt:\n{task.spec.prompt.strip()}\n"
            git("commit", "-q", "-F", "-", input=message)
    head = git("rev-parse", "-q", "--verify", "HEAD", check=False) or None
    result["commit"] = head
    if head is None or head == ctx.start_commit:
        log.info("task %s made no commit on %s; nothing to push", task.id, ctx.branch)
        return result
    try:
        if push:
            git("push", "--quiet", "--set-upstream", "origin", ctx.branch, network=True)
            result["pushed"] = True
        if pull_request:
            result["pr_url"] = _open_pull_request(ctx, task)
    except RclaudeError as exc:
        log.warning("git workflow for task %s: %s", task.id, exc.message)
        result["errors"].append({"code": exc.code, "message": exc.message})
    return result


def _open_pull_request(ctx: GitContext, task) -> str:
    from rclaude.errors import AuthError
    from rclaude.vcs.github import GitHubApi

    token = ctx.git.token_provider() if ctx.git and ctx.git.token_provider else None
    if not token:
        raise AuthError(
            "no GitHub token to open the pull request",
            code="RC-GIT-401",
            hint="set GITHUB_TOKEN (or store it in the secret store)",
        )
    body = f"Opened by rclaude for task `{task.id}`."
    if task.spec.prompt:
        body += f"\n\n**Prompt**\n\n{task.spec.prompt.strip()}"
    with GitHubApi(ctx.settings.api_url, token) as gh:
        pr = gh.create_pull_request(
            ctx.github_repo,
            head=ctx.branch,
            base=ctx.base_branch or "main",
            title=_title(task),
            body=body,
            draft=ctx.settings.draft,
        )
    return pr["html_url"]


def check_git(config, *, env: dict[str, str] | None = None) -> list[tuple[str, bool, str]]:
    """Checks for ``rclaude check`` (pull requests): token and ``repo`` scope; never raises."""
    from rclaude.compute.tokens import github_token
    from rclaude.vcs.github import GitHubApi

    tok = github_token(env)
    if tok is None:
        return [("github token (PRs)", False, "set GITHUB_TOKEN or run `gh auth login`")]
    results = [("github token (PRs)", True, f"from {tok.source}")]
    try:
        with GitHubApi(config.git.api_url, tok.value, retries=1) as gh:
            login = gh.require_scopes(["repo"], "push branches and open pull requests")
        results.append(("github scopes (PRs)", True, f"{login}: repo"))
    except RclaudeError as exc:
        results.append(("github scopes (PRs)", False, str(exc)))
    return results
