"""Workers as ECS tasks: the ``ecs`` mode (EC2 launch type on an ECS cluster) and the
``fargate`` mode (``FARGATE_SPOT`` or ``FARGATE`` capacity providers, awsvpc).

Launch contract:

- ``RunTask`` with the worker command and environment as container overrides, tags on
  the task, a ``clientToken`` and ``startedBy`` both derived from the caller's token; a
  retried ``launch(n, token=t)`` lists tasks ``startedBy`` that value and only starts
  the rest (RunTask starts at most 10 tasks per call);
- fargate with ``spot: true`` falls back to on-demand ``FARGATE`` when RunTask reports
  a capacity failure; ecs reports placement failures (``RESOURCE:CPU``/``MEMORY``) as
  a BackendError with a hint, since it cannot add container instances itself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from rclaude.awsutil import translate_aws_errors
from rclaude.compute.aws import tags
from rclaude.errors import BackendError, ConfigError
from rclaude.model import WorkerInfo

RUN_TASK_MAX = 10
_ID_SHELL = (
    'RCLAUDE_WORKER_ID="$(python3 -m rclaude.compute.aws.identity)" && export RCLAUDE_WORKER_ID'
)


@dataclass
class TaskPlan:
    mode: str  # "ecs" or "fargate"
    deployment: str
    cluster: str
    task_definition: str
    container_name: str
    command: list[str]
    environment: dict[str, str]
    slots: int = 1
    cpu: int | None = None
    memory: int | None = None
    spot: bool = False
    subnet_ids: list[str] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)
    assign_public_ip: bool = False
    capacity_provider: str | None = None


def started_by(token: str | None) -> str:
    """ECS ``startedBy`` (<= 36 chars) for a launch token; random without one."""
    if not token:
        return "rclaude-" + secrets.token_hex(12)
    return "rclaude-" + hashlib.sha256(token.encode()).hexdigest()[:28]


def container_command(argv: list[str]) -> list[str]:
    """The container command: the task id becomes the worker id, then exec argv."""
    import shlex

    args = shlex.join(argv[:2]) + ' --worker-id "$RCLAUDE_WORKER_ID" ' + shlex.join(argv[2:])
    return ["sh", "-c", f"{_ID_SHELL} && exec {args}"]


class TaskPool:
    """Launch, list and stop this deployment's worker tasks of one mode."""

    def __init__(self, ecs: Any, plan: TaskPlan) -> None:
        self.ecs = ecs
        self.plan = plan

    def launch(self, n: int, token: str | None) -> list[WorkerInfo]:
        plan = self.plan
        if plan.mode == "fargate" and not plan.subnet_ids:
            raise ConfigError(
                "fargate workers need subnets (awsvpc networking)",
                code="RC-AWS-016",
                hint="run `rclaude init-deployment --mode self-hosted` or set aws.fargate.subnetIds",
            )
        group = started_by(token)
        started: list[WorkerInfo] = []
        if token:
            started = self.list(started_by_value=group)
            if len(started) >= n:
                return started[:n]
        remaining = n - len(started)
        while remaining > 0:
            count = min(RUN_TASK_MAX, remaining)
            # the offset keys the clientToken: a retried launch(n, token) that found some
            # tasks already running sends different tokens for the rest
            new = self._run_batch(count, token, group, offset=len(started))
            started.extend(new)
            remaining -= len(new)
        return started

    def _strategies(self) -> list[dict[str, Any]]:
        if self.plan.mode == "ecs":
            if self.plan.capacity_provider:
                # The provider's Auto Scaling group grows to fit the tasks.
                cp = {"capacityProvider": self.plan.capacity_provider, "weight": 1}
                return [{"capacityProviderStrategy": [cp]}]
            return [{"launchType": "EC2"}]
        providers = ["FARGATE_SPOT", "FARGATE"] if self.plan.spot else ["FARGATE"]
        return [
            {"capacityProviderStrategy": [{"capacityProvider": p, "weight": 1}]} for p in providers
        ]

    def _run_batch(self, count: int, token: str | None, group: str, offset: int) -> list:
        plan = self.plan
        failures: list[dict] = []
        for n_try, strategy in enumerate(self._strategies()):
            overrides: dict[str, Any] = {
                "containerOverrides": [
                    {
                        "name": plan.container_name,
                        "command": container_command(plan.command),
                        "environment": [
                            {"name": k, "value": v} for k, v in sorted(plan.environment.items())
                        ],
                    }
                ]
            }
            if plan.cpu:
                overrides["cpu"] = str(plan.cpu)
            if plan.memory:
                overrides["memory"] = str(plan.memory)
            params: dict[str, Any] = {
                "cluster": plan.cluster,
                "taskDefinition": plan.task_definition,
                "count": count,
                "startedBy": group,
                "overrides": overrides,
                "tags": tags.as_ecs(tags.worker_tags(plan.deployment, plan.mode, token)),
                "enableECSManagedTags": True,
                "clientToken": hashlib.sha256(
                    f"{token or secrets.token_hex(16)}|{offset}|{n_try}".encode()
                ).hexdigest()[:64],
                **strategy,
            }
            if plan.mode == "fargate":
                params["networkConfiguration"] = {
                    "awsvpcConfiguration": {
                        "subnets": list(plan.subnet_ids),
                        "securityGroups": list(plan.security_group_ids),
                        "assignPublicIp": "ENABLED" if plan.assign_public_ip else "DISABLED",
                    }
                }
            with translate_aws_errors(f"start {plan.mode} worker tasks"):
                resp = self.ecs.run_task(**params)
            if resp.get("tasks"):
                return [self._info(t) for t in resp["tasks"]]
            failures = resp.get("failures", [])
        reasons = ", ".join(sorted({f.get("reason", "unknown") for f in failures})) or "none"
        raise BackendError(
            f"ECS could not place {plan.mode} worker tasks on cluster {plan.cluster} "
            f"(reasons: {reasons})",
            code="RC-AWS-021",
            hint="add container instances / a capacity provider to the cluster"
            if plan.mode == "ecs"
            else "retry later, or set aws.fargate.spot: false",
        )

    def list(self, started_by_value: str | None = None) -> list[WorkerInfo]:
        plan = self.plan
        arns: list[str] = []
        kwargs: dict[str, Any] = {"cluster": plan.cluster, "desiredStatus": "RUNNING"}
        if started_by_value:
            kwargs["startedBy"] = started_by_value
        with translate_aws_errors(f"list {plan.mode} worker tasks"):
            for page in self.ecs.get_paginator("list_tasks").paginate(**kwargs):
                arns.extend(page["taskArns"])
            out = []
            for i in range(0, len(arns), 100):
                resp = self.ecs.describe_tasks(
                    cluster=plan.cluster, tasks=arns[i : i + 100], include=["TAGS"]
                )
                out.extend(
                    self._info(t)
                    for t in resp["tasks"]
                    if tags.is_ours(tags.from_ecs(t.get("tags")), plan.deployment, plan.mode)
                )
        return sorted(out, key=lambda w: (w.started_at or 0, w.id))

    def terminate(self, ids: list[str]) -> None:
        with translate_aws_errors(f"stop {self.plan.mode} worker tasks"):
            for task_id in ids:
                self.ecs.stop_task(
                    cluster=self.plan.cluster, task=task_id, reason="rclaude: idle worker"
                )

    def _info(self, task: dict) -> WorkerInfo:
        tagmap = tags.from_ecs(task.get("tags"))
        last = task.get("lastStatus", "PROVISIONING")
        if task.get("desiredStatus") == "STOPPED" or last in ("DEACTIVATING", "STOPPING"):
            state = "stopping"
        elif last == "STOPPED":
            state = "gone"
        else:
            state = tagmap.get(tags.STATE) or "starting"
        created = task.get("createdAt")
        arn = task["taskArn"]
        return WorkerInfo(
            id=arn.rsplit("/", 1)[-1],
            backend=f"aws:{self.plan.mode}",
            state=state,
            slots=self.plan.slots,
            busy=self.plan.slots if state == "busy" else 0,
            started_at=tags.launched_at(tagmap)
            or (created.timestamp() if hasattr(created, "timestamp") else None),
            details={
                "task_arn": arn,
                "cluster": self.plan.cluster,
                "last_status": last,
                "capacity_provider": task.get("capacityProviderName"),
                "launch_type": task.get("launchType"),
                "started_by": task.get("startedBy"),
                "launch_token": tagmap.get(tags.LAUNCH_TOKEN),
                "tags": tagmap,
            },
        )
