"""A thin GitHub REST client: scopes, repositories, pagination, pull requests.

Used by the Codespaces backend and the pull-request step of the git workflow. It speaks
the documented REST API (``Accept: application/vnd.github+json``,
``X-GitHub-Api-Version: 2022-11-28``), follows ``Link: <…>; rel="next"`` pagination with
``per_page=100``, and retries/translates errors through :class:`ApiClient`.

Scopes: a classic token's scopes come back in the ``X-OAuth-Scopes`` header. Fine-grained
tokens and GitHub App tokens send no such header; then scopes are unknown and the API
itself answers 403/404 when a permission is missing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from rclaude.errors import AuthError, ConflictError, RclaudeError, ValidationError

#: Scope implied by a broader one (classic tokens).
_IMPLIED = {"public_repo": "repo", "codespace:secrets": "codespace", "read:user": "user"}

_REMOTE = re.compile(
    r"^(?:https?://(?:[^@/]+@)?[^/]+/|git@[^:]+:|ssh://git@[^/]+/)"
    r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)


def parse_repo(value: str) -> str | None:
    """``owner/name`` from a GitHub remote URL or an ``owner/name`` string, else None."""
    value = value.strip()
    if re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", value):
        return value
    m = _REMOTE.match(value)
    return f"{m['owner']}/{m['name']}" if m else None


def has_scope(granted: set[str], needed: str) -> bool:
    return needed in granted or _IMPLIED.get(needed) in granted


class GitHubApi:
    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = 4,
    ) -> None:
        from rclaude.compute.restapi import ApiClient

        self.api = ApiClient(
            "GitHub",
            api_url,
            token,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            sleep=sleep,
            retries=retries,
            error_prefix="RC-GITHUB",
        )

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> GitHubApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- identity and scopes ------------------------------------------------------------
    def whoami(self) -> tuple[str, set[str] | None]:
        """(login, scopes) of the token; scopes is None when GitHub does not say."""
        resp = self.api.request("GET", "/user")
        header = resp.headers.get("X-OAuth-Scopes")
        scopes = None if header is None else {s.strip() for s in header.split(",") if s.strip()}
        return resp.json().get("login", "?"), scopes

    def require_scopes(self, needed: list[str], purpose: str) -> str:
        """Raise ``AuthError`` (RC-GITHUB-SCOPE) if a classic token lacks a scope."""
        login, scopes = self.whoami()
        if scopes is None:
            return login
        missing = [s for s in needed if not has_scope(scopes, s)]
        if missing:
            raise AuthError(
                f"the GitHub token of {login!r} lacks scope(s) {', '.join(missing)} "
                f"needed to {purpose} (it has: {', '.join(sorted(scopes)) or 'none'})",
                code="RC-GITHUB-SCOPE",
                hint=f"run `gh auth refresh -s {','.join(missing)}` or create a token with "
                + ", ".join(missing),
            )
        return login

    # -- repositories -------------------------------------------------------------------
    def repo(self, full_name: str) -> dict[str, Any]:
        return self.api.json("GET", f"/repos/{full_name}")

    def paginate(
        self, path: str, *, key: str | None = None, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield items across pages (``key`` picks the list out of an object body)."""
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        while url:
            resp = self.api.request("GET", url, params=query)
            body = resp.json()
            yield from (body.get(key, []) if key else body)
            url = resp.links.get("next", {}).get("url")
            query = None  # the next link carries its own query string

    # -- pull requests ------------------------------------------------------------------
    def create_pull_request(
        self,
        full_name: str,
        *,
        head: str,
        base: str,
        title: str,
        body: str = "",
        draft: bool = False,
    ) -> dict[str, Any]:
        """Open a PR (or return the open one for the same head) → the PR object."""
        payload = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        try:
            return self.api.json("POST", f"/repos/{full_name}/pulls", json=payload)
        except ValidationError as exc:
            if "already exists" not in exc.message:
                raise ValidationError(
                    f"GitHub refused the pull request {head} → {base} in {full_name}: "
                    f"{exc.message}",
                    code="RC-GITHUB-422",
                    hint="check that the branch was pushed and differs from the base",
                ) from None
        owner = full_name.split("/", 1)[0]
        for pr in self.paginate(
            f"/repos/{full_name}/pulls", params={"head": f"{owner}:{head}", "state": "open"}
        ):
            return pr
        raise ConflictError(
            f"GitHub says a pull request for {head} exists but none is open",
            code="RC-GITHUB-409",
        )


def github_error_is(exc: RclaudeError, status: int) -> bool:
    return exc.code == f"RC-GITHUB-{status}"
