"""The control plane: ``rclaude serve`` (REST API, task WebSockets, web terminal, auth).

:func:`serve` runs the app under uvicorn; :func:`rclaude.server.app.create_app` builds
it from a ``Platform``. Starlette, uvicorn and prometheus-client come with the
``server`` extra and are imported only here.
"""

from __future__ import annotations

import logging


def serve(
    platform, *, host: str, port: int, orchestrator: bool = True, log_level: str = "info"
) -> None:
    import uvicorn

    from rclaude.server.app import create_app

    settings = platform.config.server
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.allowed_emails:
        logging.getLogger("rclaude.server").warning(
            "listening on %s with no server.allowedEmails: any address can sign in", host
        )
    app = create_app(platform, orchestrator=orchestrator)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws="websockets-sansio",
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )
