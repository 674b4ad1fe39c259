"""Publishing the orchestrator's figures: a Prometheus endpoint and CloudWatch.

Figures are read from the :class:`~rclaude.orchestrator.loop.Figures` of a running
orchestrator at scrape time (Prometheus) or after each reconcile (CloudWatch, through
``rclaude.infra.metrics`` so the namespace and dimensions match the stack's alarms).
"""

from __future__ import annotations

from collections.abc import Callable


class FiguresCollector:
    """Prometheus collector over one orchestrator's figures."""

    def __init__(self, orchestrator) -> None:
        self.orch = orchestrator

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        f = self.orch.figures
        yield GaugeMetricFamily(
            "rclaude_orchestrator_queue_depth",
            "Queue depth at the last reconcile (visible + in-flight).",
            value=f.depth,
        )
        yield GaugeMetricFamily(
            "rclaude_orchestrator_workers",
            "Workers the compute backend listed at the last reconcile.",
            value=f.workers,
        )
        for name, value, doc in (
            ("launches", f.launches, "Workers launched."),
            ("stops", f.stops, "Idle workers stopped."),
            ("failures", f.failures, "Reconciles that failed."),
        ):
            yield CounterMetricFamily(f"rclaude_orchestrator_{name}", doc, value=value)


def serve_prometheus(orchestrator, port: int, host: str = "127.0.0.1"):
    """Expose the figures on http://host:port/metrics (loopback by default)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(FiguresCollector(orchestrator))
    start_http_server(port, addr=host, registry=registry)
    return registry


def cloudwatch_publisher(config) -> Callable:
    """A callable that puts one reconcile's figures into CloudWatch."""
    from rclaude import awsutil
    from rclaude.infra.metrics import publish_figures

    cw = awsutil.client(
        "cloudwatch",
        region=config.aws.region,
        endpoint_url=config.aws.endpoint_url,
        profile=config.aws.profile,
    )

    def publish(figures) -> None:
        publish_figures(cw, figures, deployment=config.aws.deployment, mode=config.aws.mode)

    return publish
