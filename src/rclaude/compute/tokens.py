"""Where API tokens come from, in a fixed order, without ever printing them.

- Fly.io: ``FLY_API_TOKEN``, then ``access_token`` in ``~/.fly/config.yml`` (what
  ``fly auth login`` writes).
- GitHub: ``GITHUB_TOKEN``, then ``GH_TOKEN``, then ``gh auth token`` (the GitHub CLI's
  stored login; its output is captured, never echoed).

Each lookup returns a :class:`Token` (value + source) or None; ``require_*`` raise
``AuthError`` with a hint saying how to provide one. ``Token.__repr__`` hides the value.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rclaude.errors import AuthError


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    source: str

    def __str__(self) -> str:
        return f"<token from {self.source}>"


def fly_config_path() -> Path:
    return Path(os.environ.get("FLY_CONFIG_DIR", "~/.fly")).expanduser() / "config.yml"


def fly_token(env: dict[str, str] | None = None, config_path: Path | None = None) -> Token | None:
    env = os.environ if env is None else env
    value = (env.get("FLY_API_TOKEN") or "").strip()
    if value:
        return Token(value, "FLY_API_TOKEN")
    path = config_path or fly_config_path()
    if not path.is_file():
        return None
    from rclaude import yamlio

    try:
        data, _ = yamlio.load(path)
    except Exception:  # an unreadable fly config is "no token", checked by require_*
        return None
    value = str((data or {}).get("access_token") or "").strip() if isinstance(data, dict) else ""
    return Token(value, str(path)) if value else None


def require_fly_token(env: dict[str, str] | None = None) -> Token:
    tok = fly_token(env)
    if tok is None:
        raise AuthError(
            "no Fly.io API token found",
            code="RC-FLY-401",
            hint="set FLY_API_TOKEN (e.g. from `fly tokens create deploy`) or run `fly auth login`",
        )
    return tok


def github_token(env: dict[str, str] | None = None, *, use_gh: bool = True) -> Token | None:
    env = os.environ if env is None else env
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        value = (env.get(name) or "").strip()
        if value:
            return Token(value, name)
    if not use_gh:
        return None
    gh = shutil.which("gh", path=env.get("PATH"))
    if not gh:
        return None
    try:
        out = subprocess.run(
            [gh, "auth", "token"],
            capture_output=True,
            text=True,
            timeout=15,
            env={k: v for k, v in env.items()},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return Token(value, "gh auth token") if out.returncode == 0 and value else None


def require_github_token(env: dict[str, str] | None = None) -> Token:
    tok = github_token(env)
    if tok is None:
        raise AuthError(
            "no GitHub token found",
            code="RC-GITHUB-401",
            hint="set GITHUB_TOKEN, or log in with `gh auth login` so `gh auth token` works",
        )
    return tok


def github_token_provider(env: dict[str, str] | None = None):
    """A zero-argument callable for :func:`rclaude.vcs.prepare_workspace`.

    The lookup runs on first use (not at construction) and is remembered, so a task
    that never pushes never runs ``gh``.
    """
    cache: list[str | None] = []

    def provide() -> str | None:
        if not cache:
            tok = github_token(env)
            cache.append(tok.value if tok else None)
        return cache[0]

    return provide
