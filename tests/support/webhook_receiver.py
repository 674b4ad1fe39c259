"""A webhook receiver on 127.0.0.1 that verifies HMAC signatures like a real consumer."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rclaude.notify.webhook import SIGNATURE_HEADER, verify


class Receiver:
    """A webhook receiver on 127.0.0.1 that verifies signatures like a real consumer.

    ``script`` is a list of (status, headers) answers used in order for valid requests;
    after it runs out every valid request gets 200. Invalid signatures get 401.
    """

    def __init__(self, secret: str | None) -> None:
        self.secret = secret
        self.script: list[tuple[int, dict[str, str]]] = []
        self.received: list[dict] = []  # every request: headers, body, verified
        self.delivered: list[dict] = []  # bodies answered with 2xx
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sig = self.headers.get(SIGNATURE_HEADER)
                ok = receiver.secret is None or verify(receiver.secret, raw, sig)
                receiver.received.append(
                    {"headers": dict(self.headers), "raw": raw, "verified": ok}
                )
                status, headers = (
                    (401, {})
                    if not ok
                    else (receiver.script.pop(0) if receiver.script else (200, {}))
                )
                if status < 300:
                    receiver.delivered.append(json.loads(raw))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
