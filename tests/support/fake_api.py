"""Base for the API-following fake servers (Fly Machines, GitHub): a real HTTP server.

A ``ThreadingHTTPServer`` on 127.0.0.1 and a free port, running in a thread. Subclasses
register routes as ``(method, regex) -> handler(req) -> (status, body, headers)``.
Every request is recorded (method, path, query, headers, JSON body) for assertions, and
faults can be queued: ``fail_next("POST", "/machines", 429, {"Retry-After": "2"})``
answers the next matching request with that status instead of handling it.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw: bytes = b""
    match: re.Match | None = None


@dataclass
class Fault:
    method: str
    path_contains: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class FakeApiServer:
    """Subclass and call ``self.route(method, pattern, handler)`` in ``__init__``."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern, Any]] = []
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration ------------------------------------------------------------
    def route(self, method: str, pattern: str, handler) -> None:
        self.routes.append((method, re.compile(pattern + r"\Z"), handler))

    def fail_next(
        self, method: str, path_contains: str, status: int, headers=None, body=None
    ) -> None:
        with self.lock:
            self.faults.append(Fault(method, path_contains, status, headers or {}, body))

    def authorize(self, req: Request) -> tuple[int, Any, dict] | None:
        """Return an error response to reject the request, or None to accept it."""
        return None

    def error_body(self, status: int, message: str) -> Any:
        return {"message": message}

    # -- lifecycle ------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApiServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle's algorithm
                # and delayed ACKs add ~40 ms to every keep-alive request
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = fake.dispatch(self.command, self.path, self.headers, raw)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatch -------------------------------------------------------------------
    def dispatch(self, method: str, target: str, headers, raw: bytes):
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, self.error_body(400, "Problems parsing JSON"), {}
        req = Request(
            method, parts.path, query, {k.lower(): v for k, v in headers.items()}, body, raw
        )
        with self.lock:
            self.requests.append(req)
            for fault in self.faults:
                if fault.method == method and fault.path_contains in parts.path:
                    self.faults.remove(fault)
                    return (
                        fault.status,
                        fault.body or self.error_body(fault.status, "injected fault"),
                        fault.headers,
                    )
        denied = self.authorize(req)
        if denied is not None:
            return denied
        for m, pattern, handler in self.routes:
            found = pattern.match(parts.path)
            if found and m == method:
                req.match = found
                with self.lock:
                    result = handler(req)
                status, body, *rest = result
                return status, body, (rest[0] if rest else {})
        return 404, self.error_body(404, "Not Found"), {}

    def calls(self, method: str, path_contains: str = "") -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and path_contains in r.path]
