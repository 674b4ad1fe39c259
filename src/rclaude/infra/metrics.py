"""Orchestrator figures as CloudWatch metrics (namespace ``rclaude``).

The control-plane role may put metrics only in this namespace (see ``iam.py``). The
orchestrator calls :func:`publish_figures` after each reconcile with its figures
(anything with ``depth``, ``workers``, ``launches``, ``stops``, ``failures``); every
metric carries the ``Deployment`` and ``Mode`` dimensions so several deployments share
one account and dashboards can split by mode.
"""

from __future__ import annotations

from typing import Any

from rclaude.awsutil import translate_aws_errors

NAMESPACE = "rclaude"
#: figure attribute → (metric name, unit)
METRICS = {
    "depth": ("QueueDepth", "Count"),
    "workers": ("RunningWorkers", "Count"),
    "launches": ("WorkersLaunched", "Count"),
    "stops": ("WorkersStopped", "Count"),
    "failures": ("ReconcileFailures", "Count"),
}


def metric_data(figures: Any, *, deployment: str, mode: str) -> list[dict[str, Any]]:
    """The ``MetricData`` list for one set of figures (pure)."""
    dims = [{"Name": "Deployment", "Value": deployment}, {"Name": "Mode", "Value": mode}]
    return [
        {"MetricName": name, "Dimensions": dims, "Value": float(getattr(figures, attr)),
         "Unit": unit}
        for attr, (name, unit) in METRICS.items()
        if hasattr(figures, attr)
    ]  # fmt: skip


def publish_figures(cloudwatch: Any, figures: Any, *, deployment: str, mode: str) -> None:
    """Put the figures into CloudWatch (one PutMetricData call)."""
    data = metric_data(figures, deployment=deployment, mode=mode)
    if data:
        with translate_aws_errors("publish orchestrator metrics to CloudWatch"):
            cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
