"""The reconcile step and loop: read queue depth and workers, apply the policy, act.

``rclaude run`` calls :meth:`Orchestrator.reconcile` once after submitting (scale-up
only), so a worker starts within milliseconds; ``rclaude orchestrator`` and the server
run :meth:`Orchestrator.run`, which also scales down after the cooldown.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from rclaude.orchestrator.policy import Decision, Observation, Policy, decide

log = logging.getLogger("rclaude.orchestrator")


@dataclass
class Figures:
    depth: int = 0
    workers: int = 0
    launches: int = 0
    stops: int = 0
    failures: int = 0


class Orchestrator:
    def __init__(self, platform, compute=None) -> None:
        self.p = platform
        self.compute = compute or platform.compute
        self.policy = Policy.from_settings(platform.config.orchestrator)
        self.last_demand_at = 0.0
        self.figures = Figures()

    def reconcile(self, *, scale_down: bool = False) -> Decision:
        workers = self.compute.list()
        depth = self.p.queue.depth()
        idle = [w for w in workers if w.idle]
        # Slots per worker: what running workers report, else what the backend launches
        # (shared mode fills maxTasksPerInstance slots before adding an instance).
        default_slots = getattr(self.compute, "slots_per_worker", self.p.config.worker.concurrency)
        slots = max((w.slots for w in workers), default=default_slots)
        now = time.time()
        obs = Observation(depth, len(workers), len(idle), slots, now, self.last_demand_at)
        decision = decide(self.policy, obs)
        if decision.desired >= len(workers):
            self.last_demand_at = now
        self.figures.depth, self.figures.workers = depth, len(workers)
        if decision.launch:
            try:
                started = self.compute.launch(decision.launch)
                self.figures.launches += len(started)
            except Exception:
                self.figures.failures += 1
                raise
        if decision.stop and scale_down:
            stopped = self.compute.stop([w.id for w in idle[: decision.stop]])
            self.figures.stops += len(stopped)
        return decision

    def run(
        self,
        *,
        interval: float | None = None,
        stop_after: float | None = None,
        publish=None,
        stop: threading.Event | None = None,
    ) -> None:
        """Reconcile every ``interval`` seconds until ``stop`` is set (or ``stop_after``
        seconds pass); ``publish(figures)`` after each reconcile."""
        interval = interval or self.p.config.orchestrator.interval
        stop = stop or threading.Event()
        started = time.monotonic()
        while not stop.is_set() and (stop_after is None or time.monotonic() - started < stop_after):
            try:
                self.p.service.reap_dead_letters()
                d = self.reconcile(scale_down=True)
                log.info(
                    "depth=%s workers=%s desired=%s (%s)",
                    self.figures.depth,
                    self.figures.workers,
                    d.desired,
                    d.reason,
                )
            except Exception as exc:  # keep the loop alive; the figures record it
                self.figures.failures += 1
                log.warning("reconcile failed: %s", exc)
            if publish is not None:
                try:
                    publish(self.figures)
                except Exception as exc:
                    log.warning("publishing figures failed: %s", exc)
            stop.wait(interval)
