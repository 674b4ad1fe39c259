"""The ``codespace`` compute backend: workers run inside GitHub Codespaces.

Contract of ``launch``:

1. Preflight, before anything is created: a repository is configured; a GitHub token is
   found (``GITHUB_TOKEN`` then ``gh auth token``); a classic token has the ``codespace``
   scope; the repository exists and the user may create codespaces for it (``GET
   /repos/{repo}/codespaces/machines`` answers); the configured machine type is offered.
2. ``worker_env`` is stored as Codespaces **user secrets** (``PUT
   /user/codespaces/secrets/{name}``), each value sealed with the account's public key
   (libsodium sealed box, PyNaCl) and scoped to this one repository. Codespaces expose
   them as environment variables; they never appear on a command line.
3. One codespace per worker is created for the repo and branch with the machine type,
   idle timeout and a display name starting with ``display_name_prefix`` (how ``list``
   and ``stop`` recognise ours), and we wait until its state is ``Available``.
4. The worker starts from the repository's devcontainer: its ``postStartCommand`` runs
   ``rclaude worker``, which reads its settings from those secrets and uses
   ``CODESPACE_NAME`` as its worker id (so ids here are codespace names).

``stop(ids)`` stops and deletes only idle codespaces (``is_idle(name)`` from the worker
registry, or any codespace that is not running). Launch is idempotent per ``token``: the
token is part of the display name and a retry reuses what exists.
"""

from __future__ import annotations

import base64
import re
import secrets as pysecrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from rclaude.errors import AuthError, ConfigError, RclaudeError, Where
from rclaude.model import WorkerInfo

_STATE_MAP = {
    "Available": "running",
    "Queued": "starting",
    "Provisioning": "starting",
    "Created": "starting",
    "Starting": "starting",
    "Awaiting": "starting",
    "Rebuilding": "starting",
    "Updating": "starting",
    "ShuttingDown": "stopping",
    "Shutdown": "stopped",
    "Unavailable": "stopped",
    "Deleted": "gone",
    "Failed": "gone",
}
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_DISPLAY_NAME = 48


def seal(public_key_b64: str, value: str) -> str:
    """Encrypt ``value`` for GitHub with a libsodium sealed box → base64."""
    try:
        from nacl.public import PublicKey, SealedBox
    except ImportError:
        raise ConfigError(
            "the codespace backend needs PyNaCl to encrypt Codespaces secrets",
            code="RC-CS-010",
            hint="pip install 'rclaude[codespace]'",
        ) from None
    box = SealedBox(PublicKey(base64.b64decode(public_key_b64)))
    return base64.b64encode(box.encrypt(value.encode("utf-8"))).decode("ascii")


class CodespaceCompute:
    """Workers as GitHub Codespaces (see the module docstring for the contract)."""

    name = "codespace"

    def __init__(
        self,
        config,
        worker_env: dict[str, str],
        *,
        is_idle: Callable[[str], bool] | None = None,
        token: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = config.codespace
        self.worker_env = dict(worker_env)
        self.is_idle = is_idle
        self._token = token
        self._sleep = sleep
        self._gh = None

    def _api(self):
        if self._gh is None:
            from rclaude.compute.tokens import require_github_token
            from rclaude.vcs.github import GitHubApi

            token = self._token or require_github_token().value
            self._gh = GitHubApi(self.settings.api_url, token, sleep=self._sleep)
        return self._gh

    def close(self) -> None:
        if self._gh is not None:
            self._gh.close()
            self._gh = None

    @property
    def repo_name(self) -> str:
        from rclaude.vcs.github import parse_repo

        full = parse_repo(self.settings.repo or "")
        if not full:
            raise ConfigError(
                "no repository configured for the codespace backend"
                if not self.settings.repo
                else f"not a GitHub repository: {self.settings.repo!r}",
                code="RC-CS-001",
                where=Where(key="codespace.repo"),
                hint="set codespace.repo: OWNER/NAME (a repo with a devcontainer that runs "
                "`rclaude worker` on postStart)",
            )
        return full

    # -- preflight ----------------------------------------------------------------------
    def preflight(self) -> dict[str, Any]:
        """Validate everything without creating anything; return the repository object."""
        full = self.repo_name
        for name in self.worker_env:
            if not _SECRET_NAME.fullmatch(name) or name.upper().startswith("GITHUB_"):
                raise ConfigError(
                    f"worker setting {name!r} cannot be a Codespaces secret name",
                    code="RC-CS-005",
                    hint="use letters, digits and '_' and do not start with GITHUB_",
                )
        gh = self._api()
        gh.require_scopes(["codespace"], "create codespaces and their secrets")
        try:
            repo = gh.repo(full)
        except RclaudeError as exc:
            if exc.code in ("RC-GITHUB-404", "RC-GITHUB-403"):
                raise ConfigError(
                    f"repository {full!r} not found or not visible to this token",
                    code="RC-CS-002",
                    where=Where(key="codespace.repo"),
                    hint="check codespace.repo and that the token can read it",
                ) from None
            raise
        params = {"ref": self.settings.branch} if self.settings.branch else None
        try:
            machines = gh.api.json("GET", f"/repos/{full}/codespaces/machines", params=params)
        except RclaudeError as exc:
            if exc.code in ("RC-GITHUB-403", "RC-GITHUB-404"):
                raise AuthError(
                    f"cannot create codespaces for {full}: {exc.message}",
                    code="RC-CS-003",
                    hint="enable Codespaces for the repository/organisation and check billing",
                ) from None
            raise
        offered = [m.get("name") for m in (machines or {}).get("machines", [])]
        if self.settings.machine not in offered:
            raise ConfigError(
                f"machine type {self.settings.machine!r} is not available for {full}",
                code="RC-CS-004",
                where=Where(key="codespace.machine"),
                hint="available: " + (", ".join(offered) or "none"),
            )
        return repo

    # -- Compute port ---------------------------------------------------------------------
    def launch(self, n: int, *, token: str | None = None) -> list[WorkerInfo]:
        if n <= 0:
            return []
        repo = self.preflight()
        tag = re.sub(r"[^A-Za-z0-9-]", "", token or "")[:16] or pysecrets.token_hex(4)
        prefix = f"{self.settings.display_name_prefix}{tag}-"
        existing = [c for c in self._ours() if c.get("display_name", "").startswith(prefix)]
        infos = [self._info(c) for c in existing]
        if len(existing) >= n:
            return infos[:n]
        self._put_secrets(repo["id"])
        gh = self._api()
        for i in range(len(existing), n):
            body: dict[str, Any] = {
                "machine": self.settings.machine,
                "idle_timeout_minutes": self.settings.idle_timeout_minutes,
                "display_name": f"{prefix}{i}"[:MAX_DISPLAY_NAME],
            }
            if self.settings.branch:
                body["ref"] = self.settings.branch
            if self.settings.devcontainer_path:
                body["devcontainer_path"] = self.settings.devcontainer_path
            created = gh.api.json("POST", f"/repos/{self.repo_name}/codespaces", json=body)
            infos.append(self._info(self._wait_available(created["name"])))
        return infos

    def list(self) -> list[WorkerInfo]:
        return [self._info(c) for c in self._ours() if c.get("state") != "Deleted"]

    def stop(self, worker_ids: Iterable[str]) -> list[str]:
        wanted = set(worker_ids)
        gh = self._api()
        stopped = []
        for cs in self._ours():
            name = cs["name"]
            if name not in wanted or not self._idle(cs):
                continue
            if cs.get("state") == "Available":
                gh.api.request("POST", f"/user/codespaces/{name}/stop", ok=(404,))
            gh.api.request("DELETE", f"/user/codespaces/{name}", ok=(404,))
            stopped.append(name)
        return stopped

    def describe(self) -> dict[str, Any]:
        s = self.settings
        return {
            "backend": "codespace",
            "repo": s.repo,
            "branch": s.branch,
            "machine": s.machine,
            "idle_timeout_minutes": s.idle_timeout_minutes,
            "api_url": s.api_url,
        }

    # -- helpers --------------------------------------------------------------------------
    def _put_secrets(self, repo_id: int) -> None:
        if not self.worker_env:
            return
        gh = self._api()
        key = gh.api.json("GET", "/user/codespaces/secrets/public-key")
        for name, value in self.worker_env.items():
            gh.api.request(
                "PUT",
                f"/user/codespaces/secrets/{name}",
                json={
                    "encrypted_value": seal(key["key"], value),
                    "key_id": key["key_id"],
                    "selected_repository_ids": [repo_id],
                },
            )

    def _wait_available(self, name: str) -> dict[str, Any]:
        gh = self._api()
        deadline = time.monotonic() + self.settings.wait_timeout
        waited = 0.0
        while True:
            cs = gh.api.json("GET", f"/user/codespaces/{name}")
            state = cs.get("state")
            if state == "Available":
                return cs
            if state in ("Failed", "Deleted"):
                raise RclaudeError(
                    f"codespace {name} ended in state {state} while starting",
                    code="RC-CS-006",
                    hint="open it on github.com/codespaces to see the creation log",
                )
            if state == "Shutdown":
                gh.api.request("POST", f"/user/codespaces/{name}/start")
            if time.monotonic() >= deadline or waited >= self.settings.wait_timeout:
                raise RclaudeError(
                    f"codespace {name} not Available after {self.settings.wait_timeout}s "
                    f"(state {state})",
                    code="RC-CS-007",
                    hint="raise codespace.waitTimeout or check the devcontainer build",
                )
            self._sleep(self.settings.poll_interval)
            waited += self.settings.poll_interval

    def _ours(self) -> list[dict[str, Any]]:
        full = self.repo_name.lower()
        return [
            c
            for c in self._api().paginate("/user/codespaces", key="codespaces")
            if (c.get("display_name") or "").startswith(self.settings.display_name_prefix)
            and (c.get("repository") or {}).get("full_name", "").lower() == full
        ]

    def _idle(self, cs: dict[str, Any]) -> bool:
        if cs.get("state") != "Available":
            return True
        return bool(self.is_idle and self.is_idle(cs["name"]))

    def _info(self, cs: dict[str, Any]) -> WorkerInfo:
        gh_state = cs.get("state", "Queued")
        state = _STATE_MAP.get(gh_state, "starting")
        busy = 0
        if state == "running":
            idle = self.is_idle(cs["name"]) if self.is_idle else False
            state, busy = ("idle", 0) if idle else ("busy", 1)
        return WorkerInfo(
            id=cs["name"],
            backend="codespace",
            state=state,
            busy=busy,
            details={
                "display_name": cs.get("display_name"),
                "codespace_state": gh_state,
                "machine": (cs.get("machine") or {}).get("name"),
                "web_url": cs.get("web_url"),
            },
        )


def check_codespace(config, *, env: dict[str, str] | None = None) -> list[tuple[str, bool, str]]:
    """Checks for ``rclaude check``: (name, ok, detail) per check; never raises."""
    from rclaude.compute.tokens import github_token

    results: list[tuple[str, bool, str]] = []
    tok = github_token(env)
    if tok is None:
        results.append(("github token", False, "set GITHUB_TOKEN or run `gh auth login`"))
        return results
    results.append(("github token", True, f"from {tok.source}"))
    compute = CodespaceCompute(config, {}, token=tok.value)
    try:
        compute.preflight()
        results.append(
            ("codespaces access", True, f"{compute.repo_name} ({config.codespace.machine})")
        )
    except RclaudeError as exc:
        results.append(("codespaces access", False, str(exc)))
    finally:
        compute.close()
    return results
