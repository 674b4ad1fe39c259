"""A private ``redis-server`` on a free 127.0.0.1 port, in a temporary directory.

Started from the installed binary (Debian package ``redis-server``) with append-only
persistence (unless ``fsync`` is "off"), so a restart (``restart()``) keeps every
stream, as a production Redis configured for rclaude must. It also listens on an
owner-only unix socket in its directory. Nothing listens beyond 127.0.0.1; the server
is shut down and its directory removed when the context exits.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.moto_server import free_port


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def _wait_port(port: int, up: bool, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.02)
    raise RuntimeError(f"redis on port {port} did not come {'up' if up else 'down'}")


class RedisServer:
    def __init__(self, directory: Path, port: int, fsync: str = "always") -> None:
        self.dir = directory
        self.port = port
        self.fsync = fsync
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def unix_url(self) -> str:
        """The same server through its unix socket (owner-only, in its directory)."""
        return f"unix://{self.dir / 'redis.sock'}?db=0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--appendonly",
                "no" if self.fsync == "off" else "yes",
                "--appendfsync",
                "everysec" if self.fsync == "off" else self.fsync,
                "--save",
                "",
                "--unixsocket",
                str(self.dir / "redis.sock"),
                "--unixsocketperm",
                "700",
                "--protected-mode",
                "yes",
                "--daemonize",
                "no",
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, up=True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis flushes the AOF and exits
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        _wait_port(self.port, up=False)

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


@contextmanager
def redis_server(fsync: str = "always") -> Iterator[RedisServer]:
    """``fsync``: the AOF policy; "always" for fault tests, "everysec" for benchmarks
    (what a production Redis usually runs), "off" for no AOF at all."""
    directory = Path(tempfile.mkdtemp(prefix="rclaude-redis-"))
    server = RedisServer(directory, free_port(), fsync)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
