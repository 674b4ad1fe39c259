"""Fixtures for the aws compute backend: a moto server with the footprint a real
deployment has (VPC with DNS hostnames, two subnets in two AZs, a security group that
opens nothing, an instance profile, an ECS cluster with a registered container
instance and a worker task definition).

Moto quirks worked around here (see docs/aws-backend.md):
- ECS ``run_task`` with the EC2 launch type needs a *registered container instance*
  (moto raises a bare 500 otherwise) and per-container ``memory`` in the task
  definition (moto sums container memory to place tasks);
- ``run_instances`` checks that the instance profile exists;
- moto moves ECS tasks towards STOPPED on every DescribeTasks; the fixture pins
  them at RUNNING through moto's state-manager API;
- the VPC gets ``enableDnsHostnames`` like a real deployment's VPC, so instances get
  private DNS names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from rclaude import awsutil
from rclaude.config.schema import Config

WORKER_ENV = {
    "RCLAUDE_QUEUE": "sqs",
    "RCLAUDE_SQS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/rclaude-tasks",
    "RCLAUDE_REDIS_PASSWORD_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:redis",
}


@dataclass
class Footprint:
    endpoint: str
    vpc_id: str
    subnet_ids: list[str]
    security_group_id: str
    instance_profile: str
    cluster: str
    task_definition: str

    def client(self, service: str):
        return awsutil.client(service, region="us-east-1", endpoint_url=self.endpoint)

    def config(self, mode: str = "ec2", **aws_overrides) -> Config:
        aws = {
            "mode": mode,
            "region": "us-east-1",
            "endpoint_url": self.endpoint,
            "deployment": "test",
            "ec2": {
                "instance_type": "t3.medium",
                "spot_instance": True,
                "spot_max_price": 0.05,
                "subnet_ids": self.subnet_ids,
                "security_group_ids": [self.security_group_id],
                "instance_profile": self.instance_profile,
            },
            "ecs": {"cluster_name": self.cluster, "task_definition": "rclaude-worker-ec2"},
            "shared": {"instance_type": "t3.large", "max_tasks_per_instance": 8},
            "fargate": {
                "cluster_name": self.cluster,
                "task_definition": self.task_definition,
                "subnet_ids": self.subnet_ids,
                "security_group_ids": [self.security_group_id],
            },
        }
        for key, value in aws_overrides.items():
            if isinstance(value, dict) and isinstance(aws.get(key), dict):
                aws[key] = {**aws[key], **value}
            else:
                aws[key] = value
        return Config(backend="aws", aws=aws, orchestrator={"max_workers": 10})


def _moto_api(endpoint: str, path: str, body: dict) -> None:
    import urllib.request

    req = urllib.request.Request(
        f"{endpoint}/moto-api/state-manager/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(req, timeout=10).read()


@pytest.fixture
def footprint(aws):
    """The deployment's network, role and cluster; ECS tasks stay RUNNING meanwhile."""
    # moto advances a task's lastStatus one step on every DescribeTasks (RUNNING ->
    # DEACTIVATING -> ... -> STOPPED) unless told otherwise: pin it like real AWS.
    _moto_api(
        aws,
        "set-transition",
        {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**9}},
    )
    yield _build_footprint(aws)
    _moto_api(aws, "unset-transition", {"model_name": "ecs::task"})


def _build_footprint(aws: str) -> Footprint:
    ec2 = awsutil.client("ec2", region="us-east-1", endpoint_url=aws)
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=az)["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate(["us-east-1a", "us-east-1b"])
    ]
    sg = ec2.create_security_group(GroupName="rclaude-worker", Description="w", VpcId=vpc)[
        "GroupId"
    ]
    iam = awsutil.client("iam", region="us-east-1", endpoint_url=aws)
    iam.create_role(
        RoleName="rclaude-worker",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    iam.create_instance_profile(InstanceProfileName="rclaude-worker")
    iam.add_role_to_instance_profile(
        InstanceProfileName="rclaude-worker", RoleName="rclaude-worker"
    )

    ecs = awsutil.client("ecs", region="us-east-1", endpoint_url=aws)
    ecs.create_cluster(clusterName="rclaude-test")
    ecs.register_task_definition(
        family="rclaude-worker",
        networkMode="awsvpc",
        requiresCompatibilities=["EC2", "FARGATE"],
        cpu="1024",
        memory="2048",
        containerDefinitions=[
            {"name": "worker", "image": "ghcr.io/rclaude/worker:latest", "memory": 512, "cpu": 256}
        ],
    )
    # The EC2 launch type uses bridge networking (awsvpc would need subnets per task).
    ecs.register_task_definition(
        family="rclaude-worker-ec2",
        networkMode="bridge",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[
            {"name": "worker", "image": "ghcr.io/rclaude/worker:latest", "memory": 512, "cpu": 256}
        ],
    )
    return Footprint(aws, vpc, subnets, sg, "rclaude-worker", "rclaude-test", "rclaude-worker")


def register_container_instance(fp: Footprint, *, cpu: int = 4096, memory: int = 16384) -> str:
    """Give the ECS cluster one EC2 container instance (moto needs it for launchType EC2)."""
    ec2 = fp.client("ec2")
    inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    doc = json.dumps(
        {
            "instanceId": inst["InstanceId"],
            "region": "us-east-1",
            "availabilityZone": "us-east-1a",
            "instanceType": "m5.xlarge",
            "accountId": "123456789012",
        }
    )
    resp = fp.client("ecs").register_container_instance(
        cluster=fp.cluster,
        instanceIdentityDocument=doc,
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
        ],
    )
    return resp["containerInstance"]["containerInstanceArn"]
