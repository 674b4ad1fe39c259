"""Prometheus metrics of one server process, on its own registry (no global state).

- ``rclaude_queue_depth``: visible + in-flight messages, read at scrape time.
- ``rclaude_workers{state}``: workers in the registry by state, read at scrape time.
- ``rclaude_tasks{state}``: the newest 1000 tasks by state.
- ``rclaude_task_duration_seconds``: histogram of the run time of the newest 1000
  finished tasks, computed at scrape time from the task store (so it is the same in
  every server process and survives restarts).
- ``rclaude_websocket_clients``: terminal WebSockets open in this process.
- ``rclaude_http_requests_total{method,status}``: requests served by this process.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

log = logging.getLogger("rclaude.server")

DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, float("inf"))


class _StoreCollector:
    def __init__(self, platform) -> None:
        self.p = platform

    def collect(self):
        from rclaude.model import TERMINAL_STATES

        try:
            depth = self.p.queue.depth()
            workers = self.p.tasks.workers()
            tasks = self.p.tasks.list(limit=1000)
        except Exception as exc:  # a scrape must not fail because the store hiccups
            log.warning("metrics: cannot read the store: %s", exc)
            return
        yield GaugeMetricFamily(
            "rclaude_queue_depth", "Visible + in-flight queue messages.", value=depth
        )
        g = GaugeMetricFamily("rclaude_workers", "Registered workers by state.", labels=["state"])
        for state, n in sorted(Tally(w.state for w in workers).items()):
            g.add_metric([state], n)
        yield g
        g = GaugeMetricFamily("rclaude_tasks", "Newest 1000 tasks by state.", labels=["state"])
        for state, n in sorted(Tally(t.state.value for t in tasks).items()):
            g.add_metric([state], n)
        yield g
        durations = [
            t.finished_at - t.started_at
            for t in tasks
            if t.state in TERMINAL_STATES and t.started_at and t.finished_at
        ]
        buckets = [
            (("+Inf" if b == float("inf") else str(b)), sum(d <= b for d in durations))
            for b in DURATION_BUCKETS
        ]
        yield HistogramMetricFamily(
            "rclaude_task_duration_seconds",
            "Run time of the newest 1000 finished tasks.",
            buckets=buckets,
            sum_value=sum(durations),
        )


class Metrics:
    def __init__(self, platform) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StoreCollector(platform))
        self.ws_clients = Gauge(
            "rclaude_websocket_clients", "Open terminal WebSockets.", registry=self.registry
        )
        self.requests = Counter(
            "rclaude_http_requests",
            "HTTP requests served.",
            ["method", "status"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
