"""Request plumbing shared by the REST and WebSocket handlers: who is calling, from
which Origin, and how library errors become HTTP responses.

Authentication: ``Authorization: Bearer rct_…`` (API token, the CLI) or the
``rc_session`` cookie (the browser). Secrets are never accepted in URLs.

CSRF: a cookie-authenticated request that changes state must carry an ``Origin`` that
is this server's own (or listed in ``server.allowedOrigins``); the cookie is also
``SameSite=Strict``. Bearer-token requests need no Origin (no ambient credential).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse

from rclaude.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    RclaudeError,
    UsageError,
    ValidationError,
)
from rclaude.server.auth import User

SESSION_COOKIE = "rc_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: HTTP status for each error class (most specific first).
_STATUS = (
    (NotFoundError, 404),
    (AuthError, 401),
    (ConflictError, 409),
    (ValidationError, 400),
    (UsageError, 400),
)


def status_of(exc: RclaudeError) -> int:
    if exc.code == "RC-AUTH-003":
        return 429
    if exc.code == "RC-AUTH-004":
        return 403
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 502 if exc.exit_code == 69 else 500


def error_response(exc: RclaudeError) -> JSONResponse:
    body = {"error": exc.to_dict() | {"kind": type(exc).__name__}}
    return JSONResponse(body, status_code=status_of(exc))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(conn: HTTPConnection) -> set[str]:
    settings = conn.app.state.platform.config.server
    scheme = "https" if conn.url.scheme in ("https", "wss") else "http"
    out = {f"{scheme}://{conn.headers.get('host', '')}".lower()}
    if settings.public_url:
        out.add(origin_of(settings.public_url))
    out.update(origin_of(o) for o in settings.allowed_origins)
    return out


def origin_ok(conn: HTTPConnection) -> bool:
    origin = conn.headers.get("origin")
    return origin is None or origin.lower() in allowed_origins(conn)


def bearer(conn: HTTPConnection) -> str | None:
    value = conn.headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


def authenticate(conn: HTTPConnection) -> tuple[User | None, str]:
    """(user, how) where how is "token", "cookie" or "" (anonymous)."""
    auth = conn.app.state.auth
    token = bearer(conn)
    if token:
        return auth.authenticate(token), "token"
    cookie = conn.cookies.get(SESSION_COOKIE)
    if cookie:
        return auth.authenticate(cookie), "cookie"
    return None, ""


async def require_user(request: Request) -> User:
    """The signed-in user; raises AuthError (401) or, for a cross-site write, 403.
    The lookup is a database read, so it runs in a worker thread."""
    from anyio import to_thread

    user, how = await to_thread.run_sync(authenticate, request)
    if user is None:
        raise AuthError(
            "sign in first",
            code="RC-AUTH-001",
            hint="open the web page to sign in, or run `rclaude login --server URL`",
        )
    if how == "cookie" and request.method not in _SAFE_METHODS:
        origin = request.headers.get("origin")
        if origin is None or origin.lower() not in allowed_origins(request):
            raise AuthError("cross-site request refused", code="RC-AUTH-004")
    return user


async def json_body(request: Request, limit: int = 1 << 20) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > limit:
        raise ValidationError("request body too large", code="RC-API-002")
    import json

    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ValidationError("request body is not JSON", code="RC-API-001") from None
    if not isinstance(body, dict):
        raise ValidationError("request body must be a JSON object", code="RC-API-001")
    return body


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"
