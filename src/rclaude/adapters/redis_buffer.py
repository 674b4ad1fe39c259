"""Bounded, ordered buffering of output-log appends while Redis is unreachable.

``AppendBuffer.submit`` writes a chunk at once when nothing is buffered. When the write
fails with a connection error, the chunk and every later one are queued in memory (in
order) and a background thread replays them once Redis answers again. The writer's
script recognises a chunk that did reach Redis before the connection broke (by its
nonce), so a replay never writes a chunk twice.

The queue holds at most ``limit`` bytes. A chunk that does not fit raises
``BackendError`` (RC-LOG-012) and its attempt is marked broken: later output of that
attempt raises too (only its FINAL chunk is still accepted), so output is never lost
silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rclaude.errors import BackendError, ConflictError

log = logging.getLogger("rclaude.redis")


@dataclass
class Pending:
    task_id: str
    attempt: int
    kind: str
    data: bytes
    ts: float
    seq: int  # the seq this chunk expects (0 = unknown: the server assigns one)
    nonce: str


class AppendBuffer:
    def __init__(self, write: Callable[[Pending], int], limit: int, errors: tuple) -> None:
        self._write = write
        self.limit = limit
        self._errors = errors
        self._queue: deque[Pending] = deque()
        self._bytes = 0
        self._broken: set[tuple[str, int]] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.outages = 0

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def submit(self, p: Pending) -> int | None:
        """Write ``p`` now (returns its seq) or queue it for replay (returns None)."""
        key = (p.task_id, p.attempt)
        with self._cond:
            if key in self._broken and p.kind != "final":
                raise self._overflow(p, "earlier output was already refused")
            if self._queue:
                self._enqueue(p)
                return None
        try:
            return self._write(p)
        except self._errors as exc:
            with self._cond:
                if not self._queue:
                    self.outages += 1
                    log.warning("Redis unreachable (%s): buffering output", exc)
                self._enqueue(p)
            return None

    def _enqueue(self, p: Pending) -> None:
        if p.kind != "final" and self._bytes + len(p.data) > self.limit:
            self._broken.add((p.task_id, p.attempt))
            raise self._overflow(p, f"more than {self.limit} bytes are waiting for Redis")
        self._queue.append(p)
        self._bytes += len(p.data)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._replay, name="redis-replay", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def _overflow(self, p: Pending, why: str) -> BackendError:
        return BackendError(
            f"Redis is unreachable and output of task {p.task_id} attempt {p.attempt} "
            f"cannot be buffered: {why}",
            code="RC-LOG-012",
            hint="check the Redis server; raise redis.bufferBytes to ride out longer outages",
        )

    def _replay(self) -> None:
        delay = 0.05
        while True:
            with self._cond:
                if self._stopped or not self._queue:
                    self._cond.notify_all()
                    return
                p = self._queue[0]
            try:
                self._write(p)
            except self._errors:
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            except ConflictError:
                log.warning(
                    "dropping buffered output of closed task %s attempt %s", p.task_id, p.attempt
                )
            except Exception:
                log.exception("dropping a buffered chunk that Redis refused")
            delay = 0.05
            with self._cond:
                self._queue.popleft()
                self._bytes -= len(p.data)
                if not self._queue:
                    log.warning("Redis is back: buffered output replayed")
                    self._cond.notify_all()

    def flush(self, timeout: float) -> None:
        """Wait until everything buffered reached Redis; BackendError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BackendError(
                        f"Redis stayed unreachable for {timeout:g}s; {self._bytes} bytes of "
                        f"task output are not written",
                        code="RC-LOG-011",
                        hint="check the Redis server (redis.url)",
                    )
                self._cond.wait(min(left, 0.5))

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
