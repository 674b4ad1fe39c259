"""The lead's orchestrator (``rclaude.orchestrator``) driving AwsCompute on moto.

A burst of 50 messages on a real SQS queue (moto) scales the fleet to ``max_workers``;
with the queue drained, busy workers are kept and idle ones stopped, back to zero.
Workers do not really run here: the test plays their part by setting the
``rclaude:state`` tag a real worker sets through its role, and by consuming messages.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rclaude.adapters.sqs_queue import SqsQueue
from rclaude.compute.aws import AwsCompute, tags
from rclaude.model import QueueMessage
from rclaude.orchestrator.loop import Orchestrator
from tests.compute_aws.conftest import WORKER_ENV


def _set_state(compute: AwsCompute, fp, workers, state: str) -> None:
    if compute.mode in ("ec2", "shared"):
        fp.client("ec2").create_tags(
            Resources=[w.id for w in workers], Tags=[{"Key": tags.STATE, "Value": state}]
        )
    else:
        for w in workers:
            fp.client("ecs").tag_resource(
                resourceArn=w.details["task_arn"], tags=[{"key": tags.STATE, "value": state}]
            )


@pytest.mark.parametrize("mode", ["fargate", "ec2"])
def test_burst_of_50_scales_to_max_and_back_to_zero(footprint, mode):
    config = footprint.config(mode)
    config.orchestrator.max_workers = 10
    config.orchestrator.scale_down_cooldown = 0
    config.sqs.queue_name = "rclaude-scale"
    queue = SqsQueue(config)
    compute = AwsCompute(config, WORKER_ENV)
    orch = Orchestrator(SimpleNamespace(queue=queue, config=config), compute=compute)

    for i in range(50):
        queue.send(QueueMessage(task_id=f"task-{i}"))
    assert queue.depth() == 50

    decision = orch.reconcile(scale_down=True)
    assert decision.launch == 10 and len(compute.list()) == 10
    assert orch.reconcile(scale_down=True).launch == 0  # at max: no more launches
    assert len(compute.list()) == 10

    workers = compute.list()
    _set_state(compute, footprint, workers, "busy")
    while leases := queue.receive(10, visibility_timeout=60):  # the workers drain the queue
        for lease in leases:
            queue.ack(lease)
    assert queue.depth() == 0

    orch.reconcile(scale_down=True)
    assert len(compute.list()) == 10  # all busy: nobody stopped

    _set_state(compute, footprint, workers[:6], "idle")
    orch.reconcile(scale_down=True)
    remaining = compute.list()
    assert {w.id for w in remaining} == {w.id for w in workers[6:]}
    assert all(w.state == "busy" for w in remaining)
    assert compute.stop([w.id for w in remaining]) == []  # even asked directly

    _set_state(compute, footprint, remaining, "idle")
    orch.reconcile(scale_down=True)
    assert compute.list() == []
    assert orch.figures.launches == 10 and orch.figures.stops == 10


def test_platform_builds_the_aws_backend_with_its_worker_env(footprint, tmp_path):
    """The composition root's wiring: worker_env passes the no-secrets check and
    ``--aws-mode`` picks the mode."""
    from rclaude.platform import Platform

    config = footprint.config("ec2")
    config.data_dir = tmp_path
    config.queue = "sqs"
    compute = Platform(config).compute_for("aws", aws_mode="shared")
    assert isinstance(compute, AwsCompute) and compute.mode == "shared"
    assert compute.worker_env["RCLAUDE_QUEUE"] == "sqs"
    (worker,) = compute.launch(1)
    assert worker.backend == "aws:shared" and worker.slots == 8
