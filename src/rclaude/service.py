"""``TaskService``: the one API for submitting, watching and controlling tasks.

The CLI and the server call this; it talks only to ports. Its HTTP twin (for a CLI
pointed at a server) offers the same methods.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rclaude.errors import ConflictError, LeaseLostError, NotFoundError
from rclaude.model import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    Attempt,
    Chunk,
    ChunkKind,
    InputKind,
    QueueMessage,
    Task,
    TaskSpec,
    TaskState,
    new_id,
)

log = logging.getLogger("rclaude.service")

#: Seconds a reaper holds a dead letter: ample for a few task-store and log writes; a
#: reaper that dies meanwhile only delays that dead letter by this much.
DEAD_LETTER_LEASE = 60.0


@dataclass(frozen=True)
class FollowEvent:
    """What a follower sees: a chunk of an attempt, or a switch to a new attempt."""

    attempt: int
    chunk: Chunk | None = None
    new_attempt: bool = False


def exit_status(final: dict[str, Any]) -> int:
    """The shell-style exit status for a task's final event."""
    state = final.get("state")
    if state == TaskState.TIMED_OUT.value:
        return 124
    if state == TaskState.CANCELLED.value:
        return 130
    if final.get("signal"):
        return 128 + int(final["signal"])
    if final.get("exit_code") is not None:
        return int(final["exit_code"])
    if state == TaskState.SUCCEEDED.value:
        return 0
    return 1


class TaskService:
    def __init__(self, platform) -> None:
        self.p = platform
        self._last_reconcile = 0.0

    # -- submit / query -------------------------------------------------------
    def submit(
        self,
        spec: TaskSpec,
        *,
        project: Path | None = None,
        owner: str | None = None,
        reconcile: bool = True,
    ) -> Task:
        if reconcile:  # a standby worker, forked before any database handle is opened
            prefork = getattr(self.p.compute, "prefork", None)
            if prefork is not None:
                prefork()
        tasks = self.p.tasks
        if spec.name:
            try:
                prev = tasks.resolve(spec.name, owner=owner)
            except NotFoundError:
                prev = None
            if prev is not None and prev.name == spec.name and not prev.state.terminal:
                raise ConflictError(
                    f"a task named '{spec.name}' is still {prev.state.value}",
                    code="RC-TASK-003",
                    hint=f"stop it first (rclaude stop {spec.name}) or pick another name",
                )
        if project is not None:
            from rclaude import snapshot

            spec = replace(spec, snapshot_id=snapshot.create(self.p.store, project))
        now = time.time()
        task = Task(
            id=new_id(),
            spec=spec,
            state=TaskState.QUEUED,
            owner=owner,
            created_at=now,
            queued_at=now,
        )
        # One transaction on the embedded default (then a failed send leaves nothing);
        # elsewhere a task that could not be queued is recorded as failed.
        with self.p.atomic():
            tasks.create(task)
            try:
                self.p.queue.send(QueueMessage(task_id=task.id, max_attempts=spec.max_attempts))
            except Exception as exc:
                tasks.update(
                    task.id,
                    state=TaskState.FAILED,
                    reason=f"could not enqueue: {exc}",
                    finished_at=time.time(),
                )
                raise
        if reconcile:
            self.reconcile(force=True)
        return task

    def get(self, ref: str, owner: str | None = None) -> Task:
        return self.p.tasks.resolve(ref, owner=owner)

    def list(self, *, owner: str | None = None, states=None, limit: int = 100) -> list[Task]:
        return self.p.tasks.list(owner=owner, states=states, limit=limit)

    def attempts(self, task: Task) -> list[Attempt]:
        return self.p.tasks.attempts(task.id)

    # -- control --------------------------------------------------------------
    def cancel(self, ref: str, owner: str | None = None) -> Task:
        task = self.get(ref, owner)
        if task.state.terminal:
            return task
        now = time.time()
        waiting = (TaskState.PENDING, TaskState.QUEUED)
        done = self.p.tasks.update(
            task.id,
            expect_states=waiting,
            state=TaskState.CANCELLED,
            cancel_requested=True,
            finished_at=now,
            reason="cancelled before it started",
        )
        if done is not None:
            self._close_quietly(
                task.id, max(task.attempt, 1), {"state": "cancelled", "reason": done.reason}
            )
            return done
        self.p.tasks.update(task.id, cancel_requested=True)
        self.p.log.send_input(task.id, InputKind.CANCEL)
        return self.p.tasks.get(task.id)

    def send_input(self, task: Task, data: bytes) -> None:
        self.p.log.send_input(task.id, InputKind.DATA, data)

    def resize(self, task: Task, cols: int, rows: int) -> None:
        self.p.log.send_input(task.id, InputKind.RESIZE, cols=cols, rows=rows)

    def _close_quietly(self, task_id: str, attempt: int, final: dict[str, Any]) -> None:
        try:
            self.p.log.close(task_id, attempt, final)
        except ConflictError:
            pass  # already closed by its worker

    # -- output ---------------------------------------------------------------
    def follow(
        self,
        task: Task,
        *,
        attempt: int | None = None,
        after_seq: int = 0,
        on_idle: Callable[[], None] | None = None,
    ) -> Iterator[FollowEvent]:
        """Yield output of ``attempt`` (default: the current one, switching to newer
        attempts when the task is redelivered) until its FINAL chunk."""
        fixed = attempt is not None
        cur = attempt or max(task.attempt, 1)
        while True:
            for chunk in self.p.log.follow(task.id, cur, after_seq, idle_timeout=1.0):
                after_seq = chunk.seq
                lost = (
                    chunk.kind is ChunkKind.FINAL
                    and chunk.final_info().get("state") == TaskState.LOST.value
                )
                if lost and not fixed:  # redelivered: carry on with the next attempt
                    cur, after_seq = cur + 1, 0
                    yield FollowEvent(cur, new_attempt=True)
                    break
                yield FollowEvent(cur, chunk)
                if chunk.kind is ChunkKind.FINAL:
                    return
            else:
                latest = self.p.tasks.get(task.id)
                if not fixed and latest.attempt > cur:
                    cur, after_seq = latest.attempt, 0
                    yield FollowEvent(cur, new_attempt=True)
                    continue
                if latest.state in TERMINAL_STATES and not self.p.log.read(task.id, cur, after_seq):
                    # Ended without a log entry for this attempt (e.g. cancelled while queued).
                    yield FollowEvent(cur, Chunk(after_seq + 1, ChunkKind.FINAL, _final_of(latest)))
                    return
                if on_idle:
                    on_idle()

    def read(self, task: Task, attempt: int | None = None, after_seq: int = 0) -> Iterator[Chunk]:
        cur = attempt or max(task.attempt, 1)
        while True:
            chunks = self.p.log.read(task.id, cur, after_seq)
            if not chunks:
                return
            yield from chunks
            after_seq = chunks[-1].seq

    def download_results(
        self, task: Task, dest: Path, *, apply_deletions: bool = False
    ) -> list[str]:
        from rclaude import snapshot

        return snapshot.download(
            self.p.store, task.result or {}, dest, apply_deletions=apply_deletions
        )

    # -- housekeeping -----------------------------------------------------------
    def reap_dead_letters(self, limit: int = 100) -> int:
        """Mark the tasks of dead-lettered messages failed, then delete those dead letters,
        so the dead-letter queue drains. Handles up to ``limit`` dead letters per call
        (later calls take the rest); returns how many tasks it marked failed.

        Safe in many processes at once: each dead letter is leased to one reaper at a
        time, and marking a task failed is a compare-and-set from an active state. A
        dead letter is deleted only once its task's final state is recorded; if this
        reaper fails before that, the lease expires and another reaper redoes the work.
        """
        n = handled = 0
        while handled < limit:
            leases = self.p.queue.receive_dead_letters(
                min(10, limit - handled), visibility_timeout=DEAD_LETTER_LEASE
            )
            if not leases:
                break
            for lease in leases:
                handled += 1
                n += self._fail_dead_lettered(lease.message)
                try:
                    self.p.queue.ack_dead_letter(lease)
                except LeaseLostError:
                    pass  # another reaper holds it now and will find the task terminal
        return n

    def _fail_dead_lettered(self, msg: QueueMessage) -> int:
        """Record a dead-lettered task as failed (1), or nothing when it is already
        terminal or unknown (0)."""
        try:
            task = self.p.tasks.get(msg.task_id)
        except NotFoundError:
            log.info("dead letter %s names no known task (%s): dropped", msg.id, msg.task_id)
            return 0
        if task.state.terminal:
            return 0
        reason = (
            f"worker lost on every attempt: moved to the dead-letter queue after "
            f"{msg.max_attempts} attempt(s)"
        )
        now = time.time()
        if (
            self.p.tasks.update(
                task.id,
                expect_states=ACTIVE_STATES,
                state=TaskState.FAILED,
                reason=reason,
                finished_at=now,
            )
            is None
        ):
            return 0
        cur = max(task.attempt, 1)
        self.p.tasks.upsert_attempt(
            Attempt(
                task.id,
                cur,
                TaskState.LOST,
                task.worker_id,
                task.started_at,
                now,
                reason="worker lost",
            )
        )
        self._close_quietly(task.id, cur, {"state": "failed", "reason": reason})
        return 1

    def reconcile(self, *, force: bool = False) -> Any:
        """One orchestrator step: reap dead letters, then scale workers to the queue."""
        now = time.monotonic()
        if not force and now - self._last_reconcile < 1.0:
            return None
        self._last_reconcile = now
        from rclaude.orchestrator.loop import Orchestrator

        try:
            self.reap_dead_letters()
        except Exception as exc:  # housekeeping: it must not fail a submit that succeeded
            log.warning("reaping dead letters failed (retried later): %s", exc)
        return Orchestrator(self.p).reconcile()


def _final_of(task: Task) -> bytes:
    import json

    return json.dumps(
        {
            "state": task.state.value,
            "exit_code": task.exit_code,
            "signal": task.signal,
            "reason": task.reason,
        }
    ).encode()
