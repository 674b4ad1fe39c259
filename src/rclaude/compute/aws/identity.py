"""How a remote worker learns its own id: the id of the AWS resource it runs on.

``python -m rclaude.compute.aws.identity`` prints it; the EC2 systemd unit and the ECS
container command export it as ``RCLAUDE_WORKER_ID`` before starting ``rclaude worker``,
so the id in the TaskStore's worker registry equals the id ``AwsCompute.list`` reports
(an EC2 instance id, or an ECS task id).

Order: ``RCLAUDE_WORKER_ID`` if already set → ECS task metadata endpoint v4 → EC2
instance metadata with an IMDSv2 session token (the only kind our instances accept).
"""

from __future__ import annotations

import json
import os
import urllib.request

IMDS = "http://169.254.169.254/latest"


def ecs_task_id(metadata_uri: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(f"{metadata_uri}/task", timeout=timeout) as resp:
        arn = json.load(resp)["TaskARN"]
    return arn.rsplit("/", 1)[-1]


def ec2_instance_id(base: str = IMDS, timeout: float = 2.0) -> str:
    token_req = urllib.request.Request(
        f"{base}/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
    )
    with urllib.request.urlopen(token_req, timeout=timeout) as resp:
        token = resp.read().decode()
    req = urllib.request.Request(
        f"{base}/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read().decode().strip()


def discover_worker_id(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if env.get("RCLAUDE_WORKER_ID"):
        return env["RCLAUDE_WORKER_ID"]
    if env.get("ECS_CONTAINER_METADATA_URI_V4"):
        return ecs_task_id(env["ECS_CONTAINER_METADATA_URI_V4"])
    return ec2_instance_id(env.get("RCLAUDE_IMDS_URL", IMDS))


if __name__ == "__main__":
    print(discover_worker_id())
