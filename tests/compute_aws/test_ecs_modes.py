"""aws/ecs and aws/fargate modes against a moto server, through production boto3 paths."""

from __future__ import annotations

import pytest

from rclaude.compute.aws import AwsCompute, tags
from rclaude.errors import BackendError, ConfigError
from tests.compute_aws.conftest import WORKER_ENV, register_container_instance
from tests.compute_aws.faults import inject_response, record


def _running_tasks(fp):
    ecs = fp.client("ecs")
    arns = ecs.list_tasks(cluster=fp.cluster, desiredStatus="RUNNING")["taskArns"]
    if not arns:
        return []
    return ecs.describe_tasks(cluster=fp.cluster, tasks=arns, include=["TAGS"])["tasks"]


def _tag_task(fp, worker, value):
    fp.client("ecs").tag_resource(
        resourceArn=worker.details["task_arn"], tags=[{"key": tags.STATE, "value": value}]
    )


def test_ecs_launch_runs_worker_tasks_with_overrides(footprint):
    register_container_instance(footprint)
    compute = AwsCompute(footprint.config("ecs"), WORKER_ENV)
    calls = record(compute.client("ecs"), "RunTask")
    workers = compute.launch(2)
    assert len(workers) == 2 and all(w.backend == "aws:ecs" for w in workers)
    params = calls[0]
    assert params["launchType"] == "EC2" and params["cluster"] == "rclaude-test"
    override = params["overrides"]["containerOverrides"][0]
    assert override["name"] == "worker"
    assert override["command"][:2] == ["sh", "-c"]
    assert (
        'exec rclaude worker --worker-id "$RCLAUDE_WORKER_ID" --idle-timeout 60 --concurrency 1'
        in override["command"][2]
    )
    assert {e["name"] for e in override["environment"]} == set(WORKER_ENV)
    assert params["clientToken"] and len(params["startedBy"]) <= 36
    for task in _running_tasks(footprint):
        t = tags.from_ecs(task["tags"])
        assert t[tags.MANAGED_BY] == "rclaude" and t[tags.WORKER] == "ecs"


def test_ecs_list_stop_idle_and_sweep(footprint):
    register_container_instance(footprint)
    compute = AwsCompute(footprint.config("ecs"), WORKER_ENV)
    a, b, c = compute.launch(3)
    # a task of another deployment in the same cluster is not ours
    other = AwsCompute(footprint.config("ecs", deployment="other"), WORKER_ENV)
    (foreign,) = other.launch(1)
    listed = AwsCompute(footprint.config("ecs"), WORKER_ENV).list()
    assert {w.id for w in listed} == {a.id, b.id, c.id}

    _tag_task(footprint, a, "idle")
    _tag_task(footprint, b, "busy")
    assert compute.stop([a.id, b.id, foreign.id]) == [a.id]
    assert {w.id for w in compute.list()} == {b.id, c.id}

    report = compute.sweep(known={b.id}, grace=0)
    assert report.removed == [c.id]  # never registered; b is busy
    assert {w.id for w in compute.list()} == {b.id}
    assert [w.id for w in other.list()] == [foreign.id]


def test_ecs_launch_with_token_is_idempotent(footprint):
    register_container_instance(footprint)
    compute = AwsCompute(footprint.config("ecs"), WORKER_ENV)
    first = compute.launch(2, token="burst-1")
    again = compute.launch(2, token="burst-1")
    assert {w.id for w in again} == {w.id for w in first}
    assert len(_running_tasks(footprint)) == 2


def test_ecs_without_container_instances_fails_clearly(footprint):
    compute = AwsCompute(footprint.config("ecs"), WORKER_ENV)
    inject_response(
        compute.client("ecs"),
        "RunTask",
        lambda body: True,
        {"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:MEMORY"}]},
    )
    with pytest.raises(BackendError) as info:
        compute.launch(1)
    assert info.value.code == "RC-AWS-021" and "RESOURCE:MEMORY" in info.value.message


def test_fargate_uses_spot_provider_and_awsvpc(footprint):
    compute = AwsCompute(footprint.config("fargate"), WORKER_ENV)
    calls = record(compute.client("ecs"), "RunTask")
    (worker,) = compute.launch(1)
    params = calls[0]
    assert params["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    vpc = params["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc["subnets"] == footprint.subnet_ids and vpc["assignPublicIp"] == "DISABLED"
    assert worker.backend == "aws:fargate"
    assert worker.details["capacity_provider"] == "FARGATE_SPOT"
    _tag_task(footprint, worker, "idle")
    assert compute.stop([worker.id]) == [worker.id]
    assert compute.list() == []


def test_fargate_spot_capacity_failure_falls_back_to_on_demand(footprint):
    compute = AwsCompute(footprint.config("fargate"), WORKER_ENV)
    answered = inject_response(
        compute.client("ecs"),
        "RunTask",
        lambda body: body["capacityProviderStrategy"][0]["capacityProvider"] == "FARGATE_SPOT",
        {"tasks": [], "failures": [{"reason": "Capacity is unavailable at this time"}]},
    )
    (worker,) = compute.launch(1)
    assert len(answered) == 1
    assert worker.details["capacity_provider"] == "FARGATE"


def test_fargate_without_subnets_is_rejected_before_any_call(footprint):
    cfg = footprint.config("fargate", fargate={"subnet_ids": []})
    compute = AwsCompute(cfg, WORKER_ENV)
    calls = record(compute.client("ecs"), "RunTask")
    with pytest.raises(ConfigError) as info:
        compute.launch(1)
    assert info.value.code == "RC-AWS-016" and calls == []


def test_ecs_capacity_provider_strategy_when_configured(footprint):
    register_container_instance(footprint)
    cfg = footprint.config("ecs", ecs={"capacity_provider": "rclaude-asg"})
    compute = AwsCompute(cfg, WORKER_ENV)
    calls = record(compute.client("ecs"), "RunTask")
    compute.launch(1)
    assert calls[0]["capacityProviderStrategy"] == [
        {"capacityProvider": "rclaude-asg", "weight": 1}
    ]
    assert "launchType" not in calls[0]
