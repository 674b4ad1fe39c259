"""``OutputLog`` on Redis Streams (see ``rclaude.ports.OutputLog``).

Keys (all under ``redis.key_prefix``, see ``redis_scripts.Keys``): one stream per task
attempt (``out:<task>:<attempt>``) whose entry ids are ``<seq>-0``, a set of attempt
numbers, and one input stream per task (``in:<task>``, ids ``<seq>-0`` too). Readers use
XRANGE / ``XREAD BLOCK`` from the last id they saw, so a late or reconnecting reader gets
everything after it, with no gap and no duplicate: this is a log, not pub/sub.

Output chunks are written by the attempt's one writer (its worker) as plain ``XADD``s
with the explicit id ``<seq>-0`` it expects, ``MAXLEN ~`` when ``redis.max_len`` is set.
Redis refuses an id that is not above the stream's top, so a chunk can land only once
and only in order. FINAL goes through a Lua script (``redis_scripts.APPEND``): next seq
after the top, then ``XSETID`` to the largest id, which seals the stream against any
later XADD, and ``EXPIRE`` (``redis.retention_seconds``). Other processes only ever
write FINAL (cancel, dead-letter reaping), so a refused XADD means "already landed" (its
nonce is there) or "closed meanwhile" (``ConflictError`` on the next append).

Appends are write-behind (:class:`~rclaude.adapters.redis_buffer.Outbox`): ``append``
queues the chunk with the seq it will get and a unique nonce and returns at once; one
writer thread sends queued chunks in order, many per round trip, so the worker's
terminal reader never waits on Redis. ``read``/``attempts`` in the same process first
let queued appends land (read-your-writes); ``close`` waits until FINAL is in Redis.

Outages: while Redis is unreachable the queue keeps the chunks (at most
``redis.buffer_bytes``) and the writer retries. A chunk whose write reached Redis before
the connection broke is recognised by its nonce and not written twice, so seqs stay
gap-free and every byte lands exactly once. Past the bound ``append`` raises
``BackendError`` (RC-LOG-012): the task fails loudly instead of losing output silently.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from rclaude.adapters.redis_buffer import Outbox, Pending
from rclaude.adapters.redis_input import InputListener
from rclaude.adapters.redis_scripts import APPEND, SEND_INPUT, Keys
from rclaude.errors import BackendError, ConflictError
from rclaude.model import Chunk, ChunkKind, InputEvent, InputKind

#: Upper bound on one chunk; larger payloads are split (as the SQLite log does).
MAX_CHUNK = 1024 * 1024
#: Entries per XREAD reply when following (chunks are up to MAX_CHUNK bytes each).
FOLLOW_COUNT = 100
#: How many closed attempts this process remembers (to refuse appends locally).
CLOSED_MEMORY = 10_000
#: Longest single XREAD BLOCK, so loops notice idle timeouts and closed listeners.
BLOCK_MS = 1000


def _seq(entry_id: bytes | str) -> int:
    raw = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(raw.split("-", 1)[0])


#: Error replies of a Redis that cannot take writes for a while: a replica that was the
#: primary before a failover (READONLY), a cluster or primary that is recovering.
_TRANSIENT_PREFIXES = ("MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS")


def _transient(exc: Exception) -> bool:
    """Redis refused a write only for now (failover, recovery): retry, as in an outage."""
    from redis.exceptions import ReadOnlyError

    return isinstance(exc, ReadOnlyError) or str(exc).startswith(_TRANSIENT_PREFIXES)


def _refused(exc: Exception) -> bool:
    """Redis refused an XADD id: not above the top entry, or the stream is sealed."""
    text = str(exc)
    return "equal or smaller" in text or "exhausted the last possible ID" in text


def _chunk(entry_id, fields: dict) -> Chunk:
    return Chunk(
        _seq(entry_id),
        ChunkKind(fields[b"k"].decode()),
        bytes(fields[b"d"]),
        float(fields.get(b"t", b"0")),
    )


def _event(entry_id, fields: dict) -> InputEvent:
    return InputEvent(
        _seq(entry_id),
        InputKind(fields[b"k"].decode()),
        bytes(fields[b"d"]),
        int(fields[b"c"]),
        int(fields[b"r"]),
    )


class RedisOutputLog:
    def __init__(self, config) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        s = config.redis
        self.settings = s
        self.keys = Keys(s.key_prefix)
        self._errors = (redis.ConnectionError, redis.TimeoutError)
        # TCP keepalive notices a silently dead ElastiCache node; a unix:// socket has
        # no such option (redis-py refuses it there).
        tcp = {} if s.url.startswith("unix:") else {"socket_keepalive": True}
        self.r = redis.Redis.from_url(
            s.url, socket_connect_timeout=s.connect_timeout, health_check_interval=10, **tcp
        )
        # The outbox writes on its own client without redis-py's automatic retries: a
        # pipeline retried blindly could land twice; the outbox resends with the
        # nonce check instead.
        self._writer = redis.Redis.from_url(
            s.url, socket_connect_timeout=s.connect_timeout, retry=Retry(NoBackoff(), 0), **tcp
        )
        self._append_script = self._writer.register_script(APPEND)
        self._input_script = self.r.register_script(SEND_INPUT)
        self._nonce_base = os.urandom(6).hex()
        self._counter = itertools.count(1)
        self._closed: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._lock = threading.Lock()
        self.outbox = Outbox(self._send, s.buffer_bytes, self._errors, MAX_CHUNK)

    # -- output ---------------------------------------------------------------
    def _send(self, batch: list[Pending], resend: bool = True) -> list[int]:
        """Write the chunks, in order, in one round trip; returns the seq each got.

        A chunk with a known seq is a plain ``XADD <seq>-0``; FINAL and chunks of
        unknown seq go through the ``APPEND`` script. An XADD that Redis refuses (id not
        above the top) either already landed (a resend: same nonce at that id) or
        meets a log closed meanwhile; ``_settle_refused`` sorts that out. ``resend``
        is informational: every send is safe to repeat.
        """
        pipe = self._writer.pipeline(transaction=False)
        slots: list[int] = []  # index into the pipeline's results for each chunk
        sadded: set[tuple[str, int]] = set()
        n = 0
        for p in batch:
            stream = self.keys.out(p.task_id, p.attempt)
            if p.kind == ChunkKind.FINAL.value or not p.seq:
                self._run_append(p, pipe)
            else:
                if p.key not in sadded:
                    pipe.sadd(self.keys.attempts(p.task_id), p.attempt)
                    sadded.add(p.key)
                    n += 1
                pipe.xadd(
                    stream,
                    {"k": p.kind, "d": p.data, "t": repr(p.ts), "n": p.nonce},
                    id=f"{p.seq}-0",
                    maxlen=self.settings.max_len or None,
                    approximate=True,
                )
            slots.append(n)
            n += 1
        results = pipe.execute(raise_on_error=False)
        out: list[int] = []
        for p, slot in zip(batch, slots, strict=True):
            res = results[slot]
            if isinstance(res, self._errors):
                raise res
            if isinstance(res, Exception) and _transient(res):
                # E.g. READONLY from the old primary during an ElastiCache failover. New
                # connections resolve the endpoint again and find the new primary.
                self._writer.connection_pool.disconnect()
                raise self._errors[0](f"Redis cannot take writes now: {res}")
            if isinstance(res, Exception):
                if not _refused(res):
                    raise res
                out.append(self._settle_refused(p))
            elif isinstance(res, bytes | str):
                out.append(p.seq)  # the XADD's id
            else:
                out.append(int(res))
        return out

    def _run_append(self, p: Pending, client) -> Any:
        ttl = self.settings.retention_seconds if p.kind == ChunkKind.FINAL.value else 0
        return self._append_script(
            keys=[self.keys.out(p.task_id, p.attempt), self.keys.attempts(p.task_id)],
            args=[p.kind, p.data, repr(p.ts), p.nonce, self.settings.max_len, ttl, p.attempt],
            client=client,
        )

    def _settle_refused(self, p: Pending) -> int:
        """An XADD at ``p.seq`` was refused: it landed before (same nonce there), or the
        log was closed (-1), or another writer took that seq (append after it)."""
        got = self._writer.xrange(
            self.keys.out(p.task_id, p.attempt), min=f"{p.seq}-0", max=f"{p.seq}-0"
        )
        if got and got[0][1].get(b"n") == p.nonce.encode():
            return p.seq
        return int(self._run_append(p, self._writer))

    def _head(self, task_id: str, attempt: int) -> int:
        """The attempt's last seq (0 when Redis is unreachable: assume a fresh attempt)."""
        try:
            top = self.r.xrevrange(self.keys.out(task_id, attempt), count=1)
        except self._errors:
            return 0
        if not top:
            return 0
        if top[0][1].get(b"k") == ChunkKind.FINAL.value.encode():
            raise self._closed_error(task_id, attempt)
        return _seq(top[0][0])

    def _closed_error(self, task_id: str, attempt: int) -> ConflictError:
        return ConflictError(
            f"output log of task {task_id} attempt {attempt} is closed", code="RC-LOG-001"
        )

    def append(self, task_id: str, attempt: int, data: bytes, kind: str = "out") -> int:
        """Queue the chunk(s) for the writer thread; returns the (last) chunk's seq.

        The seq is this writer's prediction (exact when it is the attempt's only
        writer, as a worker is); the server assigns the real one, gap-free.
        """
        seq = 0
        for start in range(0, max(len(data), 1), MAX_CHUNK):
            seq = self._append_one(task_id, attempt, data[start : start + MAX_CHUNK], kind).seq
        return seq

    def _append_one(self, task_id: str, attempt: int, data: bytes, kind: str) -> Pending:
        key = (task_id, attempt)
        failed = self.outbox.failure(key)
        if failed is not None and kind != ChunkKind.FINAL.value:
            raise failed
        if key in self._closed:
            raise self._closed_error(task_id, attempt)
        if not self.outbox.knows(key):
            self.outbox.learn(key, self._head(task_id, attempt))
        p = Pending(
            task_id,
            attempt,
            kind,
            data,
            time.time(),
            0,
            f"{self._nonce_base}.{next(self._counter)}",
        )
        self.outbox.submit(p)
        return p

    def close(self, task_id: str, attempt: int, final: dict[str, Any]) -> int:
        key = (task_id, attempt)
        p = self._append_one(task_id, attempt, json.dumps(final).encode(), ChunkKind.FINAL.value)
        # FINAL must reach Redis before the caller acks the task: wait out an outage.
        self.outbox.flush(timeout=self.settings.flush_timeout)
        with self._lock:
            self._closed[key] = None
            while len(self._closed) > CLOSED_MEMORY:
                self._closed.popitem(last=False)
        failed = self.outbox.failure(key)
        self.outbox.forget(key)
        if p.result is not None and p.result < 0:
            raise self._closed_error(task_id, attempt)
        if p.result is None and failed is not None:
            raise failed  # FINAL itself was refused (an earlier overflow was raised already)
        return p.result or p.seq

    def _settle(self) -> None:
        """Read-your-writes: let this process's queued appends land first."""
        if self.outbox.pending:
            self.outbox.flush(timeout=self.settings.flush_timeout, strict=False)

    def read(
        self, task_id: str, attempt: int, after_seq: int = 0, limit: int = 1000
    ) -> list[Chunk]:
        self._settle()
        with self._translate("read task output"):
            rows = self.r.xrange(
                self.keys.out(task_id, attempt), min=f"{after_seq + 1}-0", count=limit
            )
        return [_chunk(i, f) for i, f in rows]

    def _xread(self, key: str, after_seq: int, block_ms: int, count: int):
        rows = self.r.xread({key: f"{after_seq}-0"}, count=count, block=max(1, block_ms))
        return rows[0][1] if rows else []

    def wait(self, task_id: str, attempt: int, after_seq: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        key = self.keys.out(task_id, attempt)
        while True:
            left = deadline - time.monotonic()
            try:
                if self._xread(
                    key, after_seq, int(min(left, BLOCK_MS / 1000) * 1000) if left > 0 else 1, 1
                ):
                    return True
            except self._errors:
                time.sleep(min(0.2, max(left, 0)))  # Redis restarting: retry until timeout
            if deadline - time.monotonic() <= 0:
                return False

    def follow(
        self, task_id: str, attempt: int, after_seq: int = 0, idle_timeout: float | None = None
    ) -> Iterator[Chunk]:
        key = self.keys.out(task_id, attempt)
        idle_since = time.monotonic()
        while True:
            block = BLOCK_MS
            if idle_timeout is not None:
                left = idle_timeout - (time.monotonic() - idle_since)
                if left <= 0:
                    return
                block = int(min(block, left * 1000))
            try:
                rows = self._xread(key, after_seq, block, FOLLOW_COUNT)
            except self._errors:
                # Redis is restarting: resume from the last seq seen once it is back.
                time.sleep(0.1)
                continue
            for entry_id, fields in rows:
                ch = _chunk(entry_id, fields)
                yield ch
                after_seq = ch.seq
                if ch.kind is ChunkKind.FINAL:
                    return
            if rows:
                idle_since = time.monotonic()

    def attempts(self, task_id: str) -> list[int]:
        self._settle()
        with self._translate("list task attempts"):
            return sorted(int(a) for a in self.r.smembers(self.keys.attempts(task_id)))

    # -- input ----------------------------------------------------------------
    def send_input(
        self, task_id: str, kind: InputKind, data: bytes = b"", cols: int = 0, rows: int = 0
    ) -> int:
        with self._translate("send input to a task"):
            return int(
                self._input_script(
                    keys=[self.keys.input(task_id), self.keys.input_seq(task_id)],
                    args=[InputKind(kind).value, data, cols, rows, self.settings.retention_seconds],
                )
            )

    def read_input(self, task_id: str, after_seq: int = 0, limit: int = 1000) -> list[InputEvent]:
        with self._translate("read task input"):
            rows = self.r.xrange(self.keys.input(task_id), min=f"{after_seq + 1}-0", count=limit)
        return [_event(i, f) for i, f in rows]

    def last_input_seq(self, task_id: str) -> int:
        with self._translate("read task input"):
            return int(self.r.get(self.keys.input_seq(task_id)) or 0)

    def wait_input(self, task_id: str, after_seq: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        key = self.keys.input(task_id)
        while True:
            left = deadline - time.monotonic()
            try:
                if self._xread(key, after_seq, int(min(max(left, 0.001), 1.0) * 1000), 1):
                    return True
            except self._errors:
                time.sleep(0.1)
            if deadline - time.monotonic() <= 0:
                return False

    def input_listener(self, task_id: str) -> InputListener:
        return InputListener(self, task_id)

    def delete(self, task_id: str) -> None:
        self._settle()
        with self._translate("delete task output"):
            attempts = self.attempts(task_id)
            keys = [
                self.keys.attempts(task_id),
                self.keys.input(task_id),
                self.keys.input_seq(task_id),
            ]
            for a in attempts:
                keys.append(self.keys.out(task_id, a))
            self.r.delete(*keys)

    def close_log(self) -> None:
        try:
            self.outbox.flush(timeout=self.settings.flush_timeout)
        finally:
            self.outbox.stop()
            self.r.close()
            self._writer.close()

    def _translate(self, action: str):
        return _Translate(action, self._errors)


class _Translate:
    """Turns redis connection errors (and writes refused during a failover) into
    BackendError at the adapter boundary."""

    def __init__(self, action: str, errors: tuple) -> None:
        self.action, self.errors = action, errors

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and (isinstance(exc, self.errors) or _transient(exc)):
            raise BackendError(
                f"cannot reach Redis to {self.action}: {exc}",
                code="RC-LOG-010",
                hint="check redis.url and that the Redis server is running",
            ) from exc
        return False
