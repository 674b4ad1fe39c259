"""Running ``git`` so that a token can authenticate without ever being written down.

The token travels in one place only: the environment of the git child process
(``RCLAUDE_GIT_TOKEN``). A credential helper, configured through ``GIT_CONFIG_COUNT`` /
``GIT_CONFIG_KEY_n`` / ``GIT_CONFIG_VALUE_n`` environment variables (git ≥ 2.31), echoes
it when git asks for credentials. So the token is in no remote URL, no ``.git/config``,
no process argument list and no log line. Helpers configured elsewhere are reset first
(an empty ``credential.helper`` entry) so a user's keychain is not consulted or updated.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from rclaude.errors import BackendError

log = logging.getLogger(__name__)

TOKEN_ENV = "RCLAUDE_GIT_TOKEN"
#: Reads the token from the child's environment; answers only the "get" action.
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; echo username=x-access-token; '
    'echo "password=${' + TOKEN_ENV + '}"; }; f'
)

TokenProvider = Callable[[], "str | None"]
Runner = Callable[..., subprocess.CompletedProcess]


def git_env(
    token: str | None,
    *,
    author: tuple[str, str] | None = None,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for a git child: credential helper via env, never prompts."""
    env = dict(os.environ if base is None else base)
    for key in [k for k in env if k.startswith("GIT_CONFIG_")]:
        env.pop(key)
    pairs = [("credential.helper", ""), ("credential.helper", CREDENTIAL_HELPER)]
    env["GIT_CONFIG_COUNT"] = str(len(pairs))
    for i, (k, v) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = k
        env[f"GIT_CONFIG_VALUE_{i}"] = v
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_ASKPASS"] = "true"  # never fall back to an interactive prompt
    env.pop(TOKEN_ENV, None)
    if token:
        env[TOKEN_ENV] = token
    if author:
        env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = author[0]
        env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = author[1]
    return env


class Git:
    """``git`` in one working directory, with the token supplied lazily per call."""

    def __init__(
        self,
        cwd: str | os.PathLike,
        token_provider: TokenProvider | None = None,
        *,
        author: tuple[str, str] | None = None,
        run: Runner | None = None,
        timeout: float = 600.0,
    ) -> None:
        self.cwd = Path(cwd)
        self.token_provider = token_provider
        self.author = author
        self._run = run or subprocess.run
        self.timeout = timeout

    def env(self, *, with_token: bool) -> dict[str, str]:
        token = self.token_provider() if (with_token and self.token_provider) else None
        return git_env(token, author=self.author)

    def __call__(
        self,
        *args: str,
        network: bool = False,
        check: bool = True,
        input: str | None = None,
        cwd: str | os.PathLike | None = None,
    ) -> str:
        """Run ``git ARGS``; return stdout. ``network`` calls get the token in their env."""
        argv: Sequence[str] = ["git", *args]
        log.debug("git %s (in %s)", " ".join(args), cwd or self.cwd)
        proc = self._run(
            list(argv),
            cwd=str(cwd or self.cwd),
            env=self.env(with_token=network),
            input=input,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            err = (proc.stderr or proc.stdout or "").strip().splitlines()
            raise BackendError(
                f"git {args[0]} failed (exit {proc.returncode}): {' | '.join(err[-3:])}",
                code="RC-GIT-010",
                hint="check the repository URL, branch and that the token may push",
            )
        return (proc.stdout or "").strip()
