"""HTTP endpoints of the sign-in flow, sessions and API tokens.

- ``POST /api/auth/request {"email"}``: rate-limited per address and per client IP;
  answers 202 with the same body whether or not a mail was sent (no account probing).
  The mailed link is ``<public url>/login#token=<token>``: the token sits in the URL
  *fragment*, which browsers never send to a server, so it appears in no access log;
  the sign-in page posts it to ``/api/auth/verify``. Mail scanners that prefetch the
  link do not consume it either.
- ``POST /api/auth/verify {"token", "api_token_name"?}``: redeems the link. Without
  ``api_token_name`` it sets the session cookie (HttpOnly, SameSite=Strict, Secure on
  https); with it (the CLI), it returns a new API token once instead.
- ``POST /api/auth/logout``: deletes the session, or revokes the bearer API token.
- ``GET /api/me``; ``GET/POST /api/tokens``; ``DELETE /api/tokens/{id}``.
"""

from __future__ import annotations

import logging

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rclaude.errors import NotFoundError
from rclaude.server import http
from rclaude.server.auth import normalize_email

log = logging.getLogger("rclaude.server")

_SENT = {"sent": True, "message": "if this address may sign in, a link is on its way"}


def base_url(request: Request) -> str:
    cfg = request.app.state.platform.config.server
    if cfg.public_url:
        return cfg.public_url.rstrip("/")
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


async def request_link(request: Request) -> Response:
    body = await http.json_body(request, limit=4096)
    email = normalize_email(str(body.get("email", "")))
    auth = request.app.state.auth
    await to_thread.run_sync(auth.check_rate, [f"email:{email}", f"ip:{http.client_ip(request)}"])
    if not auth.allowed(email):
        log.info("sign-in refused for an address not in server.allowedEmails")
        return JSONResponse(_SENT, status_code=202)
    token = await to_thread.run_sync(auth.create_link, email)
    minutes = int(auth.settings.magic_link_ttl // 60)
    link = f"{base_url(request)}/login#token={token}"
    body = (
        f"Sign in to rclaude:\n\n  {link}\n\nThe link works once and expires in {minutes} "
        f"minutes. For the CLI, paste the link (or this code) into `rclaude login`:\n\n"
        f"  {token}\n\nIf you did not ask for it, ignore this mail.\n"
    )
    await to_thread.run_sync(
        request.app.state.mailer.send, email, "Your rclaude sign-in link", body
    )
    return JSONResponse(_SENT, status_code=202)


async def verify(request: Request) -> Response:
    body = await http.json_body(request, limit=4096)
    auth = request.app.state.auth
    await to_thread.run_sync(auth.check_rate, [f"verify:{http.client_ip(request)}"])
    user = await to_thread.run_sync(auth.redeem_link, str(body.get("token", "")))
    out = {"user": {"id": user.id, "email": user.email}}
    name = body.get("api_token_name")
    if name:
        tid, token = await to_thread.run_sync(auth.create_api_token, user, str(name))
        log.info("user %s signed in; API token %s created", user.id, tid)
        return JSONResponse(out | {"api_token": token, "token_id": tid})
    session = await to_thread.run_sync(auth.create_session, user)
    log.info("user %s signed in (browser session)", user.id)
    resp = JSONResponse(out)
    resp.set_cookie(
        http.SESSION_COOKIE,
        session,
        max_age=int(auth.settings.session_ttl),
        httponly=True,
        samesite="strict",
        path="/",
        secure=base_url(request).startswith("https://"),
    )
    return resp


async def logout(request: Request) -> Response:
    auth = request.app.state.auth
    token = http.bearer(request)
    resp = JSONResponse({"ok": True})
    if token:
        user = await to_thread.run_sync(auth.authenticate, token)
        if user is not None:
            await to_thread.run_sync(lambda: auth.revoke_api_token(user, token=token))
    else:
        cookie = request.cookies.get(http.SESSION_COOKIE)
        if cookie:
            await http.require_user(request)  # Origin check for cookie writes
            await to_thread.run_sync(auth.delete_session, cookie)
        resp.delete_cookie(http.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return resp


async def me(request: Request) -> Response:
    user = await http.require_user(request)
    return JSONResponse({"id": user.id, "email": user.email})


async def tokens(request: Request) -> Response:
    user = await http.require_user(request)
    auth = request.app.state.auth
    if request.method == "POST":
        body = await http.json_body(request, limit=4096)
        tid, token = await to_thread.run_sync(
            auth.create_api_token, user, str(body.get("name") or "api")
        )
        return JSONResponse({"id": tid, "api_token": token}, status_code=201)
    rows = await to_thread.run_sync(auth.list_api_tokens, user)
    return JSONResponse([r.__dict__ for r in rows])


async def revoke_token(request: Request) -> Response:
    user = await http.require_user(request)
    auth = request.app.state.auth
    ok = await to_thread.run_sync(
        lambda: auth.revoke_api_token(user, token_id=request.path_params["token_id"])
    )
    if not ok:
        raise NotFoundError("no such active API token", code="RC-AUTH-005")
    return JSONResponse({"ok": True})
