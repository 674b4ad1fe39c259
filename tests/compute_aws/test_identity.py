"""How a worker finds its id: against small local servers that follow the published
IMDSv2 and ECS task metadata v4 APIs (token PUT, then GET with the token header)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rclaude.compute.aws.identity import discover_worker_id


class _Metadata(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get(
            "X-aws-ec2-metadata-token-ttl-seconds"
        ):
            self._send(200, b"tok-123")
        else:
            self._send(400, b"")

    def do_GET(self):
        if self.path == "/latest/meta-data/instance-id":
            # IMDSv2 only: no token, no answer (what HttpTokens=required enforces)
            ok = self.headers.get("X-aws-ec2-metadata-token") == "tok-123"
            self._send(200 if ok else 401, b"i-0abc123" if ok else b"")
        elif self.path == "/v4/task":
            arn = "arn:aws:ecs:us-east-1:123456789012:task/rclaude/0f1e2d3c"
            self._send(200, json.dumps({"TaskARN": arn}).encode())
        else:
            self._send(404, b"")


@pytest.fixture
def metadata():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_explicit_id_wins():
    assert discover_worker_id({"RCLAUDE_WORKER_ID": "w-1"}) == "w-1"


def test_ec2_instance_id_through_imdsv2(metadata):
    assert discover_worker_id({"RCLAUDE_IMDS_URL": f"{metadata}/latest"}) == "i-0abc123"


def test_ecs_task_id_from_metadata_v4(metadata):
    env = {"ECS_CONTAINER_METADATA_URI_V4": f"{metadata}/v4"}
    assert discover_worker_id(env) == "0f1e2d3c"
