"""Following a task's output log from the event loop, without a thread per follower.

:func:`follow` is the async twin of ``TaskService.follow``: it yields batches of chunks
of the current attempt, switches to a newer attempt when the task is redelivered, and
ends after the FINAL chunk. A task that ended without any log entry for the attempt
(cancelled while queued) gets a synthesized FINAL chunk, as in ``TaskService``.

Waiting: on the embedded SQLite log the follower registers the task's doorbell socket
with the event loop (``add_reader``), so an idle follower costs a file descriptor, not
a thread; other logs (Redis) wait in a worker thread from a dedicated limiter. Reads
run in threads and are bounded (``limit`` chunks per batch), so memory per follower is
bounded whatever the producer does: the durable log is the buffer, not the server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
from anyio import to_thread

from rclaude.model import TERMINAL_STATES, Chunk, ChunkKind, Task, TaskState

#: Threads for blocking waits on logs without a pollable doorbell.
_WAIT_LIMITER = anyio.CapacityLimiter(256)


@dataclass
class Batch:
    attempt: int
    chunks: list[Chunk] = field(default_factory=list)
    new_attempt: bool = False


def _wait_read(
    log, task_id: str, attempt: int, after_seq: int, limit: int, timeout: float
) -> list[Chunk]:
    chunks = log.read(task_id, attempt, after_seq, limit)
    if chunks or not log.wait(task_id, attempt, after_seq, timeout):
        return chunks
    return log.read(task_id, attempt, after_seq, limit)


class _Bell:
    """An asyncio view of the SQLite log's doorbell for one task's output."""

    def __init__(self, log, task_id: str) -> None:
        from rclaude.adapters.sqlite_log import out_topic

        self.listener = log.bells.listen(out_topic(task_id))
        self.event = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.listener.fileno(), self._rung)

    def _rung(self) -> None:
        self.listener.drain()
        self.event.set()

    async def wait(self, timeout: float) -> bool:
        """True when rung within ``timeout`` (the data may still be in flight)."""
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            rung = self.event.is_set()
            self.event.clear()
        return rung

    def close(self) -> None:
        self.loop.remove_reader(self.listener.fileno())
        self.listener.close()


async def follow(
    platform,
    task: Task,
    *,
    attempt: int | None = None,
    after_seq: int = 0,
    start_attempt: int | None = None,
    limit: int = 16,
    idle_check: float = 1.0,
) -> AsyncIterator[Batch]:
    """``attempt`` pins one attempt; ``start_attempt`` only says where to begin (a
    reconnecting client) and newer attempts still follow."""
    log = platform.log
    fixed = attempt is not None
    cur = attempt or start_attempt or max(task.attempt, 1)
    bell = _Bell(log, task.id) if hasattr(log, "bells") else None
    try:
        while True:
            if bell is not None:
                chunks = await to_thread.run_sync(log.read, task.id, cur, after_seq, limit)
            else:  # one thread hop per batch: read, or wait then read
                chunks = await to_thread.run_sync(
                    _wait_read,
                    log,
                    task.id,
                    cur,
                    after_seq,
                    limit,
                    idle_check,
                    limiter=_WAIT_LIMITER,
                )
            if chunks:
                final = next((i for i, c in enumerate(chunks) if c.kind is ChunkKind.FINAL), None)
                if final is not None:
                    chunks = chunks[: final + 1]
                after_seq = chunks[-1].seq
                yield Batch(cur, chunks)
                if final is not None:
                    if fixed or chunks[-1].final_info().get("state") != TaskState.LOST.value:
                        return
                    cur, after_seq = cur + 1, 0
                    yield Batch(cur, new_attempt=True)
                continue
            if bell is not None and await bell.wait(idle_check):
                continue
            latest = await to_thread.run_sync(platform.tasks.get, task.id)
            if not fixed and latest.attempt > cur:
                cur, after_seq = latest.attempt, 0
                yield Batch(cur, new_attempt=True)
                continue
            if latest.state in TERMINAL_STATES and not await to_thread.run_sync(
                log.read, task.id, cur, after_seq, 1
            ):
                info = {
                    "state": latest.state.value,
                    "exit_code": latest.exit_code,
                    "signal": latest.signal,
                    "reason": latest.reason,
                }
                yield Batch(cur, [Chunk(after_seq + 1, ChunkKind.FINAL, json.dumps(info).encode())])
                return
    finally:
        if bell is not None:
            bell.close()


async def read_once(
    platform, task: Task, attempt: int, after_seq: int, wait: float, limit: int = 64
) -> Batch | None:
    """One long-poll step: the next batch within ``wait`` seconds, or None."""
    agen = follow(platform, task, attempt=attempt, after_seq=after_seq, limit=limit)
    try:
        with anyio.move_on_after(wait):
            return await agen.__anext__()
    except StopAsyncIteration:
        return None
    finally:
        await agen.aclose()
    return None  # the wait ran out
