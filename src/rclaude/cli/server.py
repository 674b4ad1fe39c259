"""Control-plane commands: ``serve``, ``login``, ``logout``."""

from __future__ import annotations

import re

import typer

from rclaude.cli import context
from rclaude.errors import AuthError, UsageError


def _token_from(pasted: str) -> str:
    """The magic-link token from a pasted link (``…/login#token=…``) or the bare code."""
    pasted = pasted.strip()
    m = re.search(r"[#?&]token=([A-Za-z0-9_-]+)", pasted)
    token = m.group(1) if m else pasted
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,200}", token):
        raise UsageError(
            "that does not look like a sign-in link or code",
            code="RC-AUTH-011",
            hint="paste the whole link from the mail, or the code under it",
        )
    return token


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str | None = typer.Option(None, help="Interface to listen on (default server.host)."),
        port: int | None = typer.Option(None, help="Port (default server.port)."),
        no_orchestrator: bool = typer.Option(
            False, "--no-orchestrator", help="Do not run the autoscaling loop in the server."
        ),
        log_level: str = typer.Option("info", help="uvicorn log level."),
    ) -> None:
        """Run the control plane: REST API, task WebSockets and the web terminal."""
        import logging
        import sys

        logging.basicConfig(
            level=log_level.upper(),
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        try:
            from rclaude.server import serve as run_server
        except ModuleNotFoundError as exc:
            raise UsageError(
                f"the server needs the 'server' extra ({exc.name} is missing)",
                code="RC-SERVER-001",
                hint="pip install 'rclaude[server]'",
            ) from None
        p = context.platform()
        cfg = p.config.server
        run_server(
            p,
            host=host or cfg.host,
            port=port or cfg.port,
            orchestrator=cfg.orchestrator and not no_orchestrator,
            log_level=log_level,
        )

    @app.command()
    def login(
        server: str = typer.Option(
            ..., "--server", help="Server URL, e.g. https://rclaude.example.com"
        ),
        email: str | None = typer.Option(None, "--email", help="Your email address."),
        name: str | None = typer.Option(
            None, "--name", help="Name of the API token (default: host)."
        ),
    ) -> None:
        """Sign in to a server by magic link; stores an API token (0600) and sets server.url."""
        import socket

        import httpx

        from rclaude import client
        from rclaude.config.edit import set_value
        from rclaude.config.loader import user_config_path

        url = server.rstrip("/")
        if not re.match(r"https?://", url):
            raise UsageError(
                f"'{server}' is not an http(s) URL",
                code="RC-USAGE-010",
                hint="for example: rclaude login --server http://127.0.0.1:8765",
            )
        email = email or typer.prompt("Email")
        try:
            with httpx.Client(base_url=url, timeout=30) as h:
                client.raise_for(h.post("/api/auth/request", json={"email": email}))
                typer.echo(
                    f"A sign-in link was sent to {email}. Paste the link (or the code).", err=True
                )
                token = _token_from(typer.prompt("Link or code", hide_input=True))
                resp = h.post(
                    "/api/auth/verify",
                    json={"token": token, "api_token_name": name or f"cli@{socket.gethostname()}"},
                )
                client.raise_for(resp)
        except httpx.HTTPError as exc:
            raise AuthError(
                f"cannot reach {url}: {exc.__class__.__name__}",
                code="RC-CLIENT-001",
                hint="check the URL and that `rclaude serve` runs there",
            ) from None
        data = resp.json()
        creds = client.load_credentials()
        creds[client.server_key(url)] = {
            "token": data["api_token"],
            "token_id": data["token_id"],
            "email": data["user"]["email"],
        }
        client.save_credentials(creds)
        set_value(user_config_path(), "server.url", url)
        typer.echo(f"signed in to {url} as {data['user']['email']}")

    @app.command()
    def logout(
        server: str | None = typer.Option(None, "--server", help="Default: server.url."),
    ) -> None:
        """Revoke this machine's API token on the server and forget it."""
        import httpx

        from rclaude import client

        url = (server or context.load().server.url or "").rstrip("/")
        if not url:
            raise UsageError(
                "no server to log out from", code="RC-USAGE-011", hint="pass --server URL"
            )
        creds = client.load_credentials()
        entry = creds.pop(client.server_key(url), None)
        if entry is None:
            typer.echo(f"not signed in to {url}")
            return
        try:
            httpx.post(
                f"{url}/api/auth/logout",
                timeout=30,
                headers={"authorization": f"Bearer {entry['token']}"},
            )
            revoked = True
        except httpx.HTTPError:
            revoked = False
        client.save_credentials(creds)
        typer.echo(
            f"logged out of {url}"
            + ("" if revoked else " (server unreachable: token forgotten locally only)")
        )
