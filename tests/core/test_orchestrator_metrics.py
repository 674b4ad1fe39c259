"""The orchestrator's figures on a real Prometheus endpoint and in CloudWatch (moto)."""

from __future__ import annotations

import urllib.request

from rclaude.config.schema import Config
from rclaude.model import TaskSpec
from rclaude.orchestrator.loop import Orchestrator
from rclaude.platform import Platform
from tests.support.moto_server import free_port


def test_prometheus_endpoint_and_cloudwatch(tmp_path, aws):
    cfg = Config.model_validate(
        {
            "dataDir": str(tmp_path / "data"),
            "orchestrator": {"maxWorkers": 0},  # count, but launch nothing
            "aws": {"region": "us-east-1", "endpointUrl": aws, "deployment": "metrics-test"},
        }
    )
    with Platform(cfg) as p:
        for _ in range(3):
            p.service.submit(TaskSpec(command=("true",)), reconcile=False)
        orch = Orchestrator(p)
        from rclaude.orchestrator.metrics import cloudwatch_publisher, serve_prometheus

        port = free_port()
        serve_prometheus(orch, port)
        orch.run(interval=0.01, stop_after=0.05, publish=cloudwatch_publisher(cfg))
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert "rclaude_orchestrator_queue_depth 3.0" in text
        assert "rclaude_orchestrator_launches_total 0.0" in text
    import boto3

    cw = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=aws)
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="rclaude")["Metrics"]}
    assert {"QueueDepth", "RunningWorkers", "WorkersLaunched"} <= names
    stats = cw.get_metric_statistics(
        Namespace="rclaude",
        MetricName="QueueDepth",
        Period=60,
        Statistics=["Maximum"],
        Dimensions=[
            {"Name": "Deployment", "Value": "metrics-test"},
            {"Name": "Mode", "Value": "ec2"},
        ],
        StartTime="2000-01-01T00:00:00Z",
        EndTime="2100-01-01T00:00:00Z",
    )
    assert max(d["Maximum"] for d in stats["Datapoints"]) == 3.0
