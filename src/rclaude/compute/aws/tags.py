"""Tag keys that make AWS the source of truth for rclaude's workers.

Every instance and task rclaude starts carries:

- ``rclaude:managed-by`` = ``rclaude``  — never touch anything without it;
- ``rclaude:deployment`` = ``aws.deployment`` — several deployments share an account;
- ``rclaude:worker``     = the mode (``ec2``, ``shared``, ``ecs``, ``fargate``);
- ``rclaude:launch-token`` = the caller's idempotency token, when one was given;
- ``rclaude:launched-at`` = launch time (epoch seconds), so the orphan sweeper can age
  workers the same way on EC2 and ECS;
- ``rclaude:state``      = ``idle`` or ``busy``, set by the worker itself (through its
  role) so that ``stop`` can tell idle workers without a TaskStore.
"""

from __future__ import annotations

MANAGED_BY = "rclaude:managed-by"
MANAGED_BY_VALUE = "rclaude"
DEPLOYMENT = "rclaude:deployment"
WORKER = "rclaude:worker"
LAUNCH_TOKEN = "rclaude:launch-token"
STATE = "rclaude:state"
LAUNCHED_AT = "rclaude:launched-at"
NAME = "Name"


def worker_tags(deployment: str, mode: str, token: str | None) -> dict[str, str]:
    """The tags put on every worker resource at launch."""
    import time

    tags = {
        MANAGED_BY: MANAGED_BY_VALUE,
        DEPLOYMENT: deployment,
        WORKER: mode,
        NAME: f"rclaude-{deployment}-{mode}",
        LAUNCHED_AT: str(int(time.time())),
    }
    if token:
        tags[LAUNCH_TOKEN] = token
    return tags


def as_ec2(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def as_ecs(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def from_ec2(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or ()}


def from_ecs(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["key"]: t["value"] for t in items or ()}


def ec2_filters(deployment: str, mode: str | None = None) -> list[dict[str, list[str]] | dict]:
    """describe_instances filters selecting this deployment's workers (one mode or all)."""
    filters: list[dict] = [
        {"Name": f"tag:{MANAGED_BY}", "Values": [MANAGED_BY_VALUE]},
        {"Name": f"tag:{DEPLOYMENT}", "Values": [deployment]},
    ]
    if mode:
        filters.append({"Name": f"tag:{WORKER}", "Values": [mode]})
    return filters


def launched_at(tags: dict[str, str]) -> float | None:
    try:
        return float(tags[LAUNCHED_AT])
    except (KeyError, ValueError):
        return None


def is_ours(tags: dict[str, str], deployment: str, mode: str | None = None) -> bool:
    return (
        tags.get(MANAGED_BY) == MANAGED_BY_VALUE
        and tags.get(DEPLOYMENT) == deployment
        and (mode is None or tags.get(WORKER) == mode)
    )
