"""Write-behind for output-log appends: ordered, pipelined, bounded, outage-proof.

``Outbox.submit`` queues a chunk and returns at once (or, when more than
``BACKPRESSURE_BYTES`` are queued while Redis answers, once the writer caught up), so the worker's PTY/pipe reader
never waits for a Redis round trip. One writer thread sends queued chunks in order,
many per round trip (a non-transactional pipeline of the append script). That is what
lets output stream near the speed of the terminal itself.

When Redis cannot be reached the writer keeps the queue and retries with backoff; the
append script recognises a chunk that did land before the connection broke (by its
nonce), so a resend never writes it twice and seqs stay gap-free.

While Redis is unreachable the queue holds at most ``limit`` bytes. A chunk that does
not fit raises ``BackendError`` (RC-LOG-012) and its attempt is marked broken: later output of that
attempt raises too (only its FINAL chunk is still accepted), so output is never lost
silently. ``flush`` waits until everything queued is written, or raises RC-LOG-011.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rclaude.errors import BackendError, ConflictError, RclaudeError

log = logging.getLogger("rclaude.redis")

#: One round trip carries at most this many chunks / bytes.
BATCH_ITEMS = 64
BATCH_BYTES = 8 * 1024 * 1024
#: While Redis answers, producers wait once this much is queued (outages may fill the
#: queue up to ``redis.buffer_bytes``).
BACKPRESSURE_BYTES = 8 * 1024 * 1024
#: With more than this queued (the producer outruns Redis), consecutive unsent chunks of
#: one attempt are merged (up to ``max_chunk``): fewer, larger entries cost Redis and
#: readers less per byte. Below it every append stays its own entry.
MERGE_ABOVE = 256 * 1024


@dataclass
class Pending:
    task_id: str
    attempt: int
    kind: str
    data: bytes
    ts: float
    seq: int  # the seq this chunk expects (0 = unknown: the server assigns one)
    nonce: str
    result: int | None = None  # the seq it got (-1: the attempt was already closed)
    sent: bool = False  # was part of a send (it may have landed: never merge it)

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_id, self.attempt)


class Outbox:
    def __init__(
        self,
        send: Callable[[list[Pending], bool], list[int]],
        limit: int,
        errors: tuple,
        max_chunk: int,
    ) -> None:
        self._send = send
        self.limit = limit
        self.max_chunk = max_chunk
        self._next: dict[tuple[str, int], int] = {}  # last seq given out, per attempt
        self._errors = errors
        self._queue: deque[Pending] = deque()
        self._bytes = 0
        self._failed: dict[tuple[str, int], RclaudeError] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._writer_idle = True
        self._down_since: float | None = None
        self.outages = 0

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    @property
    def pending(self) -> int:
        """How many chunks are queued (0 = everything submitted is in Redis)."""
        return len(self._queue)

    def knows(self, key: tuple[str, int]) -> bool:
        with self._cond:
            return key in self._next

    def learn(self, key: tuple[str, int], last_seq: int) -> None:
        """Start numbering an attempt's chunks after ``last_seq`` (its head in Redis)."""
        with self._cond:
            self._next.setdefault(key, last_seq)

    def submit(self, p: Pending) -> None:
        """Queue ``p``; sets ``p.seq`` to the seq it is expected to get."""
        with self._cond:
            failed = self._failed.get(p.key)
            if failed is not None and p.kind != "final":
                raise failed
            # Backpressure: while Redis answers, a producer faster than Redis waits here
            # (the terminal's own flow control then slows the command down).
            while (
                self._down_since is None
                and self._queue
                and p.kind != "final"
                and self._bytes + len(p.data) > min(self.limit, BACKPRESSURE_BYTES)
            ):
                self._cond.wait(0.5)
            # The bound is for an outage: while Redis answers, the wait above already
            # keeps the queue short, and one chunk larger than the bound goes through.
            if (
                p.kind != "final"
                and self._down_since is not None
                and self._bytes + len(p.data) > self.limit
            ):
                err = BackendError(
                    f"Redis is unreachable and output of task {p.task_id} attempt "
                    f"{p.attempt} cannot be buffered: more than {self.limit} bytes are "
                    "waiting for Redis",
                    code="RC-LOG-012",
                    hint="check the Redis server; raise redis.bufferBytes to ride out "
                    "longer outages",
                )
                self._failed[p.key] = err
                raise err
            if p.key in self._next:
                self._next[p.key] += 1
                p.seq = self._next[p.key]
            self._queue.append(p)
            self._bytes += len(p.data)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="redis-outbox", daemon=True)
                self._thread.start()
            if self._writer_idle:  # a busy writer finds the chunk when it comes back
                self._cond.notify_all()

    def failure(self, key: tuple[str, int]) -> RclaudeError | None:
        with self._cond:
            return self._failed.get(key)

    def forget(self, key: tuple[str, int]) -> None:
        with self._cond:
            self._failed.pop(key, None)
            self._next.pop(key, None)

    def _merge(self) -> None:
        """Merge runs of consecutive unsent output chunks of one attempt (under the lock).

        Later chunks of that attempt move down by one seq per merge, so expected seqs
        stay exact for the resend check.
        """
        merged: deque[Pending] = deque()
        parts: dict[int, list[bytes]] = {}
        shift: dict[tuple[str, int], int] = {}
        for p in self._queue:
            last = merged[-1] if merged else None
            if (
                last is not None
                and last.key == p.key
                and last.kind == p.kind == "out"
                and not last.sent
                and not p.sent
                and len(last.data) + sum(len(x) for x in parts.get(id(last), ())) + len(p.data)
                <= self.max_chunk
            ):
                parts.setdefault(id(last), []).append(p.data)
                shift[p.key] = shift.get(p.key, 0) + 1
                continue
            if p.seq and shift.get(p.key):
                p.seq -= shift[p.key]
            merged.append(p)
        for p in merged:
            extra = parts.get(id(p))
            if extra:
                p.data = b"".join([p.data, *extra])
        for key, n in shift.items():
            if key in self._next:
                self._next[key] -= n
        self._queue = merged

    def _run(self) -> None:
        delay = 0.05
        resend = False
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._writer_idle = True
                    self._cond.wait()
                self._writer_idle = False
                if not self._queue:
                    return
                if not resend and self._bytes > MERGE_ABOVE:
                    self._merge()
                batch, size = [], 0
                for p in self._queue:
                    if batch and (len(batch) >= BATCH_ITEMS or size + len(p.data) > BATCH_BYTES):
                        break
                    batch.append(p)
                    size += len(p.data)
                for p in batch:
                    p.sent = True
            try:
                results = self._send(batch, resend)
            except self._errors as exc:
                resend = True
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    self.outages += 1
                    log.warning("Redis unreachable (%s): buffering output", exc)
                if self._stopped and not self._queue:
                    return
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            except Exception as exc:  # Redis refused the write (e.g. out of memory)
                err = BackendError(
                    f"Redis refused task output: {exc}",
                    code="RC-LOG-013",
                    hint="check the Redis server's log and memory limits",
                )
                results = [None] * len(batch)
                with self._cond:
                    for p in batch:
                        self._failed[p.key] = err
            delay, resend = 0.05, False
            if self._down_since is not None:
                log.warning(
                    "Redis is back after %.1fs: buffered output replayed",
                    time.monotonic() - self._down_since,
                )
                self._down_since = None
            with self._cond:
                for p, seq in zip(batch, results, strict=True):
                    p.result = seq
                    if seq and p.seq and seq != p.seq and p.key in self._next:
                        # Another writer got in between: renumber what follows.
                        self._next[p.key] += seq - p.seq
                        for q in self._queue:
                            if q.key == p.key and not q.sent and q.seq:
                                q.seq += seq - p.seq
                for p in batch:
                    self._queue.popleft()
                    self._bytes -= len(p.data)
                    if p.result is not None and p.result < 0:
                        self._failed[p.key] = ConflictError(
                            f"output log of task {p.task_id} attempt {p.attempt} is closed",
                            code="RC-LOG-001",
                        )
                self._cond.notify_all()

    def flush(self, timeout: float, *, strict: bool = True) -> bool:
        """Wait until everything queued is written. Past ``timeout``: BackendError
        (RC-LOG-011), or False when not ``strict``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    if not strict:
                        return False
                    raise BackendError(
                        f"Redis stayed unreachable for {timeout:g}s; {self._bytes} bytes of "
                        "task output are not written",
                        code="RC-LOG-011",
                        hint="check the Redis server (redis.url)",
                    )
                self._cond.wait(min(left, 0.5))
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
