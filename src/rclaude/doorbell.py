"""Cross-process wake-ups for the embedded adapters: no sleeping between polls.

A *listener* binds a Unix datagram socket named ``<topic>~<random>`` in one shared
directory; ``ring(topic)`` sends one byte to every socket of that topic. Waiters block in ``select`` on their
socket with a timeout, so a missed ring only costs latency (the timeout is a safety net),
never correctness: the data itself always lives in SQLite.

Topics: ``q`` (work queued), ``o.<task>`` (output/state of a task), ``i.<task>`` (input
for a task). Sockets live under a short private directory (``/tmp/rclaude-<uid>/<hash>``,
mode 0700) because Unix socket paths are limited to ~100 bytes. Sockets of dead
processes are removed by whoever rings them first.
"""

from __future__ import annotations

import errno
import hashlib
import os
import select
import socket
import tempfile
from pathlib import Path


def _base_dir(key: str) -> Path:
    tmp = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return Path(tmp) / f"rclaude-{os.getuid()}" / digest


class Listener:
    """A bound socket that wakes when its topic is rung. Use as a context manager."""

    def __init__(self, directory: Path, topic: str) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self.path = directory / f"{topic}~{os.urandom(5).hex()}"
        self._sock.bind(str(self.path))

    def fileno(self) -> int:
        return self._sock.fileno()

    def wait(self, timeout: float | None) -> bool:
        """Block until rung (True) or ``timeout`` seconds pass (False); drains rings."""
        if self.drain():
            return True
        if timeout is not None and timeout <= 0:
            return False
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if ready:
            self.drain()
            return True
        return False

    def drain(self) -> bool:
        rung = False
        while True:
            try:
                self._sock.recv(64)
                rung = True
            except (BlockingIOError, InterruptedError):
                return rung

    def close(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self._sock.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Doorbells:
    """Ring and listen on named topics shared by every process using one data dir."""

    def __init__(self, key: str) -> None:
        self.root = _base_dir(key)
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(self.root.parent, 0o700)
        except PermissionError:
            pass
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)

    def listen(self, topic: str) -> Listener:
        return Listener(self.root, topic)

    def ring(self, topic: str) -> None:
        prefix = topic + "~"
        try:
            entries = os.scandir(self.root)
        except FileNotFoundError:
            return
        with entries:
            for entry in entries:
                if not entry.name.startswith(prefix):
                    continue
                try:
                    self._sender.sendto(b"\x01", entry.path)
                except BlockingIOError:
                    pass  # its buffer is full: it has been rung already
                except OSError as exc:
                    if exc.errno in (errno.ECONNREFUSED, errno.ENOENT, errno.ENOTSOCK):
                        try:
                            os.unlink(entry.path)  # listener died without cleaning up
                        except OSError:
                            pass
