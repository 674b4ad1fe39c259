"""Stack outputs → the user's config file, so ``rclaude run`` works next.

:func:`config_updates` maps outputs to config keys (only the outputs present: a stack
without Redis leaves ``log`` alone); :func:`write_config` applies them through
``rclaude.config.edit.update``, which validates the whole resulting file against the
schema and replaces it atomically (mode 0600). No secret value is ever written: only
the ARNs of secrets, which workers and the control plane read with their roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

Key = tuple[str, ...]


def _split(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def config_updates(
    outputs: Mapping[str, str], *, stack_name: str, region: str, deployment: str
) -> dict[Key, Any]:
    """Config changes (snake_case key paths → values) for a deployed stack's outputs."""
    o = dict(outputs)
    up: dict[Key, Any] = {
        ("backend",): "aws",
        ("aws", "region"): region,
        ("aws", "deployment"): deployment,
        ("aws", "stack", "name"): stack_name,
    }

    def put(key: Key, output: str, convert=lambda v: v) -> None:
        if o.get(output):
            up[key] = convert(o[output])

    put(("aws", "ec2", "subnet_ids"), "PrivateSubnetIds", _split)
    put(("aws", "ec2", "security_group_ids"), "WorkerSecurityGroupId", lambda v: [v])
    put(("aws", "ec2", "instance_profile"), "WorkerInstanceProfile")
    put(("aws", "ecs", "cluster_name"), "ClusterName")
    put(("aws", "ecs", "task_definition"), "WorkerEc2TaskDefinition")
    put(("aws", "ecs", "capacity_provider"), "EcsCapacityProvider")
    put(("aws", "fargate", "cluster_name"), "ClusterName")
    put(("aws", "fargate", "task_definition"), "WorkerTaskDefinition")
    put(("aws", "fargate", "subnet_ids"), "PrivateSubnetIds", _split)
    put(("aws", "fargate", "security_group_ids"), "WorkerSecurityGroupId", lambda v: [v])
    put(("aws", "stack", "app_secret_arn"), "AppSecretArn")
    put(("aws", "stack", "alarm_topic_arn"), "AlarmTopicArn")
    put(("aws", "stack", "log_group"), "LogGroupName")
    put(("aws", "stack", "server_url"), "ServerUrl")
    if o.get("QueueUrl"):
        up[("queue",)] = "sqs"
        put(("sqs", "queue_url"), "QueueUrl")
        put(("sqs", "queue_name"), "QueueName")
        put(("sqs", "dead_letter_queue_name"), "DeadLetterQueueName")
    if o.get("BucketName"):
        up[("storage",)] = "s3"
        put(("s3", "bucket"), "BucketName")
    if o.get("RedisEndpoint"):
        up[("log",)] = "redis"
        # TLS (in-transit encryption is on); the AUTH token stays in Secrets Manager.
        up[("redis", "url")] = f"rediss://{o['RedisEndpoint']}:6379/0"
        put(("aws", "stack", "redis_secret_arn"), "RedisSecretArn")
    if o.get("DatabaseEndpoint"):
        up[("database",)] = f"postgresql+psycopg://rclaude@{o['DatabaseEndpoint']}:5432/rclaude"
        put(("aws", "stack", "database_secret_arn"), "DatabaseSecretArn")
    return up


def write_config(path: Path, updates: Mapping[Key, Any]) -> list[str]:
    """Apply ``updates`` to the config file at ``path`` atomically; returns dotted keys."""
    from rclaude.config.edit import update

    update(Path(path), updates)
    return [".".join(k) for k in updates]
