"""The worker loop: lease tasks while there are free slots, run each in a thread.

- Waits for work with the queue's own long poll (doorbell on SQLite, long polling on
  SQS): it wakes when a message arrives, it does not sleep between polls.
- A heartbeat thread extends every held lease (every visibility_timeout / 3) and
  refreshes the worker's registry entry (idle/busy).
- Exits after ``idle_timeout`` seconds with nothing to do, or as soon as the queue is
  empty with ``burst``.
- SIGTERM drains: no new leases; running tasks finish within ``drain_timeout``, after
  which they are stopped and their leases released for redelivery.
- A lease the heartbeat cannot extend (lost, or at the queue's limit: 12 h on SQS) stops
  its task: it must not run beside a redelivery of its message.
- A queue service that fails (``BackendError``) or dead-letter reaping that fails is
  logged and retried; neither ends the worker (an unreachable queue looks like an empty
  one, so the idle timeout still applies).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time

from rclaude.errors import BackendError, LeaseLostError
from rclaude.model import WorkerInfo, new_id
from rclaude.worker.attempt import Running, discard_spare_workspaces, run_attempt

log = logging.getLogger("rclaude.worker")


#: Where a worker finds the id its compute backend knows it by (so the registry and the
#: backend's own listing agree): explicit, then Fly machine, then codespace.
_ID_ENV = ("RCLAUDE_WORKER_ID", "FLY_MACHINE_ID", "CODESPACE_NAME")


#: Seconds a busy/idle change waits before it is written to the worker registry.
STATE_DEBOUNCE = 0.05


def default_worker_id() -> str:
    for name in _ID_ENV:
        if os.environ.get(name):
            return os.environ[name]
    return f"w-{new_id(5)}"


class Worker:
    def __init__(
        self,
        platform,
        *,
        worker_id: str | None = None,
        concurrency: int | None = None,
        idle_timeout: float | None = None,
        burst: bool = False,
        drain_timeout: float | None = None,
    ) -> None:
        cfg = platform.config
        self.p = platform
        self.id = worker_id or default_worker_id()
        self.concurrency = concurrency or cfg.worker.concurrency
        self.idle_timeout = cfg.worker.idle_timeout if idle_timeout is None else idle_timeout
        self.drain_timeout = cfg.worker.drain_timeout if drain_timeout is None else drain_timeout
        self.burst = burst
        self.visibility = cfg.tasks.visibility_timeout
        self.heartbeat_every = cfg.worker.heartbeat_interval or max(0.2, self.visibility / 3)
        self.backend = os.environ.get("RCLAUDE_WORKER_BACKEND", "local")
        self.running: dict[str, Running] = {}
        self._lock = threading.Lock()
        self._draining = threading.Event()
        self._stopped = threading.Event()
        self._slot_free = threading.Event()
        self._state_changed = threading.Event()
        # Reused threads: each keeps its database connections across tasks.
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="task")
        self.completed = 0
        self._published = ("idle", 0)  # what the registry says of this worker

    # -- registry -----------------------------------------------------------------
    def _register(self) -> None:
        self.p.tasks.register_worker(
            WorkerInfo(
                id=self.id,
                backend=self.backend,
                state="idle",
                slots=self.concurrency,
                busy=0,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=time.time(),
                heartbeat_at=time.time(),
            )
        )

    def _beat(self, *, only_if_changed: bool = False) -> None:
        busy = len(self.running)
        state = "stopping" if self._draining.is_set() else ("busy" if busy else "idle")
        if only_if_changed and (state, busy) == self._published:
            return  # e.g. one task ended and the next began within the debounce window
        self.p.tasks.heartbeat_worker(self.id, state=state, busy=busy)
        self._published = (state, busy)

    def _heartbeat_loop(self) -> None:
        next_extend = time.monotonic() + self.heartbeat_every
        while not self._stopped.is_set():
            # Busy/idle changes are published promptly, off the task's hot path.
            changed = self._state_changed.wait(max(0.0, next_extend - time.monotonic()))
            self._state_changed.clear()
            if self._stopped.is_set():
                return
            if changed and time.monotonic() < next_extend:
                # Debounce: a task that ends within this window costs no registry write,
                # and the write never races the claim of the task that caused it.
                if self._stopped.wait(STATE_DEBOUNCE):
                    return
                self._state_changed.clear()
                try:
                    self._beat(only_if_changed=True)
                except Exception as exc:
                    log.warning("heartbeat failed: %s", exc)
                continue
            next_extend = time.monotonic() + self.heartbeat_every
            with self._lock:
                held = list(self.running.values())
            for r in held:
                if r.lease_lost is not None:
                    continue
                try:
                    r.lease = self.p.queue.extend(r.lease, self.visibility)
                except LeaseLostError as exc:
                    # The message may be delivered again (or already was): this attempt
                    # stops rather than run beside the next one.
                    log.error("task %s: %s; stopping it", r.lease.message.task_id, exc)
                    r.lease_lost = exc
                except Exception as exc:  # a transient backend error: retry next beat
                    log.warning("could not extend lease: %s", exc)
            try:
                self._beat()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)

    # -- main loop ----------------------------------------------------------------
    def run(self) -> int:
        self._install_signals()
        self._register()
        hb = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        hb.start()
        idle_since = time.monotonic()
        last_reap = 0.0
        try:
            while not self._draining.is_set():
                free = self.concurrency - len(self.running)
                if free <= 0:
                    self._slot_free.wait(1.0)
                    self._slot_free.clear()
                    continue
                wait = 1.0
                if not self.running and not self.burst:
                    left = self.idle_timeout - (time.monotonic() - idle_since)
                    if left <= 0:
                        break
                    wait = min(wait, left)
                try:
                    leases = self.p.queue.receive(
                        free,
                        visibility_timeout=self.visibility,
                        wait_seconds=0 if self.burst else wait,
                    )
                except BackendError as exc:
                    log.warning("could not receive tasks (retrying): %s", exc)
                    self._draining.wait(0 if self.burst else wait)
                    leases = []
                for lease in leases:
                    self._start(lease)
                if leases or self.running:
                    idle_since = time.monotonic()
                elif self.burst:
                    break
                if time.monotonic() - last_reap > 5:
                    last_reap = time.monotonic()
                    try:
                        self.p.service.reap_dead_letters()
                    except Exception as exc:  # housekeeping: the next round retries
                        log.warning("reaping dead letters failed: %s", exc)
        finally:
            self._drain()
            self._stopped.set()
            self._state_changed.set()
            self._pool.shutdown(wait=False)
            discard_spare_workspaces()
            try:
                self.p.tasks.remove_worker(self.id)
            except Exception:
                pass
        return 0

    def _start(self, lease) -> None:
        r = Running(lease)
        with self._lock:
            self.running[lease.message.id] = r
        if len(self.running) == 1:
            self._state_changed.set()
        self._pool.submit(self._run_one, r)

    def _run_one(self, r: Running | None) -> None:
        try:
            while r is not None:
                try:
                    run_attempt(self.p, r.lease, self.id, r)
                except Exception:
                    log.exception(
                        "attempt crashed; the lease will expire and the task be redelivered"
                    )
                finally:
                    with self._lock:
                        self.running.pop(r.lease.message.id, None)
                    self.completed += 1
                r = self._next()
        finally:
            self._slot_free.set()
            if not self.running:
                self._state_changed.set()

    def _next(self) -> Running | None:
        """The slot that just finished leases the next task itself, without waiting
        (no hand-off to the main loop and back); None when the queue has nothing."""
        if self._draining.is_set():
            return None
        try:
            leases = self.p.queue.receive(1, visibility_timeout=self.visibility)
        except Exception as exc:  # the main loop's receive reports and retries
            log.debug("receive after a task failed: %s", exc)
            return None
        if not leases:
            return None
        r = Running(leases[0])
        with self._lock:
            self.running[r.lease.message.id] = r
        return r

    def _drain(self) -> None:
        deadline = time.monotonic() + self.drain_timeout
        while self.running and time.monotonic() < deadline:
            self._slot_free.wait(0.1)
            self._slot_free.clear()
        with self._lock:
            left = list(self.running.values())
        for r in left:  # out of time: stop them and let another worker retry
            r.released = True
            try:
                self.p.queue.release(r.lease)
            except Exception:
                pass
        end = time.monotonic() + 10
        while self.running and time.monotonic() < end:
            self._slot_free.wait(0.1)
            self._slot_free.clear()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def on_term(signum, _frame):
            log.info("signal %s: draining", signum)
            self._draining.set()
            self._slot_free.set()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
