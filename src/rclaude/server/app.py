"""The ASGI application of ``rclaude serve`` (Starlette), built from a ``Platform``.

Routes: the REST API under ``/api`` (:mod:`.api`, :mod:`.uploads`, :mod:`.auth_routes`),
the task terminal WebSocket (:mod:`.terminal_ws`), ``/healthz``, ``/metrics``, and the
web UI (one HTML shell plus the bundle built from ``server/web`` into
``static/dist``; nothing is loaded from elsewhere, which the CSP enforces).

The orchestrator loop runs in a background thread of the server unless disabled; it
stops with the server.
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from rclaude.errors import RclaudeError
from rclaude.server import api, auth_routes, http, terminal_ws, uploads
from rclaude.server.auth import AuthStore
from rclaude.server.mailer import build_mailer
from rclaude.server.metrics import Metrics

log = logging.getLogger("rclaude.server")

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


class OrchestratorThread:
    """Runs reap + reconcile every ``interval`` seconds until stopped."""

    def __init__(self, platform) -> None:
        from rclaude.orchestrator.loop import Orchestrator

        self.p = platform
        self.orchestrator = Orchestrator(platform)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="orchestrator", daemon=True)

    def _run(self) -> None:
        publish = None
        if self.p.config.backend == "aws":
            from rclaude.orchestrator.metrics import cloudwatch_publisher

            publish = cloudwatch_publisher(self.p.config)
        self.orchestrator.run(stop=self.stop_event, publish=publish)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


def _shell() -> str:
    built = (STATIC / "dist" / "app.js").exists()
    body = (
        '<div id="app"></div><script src="/static/dist/app.js"></script>'
        if built
        else "<p>The web UI is not built. Run <code>scripts/build-web.sh</code> "
        "(npm ci &amp;&amp; npm run build in src/rclaude/server/web).</p>"
    )
    css = '<link rel="stylesheet" href="/static/dist/app.css">' if built else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>rclaude</title>{css}<link rel=stylesheet href=/static/ui.css></head>"
        f"<body>{body}</body></html>"
    )


async def page(request: Request) -> Response:
    return HTMLResponse(_shell(), headers={"cache-control": "no-store"})


async def favicon(request: Request) -> Response:
    return Response(status_code=204)


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def metrics(request: Request) -> Response:
    """Prometheus metrics; like the API it needs a session or an API token (a scraper
    sends ``Authorization: Bearer <token>``)."""
    from anyio import to_thread

    await http.require_user(request)
    data = await to_thread.run_sync(request.app.state.metrics.render)
    return PlainTextResponse(data, media_type="text/plain; version=0.0.4")


def _routes() -> list:
    t = "/api/tasks/{ref}"
    return [
        Route("/", page),
        Route("/login", page),
        Route("/new", page),
        Route("/tasks/{ref}", page),
        Route("/healthz", healthz),
        Route("/favicon.ico", favicon),
        Route("/metrics", metrics),
        Route("/api/auth/request", auth_routes.request_link, methods=["POST"]),
        Route("/api/auth/verify", auth_routes.verify, methods=["POST"]),
        Route("/api/auth/logout", auth_routes.logout, methods=["POST"]),
        Route("/api/me", auth_routes.me),
        Route("/api/tokens", auth_routes.tokens, methods=["GET", "POST"]),
        Route("/api/tokens/{token_id}", auth_routes.revoke_token, methods=["DELETE"]),
        Route("/api/tasks", api.list_tasks, methods=["GET"]),
        Route("/api/tasks", api.submit, methods=["POST"]),
        Route(t, api.get_task),
        Route(t + "/attempts", api.attempts),
        Route(t + "/cancel", api.cancel, methods=["POST"]),
        Route(t + "/input", api.send_input, methods=["POST"]),
        Route(t + "/output", api.output),
        Route(t + "/results", api.results),
        Route(t + "/results.tar.gz", api.results_archive),
        Route(t + "/blobs/{sha}", api.result_blob),
        WebSocketRoute(t + "/terminal", terminal_ws.terminal),
        Route("/api/snapshots/missing", uploads.missing, methods=["POST"]),
        Route("/api/snapshots", uploads.commit, methods=["POST"]),
        Route("/api/blobs/{sha}", uploads.put_blob, methods=["PUT"]),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]


def create_app(platform, *, orchestrator: bool | None = None) -> Starlette:
    """The server app. ``orchestrator`` defaults to ``server.orchestrator`` in config."""
    run_orchestrator = platform.config.server.orchestrator if orchestrator is None else orchestrator

    @asynccontextmanager
    async def lifespan(app: Starlette):
        loop_thread = OrchestratorThread(platform) if run_orchestrator else None
        if loop_thread:
            from rclaude.orchestrator.metrics import FiguresCollector

            app.state.metrics.registry.register(FiguresCollector(loop_thread.orchestrator))
            loop_thread.start()
        try:
            yield
        finally:
            if loop_thread:
                loop_thread.stop()

    app = Starlette(routes=_routes(), lifespan=lifespan, exception_handlers={RclaudeError: _error})
    app.state.platform = platform
    app.state.orchestrator = run_orchestrator
    app.state.auth = AuthStore(platform.tasks.engine, platform.config.server)
    app.state.mailer = build_mailer(platform)
    app.state.metrics = Metrics(platform)
    app.add_middleware(_Headers)
    return app


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RclaudeError)
    return http.error_response(exc)


class _Headers:
    """Security headers on every HTTP response, and the request counter."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        counter = scope["app"].state.metrics.requests if "app" in scope else None

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for k, v in _HEADERS.items():
                    if k.encode() not in present:
                        headers.append((k.encode(), v.encode()))
                message = message | {"headers": headers}
                if counter is not None:
                    counter.labels(scope["method"], str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, send_with_headers)
