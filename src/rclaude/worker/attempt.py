"""One attempt of one task, start to finish, on a leased message.

Order matters for crash safety: the task record is updated before the FINAL log entry
(so a follower that sees FINAL finds the final state), and the lease is acked last (so
a crash before it only causes a redelivery, which sees the terminal state and acks).
Where the platform can, the three writes are one transaction (``Platform.atomic``).

The task store waits out a database outage itself (``sql_retry.RETRY_FOR``) while the
worker's heartbeat keeps the lease. Past that bound (``RC-DB-003``, a ``BackendError``)
the claim or the final write gives the lease back for redelivery: the attempt did not
crash, and a task that never ran must not burn its attempts waiting for the database.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rclaude import snapshot
from rclaude.errors import BackendError, ConflictError, LeaseLostError, NotFoundError
from rclaude.model import ACTIVE_STATES, Attempt, Lease, Task, TaskState
from rclaude.worker.hooks import TaskHooks
from rclaude.worker.process import Outcome, Process

log = logging.getLogger("rclaude.worker")

#: Environment variables of the worker that tasks do not inherit.
_PRIVATE_ENV_PREFIXES = ("RCLAUDE_",)


@dataclass
class Running:
    lease: Lease
    process: Process | None = None
    stop_requested: bool = False  # cancel: the task ends as cancelled
    released: bool = False  # worker shutdown: the lease was released for redelivery
    #: The heartbeat could not keep the lease: the message may run elsewhere, so this
    #: attempt stops (see ``_lease_lost``).
    lease_lost: LeaseLostError | None = None


@functools.cache
def _base_env() -> tuple[tuple[str, str], ...]:
    """The worker's own environment minus its private settings, read once per process
    (decoding os.environ for every task costs more than the rest of a trivial task's
    set-up)."""
    return tuple((k, v) for k, v in os.environ.items() if not k.startswith(_PRIVATE_ENV_PREFIXES))


def task_env(task: Task, attempt: int, workspace: Path) -> dict[str, str]:
    env = dict(_base_env())
    if task.spec.pty:
        env["TERM"] = env.get("TERM") if env.get("TERM") not in (None, "dumb") else "xterm-256color"
    env.update(task.spec.env)
    env["RCLAUDE_TASK_ID"] = task.id
    env["RCLAUDE_ATTEMPT"] = str(attempt)
    env["PWD"] = str(workspace)
    return env


def command_of(task: Task, platform) -> list[str]:
    if task.spec.prompt and not task.spec.command:
        try:
            from rclaude.agent import build_command
        except ImportError:  # the agent room is optional
            argv = platform.config.agent.command
            return [a.replace("{prompt}", task.spec.prompt) for a in argv]
        return build_command(platform.config.agent, task.spec.prompt)
    return list(task.spec.command)


def run_attempt(platform, lease: Lease, worker_id: str, running: Running) -> TaskState | None:
    """Run the leased task; returns its final state (None if it was skipped)."""
    p = platform
    now = time.time()
    number = lease.receive_count
    # One round trip on the hot path: claim the task (compare-and-set) and read it back.
    first_start = {"started_at": now} if number == 1 else {}
    prev = number - 1 if number > 1 else 0
    reason = f"worker lost during attempt {prev}; redelivered"
    try:
        updated = p.tasks.update(
            lease.message.task_id,
            expect_states=ACTIVE_STATES,
            state=TaskState.STARTING,
            attempt=number,
            worker_id=worker_id,
            **first_start,
        )
        if updated is not None and prev:
            p.tasks.upsert_attempt(
                Attempt(updated.id, prev, TaskState.LOST, reason=reason, finished_at=now)
            )
    except NotFoundError:
        p.queue.ack(lease)  # the task was deleted: nothing to run
        return None
    except BackendError as exc:
        if exc.code != DB_UNREACHABLE:
            raise
        _give_back(p, lease, exc, "could not be claimed")
        return None
    if updated is None:  # already finished or cancelled
        p.queue.ack(lease)
        return None
    task = updated
    if prev:
        try:
            p.log.close(task.id, prev, {"state": TaskState.LOST.value, "reason": reason})
        except ConflictError:
            pass
    workspace = p.data_dir / "workspaces" / f"{task.id}-{number}"
    _open_workspace(workspace)
    # Keystrokes typed for an earlier attempt are not replayed into this one.
    seen_input = 0 if number == 1 else p.log.last_input_seq(task.id)
    outcome: Outcome
    result = None
    hooks = TaskHooks(p, task, workspace)
    mat = None
    try:
        if not task.spec.repo:
            mat = snapshot.materialize(p.store, task.spec.snapshot_id, workspace)
        hooks.before()
        argv = command_of(task, p)
        try:
            proc = Process(
                argv,
                cwd=str(workspace),
                env=task_env(task, number, workspace),
                pty=task.spec.pty,
                cols=task.spec.cols,
                rows=task.spec.rows,
            )
        except (FileNotFoundError, PermissionError, OSError) as exc:
            msg = f"rclaude: cannot run {argv[0]!r}: {getattr(exc, 'strerror', None) or exc}\r\n"
            p.log.append(task.id, number, msg.encode())
            outcome = Outcome(exit_code=127, signal=None, error=msg.strip())
        else:
            running.process = proc
            state = {"seq": seen_input}
            listeners = []

            def listen() -> int:
                # Bound once the command has lived a moment (pump's running_after): a
                # command that ends sooner costs no socket. on_wake then reads what
                # arrived before the bind.
                listeners.append(p.log.input_listener(task.id))
                return listeners[0].fileno()

            def on_wake():
                for listener in listeners:
                    listener.drain()
                events = p.log.read_input(task.id, state["seq"])
                if events:
                    state["seq"] = events[-1].seq
                return events

            if task.cancel_requested:
                running.stop_requested = True
            try:
                # Input typed before the process started is applied first.
                for ev in on_wake():
                    if proc.apply(ev) == "cancel":
                        running.stop_requested = True
                outcome = proc.pump(
                    emit=lambda data: p.log.append(task.id, number, data),
                    on_running=lambda: p.tasks.update(
                        task.id, expect_states=[TaskState.STARTING], state=TaskState.RUNNING
                    ),
                    listen=listen,
                    on_wake=on_wake,
                    timeout=task.spec.timeout,
                    kill_grace=p.config.tasks.kill_grace,
                    should_stop=lambda: (
                        running.stop_requested or running.released or running.lease_lost
                    ),
                )
            except BaseException:
                # The log refused output (e.g. Redis down past redis.bufferBytes): the
                # command must not run on unobserved; the task fails with that error.
                proc.abort()
                raise
            finally:
                for listener in listeners:
                    listener.close()
        result = snapshot.collect_changes(p.store, mat) if mat is not None else {}
        result.update(
            hooks.after(TaskState.SUCCEEDED if outcome.exit_code == 0 else TaskState.FAILED)
        )
    except Exception as exc:  # an infrastructure failure: record it, do not lose it
        log.exception("task %s attempt %s failed in the worker", task.id, number)
        outcome = Outcome(exit_code=None, signal=None, error=f"worker error: {exc}")
    finally:
        _close_workspace(workspace)
    if running.lease_lost is not None:
        if running.lease_lost.code != LEASE_AT_LIMIT:
            _record_lost(p, task, number, worker_id, f"lease lost: {running.lease_lost.message}")
            return None
        # The lease cannot be extended any more but is still held: end the task once,
        # loudly, rather than let its message be delivered again while it runs.
        outcome = Outcome(
            exit_code=None,
            signal=None,
            error=f"{running.lease_lost.message} ({LEASE_AT_LIMIT}); {running.lease_lost.hint}",
        )
    elif running.released:
        reason = "worker shut down before the task finished; released for redelivery"
        _record_lost(p, task, number, worker_id, reason)
        return None
    try:
        if outcome.cancelled and not running.stop_requested:
            outcome.cancelled = p.tasks.get(task.id).cancel_requested
        final = _finish(p, lease, task, number, worker_id, outcome, result)
    except BackendError as exc:
        if exc.code != DB_UNREACHABLE:
            raise
        # The redelivery acks if the outcome was recorded, and runs the task again if not.
        _give_back(p, lease, exc, "ran but its outcome may not be recorded")
        return None
    if task.spec.extra.get("notify"):
        hooks.finished(p.tasks.get(task.id))
    return final


#: The queue's code for a lease at the longest the queue allows (SQS: 12 h in all).
LEASE_AT_LIMIT = "RC-QUEUE-017"


def _record_lost(p, task: Task, number: int, worker_id: str, reason: str) -> None:
    """This attempt ends without an outcome: recorded as lost, its log closed; the task's
    message (released, or no longer this worker's) runs it again."""
    p.tasks.upsert_attempt(
        Attempt(
            task.id, number, TaskState.LOST, worker_id, task.started_at, time.time(), reason=reason
        )
    )
    try:
        p.log.close(task.id, number, {"state": TaskState.LOST.value, "reason": reason})
    except ConflictError:
        pass


#: The task store's code for a database still unreachable after its retries. Only this
#: error gives the lease back at once: it comes after a long wait, so a redelivery costs
#: an attempt per wait, not an attempt per millisecond as an immediate error would.
DB_UNREACHABLE = "RC-DB-003"


def _give_back(p, lease: Lease, exc: Exception, what: str) -> None:
    """Release the lease so the message is visible again at once: the worker did not
    crash, and another try (here or on another worker) can succeed once the database
    is back. A release that fails leaves the lease to expire."""
    log.error(
        "task %s %s; its lease is released for redelivery: %s", lease.message.task_id, what, exc
    )
    try:
        p.queue.release(lease)
    except Exception as err:
        log.warning("could not release the lease of task %s: %s", lease.message.task_id, err)


def _finish(
    p, lease, task: Task, number: int, worker_id: str, outcome: Outcome, result
) -> TaskState:
    if outcome.cancelled:
        state, reason = TaskState.CANCELLED, "cancelled on request"
    elif outcome.timed_out:
        state, reason = TaskState.TIMED_OUT, f"timed out after {task.spec.timeout:g}s"
    elif outcome.error and outcome.exit_code is None:
        state, reason = TaskState.FAILED, outcome.error
    elif outcome.exit_code == 0:
        state, reason = TaskState.SUCCEEDED, None
    else:
        state = TaskState.FAILED
        reason = outcome.error or (
            f"killed by signal {outcome.signal}"
            if outcome.signal
            else f"exit code {outcome.exit_code}"
        )
    now = time.time()
    final = {
        "state": state.value,
        "exit_code": outcome.exit_code,
        "signal": outcome.signal,
        "reason": reason,
    }
    # Task record, then FINAL, then ack (see the module docstring); on the embedded
    # default the three are one transaction.
    with p.atomic():
        p.tasks.finish(
            task.id,
            Attempt(
                task.id,
                number,
                state,
                worker_id,
                task.started_at,
                now,
                outcome.exit_code,
                outcome.signal,
                reason,
            ),
            expect_states=ACTIVE_STATES,
            state=state,
            exit_code=outcome.exit_code,
            signal=outcome.signal,
            reason=reason,
            finished_at=now,
            result=result,
        )
        try:
            p.log.close(task.id, number, final)
        except ConflictError:
            pass
        try:
            p.queue.ack(lease)
        except LeaseLostError:
            log.warning("lease of task %s expired before ack; it may run again", task.id)
    return state


#: Per task thread: the empty workspace its last task left, reused by its next task
#: (renaming an empty directory costs a fraction of rmdir + mkdir on most filesystems).
_spares: dict[int, Path] = {}


def _open_workspace(path: Path) -> None:
    """Create the private (0700) workspace ``path``, from this thread's spare if any."""
    spare = _spares.pop(threading.get_ident(), None)
    if spare is not None:
        try:
            os.rename(spare, path)  # replaces an empty leftover at ``path`` too
            return
        except OSError:
            shutil.rmtree(spare, ignore_errors=True)
    try:
        path.mkdir(parents=True, mode=0o700)
    except FileExistsError:  # left over from a worker that died in this attempt
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, mode=0o700)


def _close_workspace(path: Path) -> None:
    """Keep an empty workspace as this thread's spare; remove anything else."""
    try:
        with os.scandir(path) as entries:
            empty = next(entries, None) is None
    except OSError:
        return
    if empty:
        old = _spares.pop(threading.get_ident(), None)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        _spares[threading.get_ident()] = path
    else:
        shutil.rmtree(path, ignore_errors=True)


def discard_spare_workspaces() -> None:
    """Remove the spares (the worker is stopping)."""
    while _spares:
        _, path = _spares.popitem()
        shutil.rmtree(path, ignore_errors=True)
