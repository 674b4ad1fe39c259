"""A small JSON-over-HTTP client shared by the Fly Machines and GitHub backends.

Contract:

- every call goes to ``base_url + path`` with the bearer token in the ``Authorization``
  header (never in the URL, never logged);
- 429, 5xx and rate-limit 403 answers and connection errors are retried up to ``retries`` times; the
  wait honours ``Retry-After`` (seconds or an HTTP date, capped at ``max_delay``) and
  otherwise backs off exponentially from ``backoff``;
- other 4xx answers are translated at this boundary into the rclaude error tree
  (401/403 → ``AuthError``, 404 → ``NotFoundError``, 409/412/422 → ``ConflictError`` or
  ``ValidationError``), with the service's own message included;
- ``sleep`` is injectable so tests can record the waits instead of sleeping.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rclaude.errors import (
    AuthError,
    BackendError,
    ConflictError,
    NotFoundError,
    RclaudeError,
    ValidationError,
)

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based)."""
    if retry_after is not None:
        return min(retry_after, cap)
    return min(base * (2**attempt), cap)


@dataclass
class ApiClient:
    """JSON REST client for one service (``service`` names it in error messages)."""

    service: str
    base_url: str
    token: str | None
    auth_scheme: str = "Bearer"
    retries: int = 4
    backoff: float = 0.5
    max_delay: float = 30.0
    timeout: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    error_prefix: str = "RC-API"

    def __post_init__(self) -> None:
        import httpx

        hdrs = {"Accept": "application/json", "User-Agent": "rclaude", **self.headers}
        if self.token:
            hdrs["Authorization"] = f"{self.auth_scheme} {self.token}"
        self._http = httpx.Client(
            base_url=self.base_url.rstrip("/"), headers=hdrs, timeout=self.timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (),
        timeout: float | None = None,
    ):
        """Send one request with retries; return the ``httpx.Response``.

        Statuses in ``ok`` are returned to the caller instead of raising.
        """
        import httpx

        attempt = 0
        while True:
            try:
                resp = self._http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    timeout=timeout if timeout is not None else self.timeout,
                )
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise BackendError(
                        f"{self.service} API unreachable at {self.base_url}: {exc}",
                        code=f"{self.error_prefix}-503",
                        hint="check the network and the api_url setting",
                    ) from None
                delay = backoff_delay(attempt, self.backoff, self.max_delay, None)
                log.info("%s %s %s: %s; retrying in %.1fs", self.service, method, path, exc, delay)
                self.sleep(delay)
                attempt += 1
                continue
            if resp.status_code in ok or resp.status_code < 400:
                return resp
            if _retryable(resp) and attempt < self.retries:
                delay = backoff_delay(attempt, self.backoff, self.max_delay, _wait_hint(resp))
                log.info(
                    "%s %s %s answered %s; retrying in %.1fs",
                    self.service,
                    method,
                    path,
                    resp.status_code,
                    delay,
                )
                self.sleep(delay)
                attempt += 1
                continue
            raise self.error_for(method, path, resp)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.request(method, path, **kw)
        if not resp.content:
            return None
        return resp.json()

    def error_for(self, method: str, path: str, resp) -> RclaudeError:
        """Translate an error answer into the rclaude error tree."""
        status = resp.status_code
        detail = _message(resp)
        what = f"{self.service} API {method} {path} failed ({status}): {detail}"
        code = f"{self.error_prefix}-{status}"
        if status == 401:
            return AuthError(
                f"{self.service} rejected the token ({status}): {detail}",
                code=code,
                hint=f"check that the {self.service} token is valid and not expired",
            )
        if _rate_limited(resp):
            return BackendError(
                f"{self.service} API rate limit exceeded: {detail}",
                code=f"{self.error_prefix}-429",
                hint="wait for the rate limit to reset and retry",
            )
        if status == 403:
            return AuthError(what, code=code, hint="the token lacks a permission this call needs")
        if status == 404:
            return NotFoundError(what, code=code, hint="check the name (app, repo, id) and access")
        if status in (409, 412):
            return ConflictError(what, code=code)
        if status in (400, 422):
            return ValidationError(what, code=code)
        return BackendError(what, code=code, hint="retry later; the service reported an error")


def _rate_limited(resp) -> bool:
    """GitHub signals (secondary) rate limits with 403 + Retry-After or remaining=0."""
    return resp.status_code == 403 and (
        "Retry-After" in resp.headers or resp.headers.get("X-RateLimit-Remaining") == "0"
    )


def _retryable(resp) -> bool:
    return resp.status_code in RETRY_STATUSES or _rate_limited(resp)


def _wait_hint(resp) -> float | None:
    after = retry_after_seconds(resp.headers.get("Retry-After"))
    if after is None and resp.headers.get("X-RateLimit-Remaining") == "0":
        try:
            after = max(0.0, float(resp.headers["X-RateLimit-Reset"]) - time.time())
        except (KeyError, ValueError):
            after = None
    return after


def _message(resp) -> str:
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason_phrase or "").strip()[:300]
    if isinstance(body, dict):
        msg = body.get("error") or body.get("message") or body
        errors = body.get("errors")
        if errors:
            msg = f"{msg} {errors}"
        return str(msg)[:500]
    return str(body)[:500]
