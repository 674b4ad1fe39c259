"""Orchestrator figures land in CloudWatch (moto) under namespace rclaude."""

from __future__ import annotations

import datetime as dt

from rclaude import awsutil
from rclaude.infra.metrics import NAMESPACE, publish_figures
from rclaude.orchestrator.loop import Figures


def test_figures_are_published_with_deployment_and_mode(aws):
    cw = awsutil.client("cloudwatch", region="us-east-1", endpoint_url=aws)
    figures = Figures(depth=50, workers=10, launches=10, stops=0, failures=1)
    publish_figures(cw, figures, deployment="prod", mode="fargate")

    names = {m["MetricName"] for m in cw.list_metrics(Namespace=NAMESPACE)["Metrics"]}
    assert names == {
        "QueueDepth",
        "RunningWorkers",
        "WorkersLaunched",
        "WorkersStopped",
        "ReconcileFailures",
    }
    now = dt.datetime.now(dt.UTC)
    stats = cw.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="QueueDepth",
        Dimensions=[{"Name": "Deployment", "Value": "prod"}, {"Name": "Mode", "Value": "fargate"}],
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert [d["Maximum"] for d in stats] == [50.0]
