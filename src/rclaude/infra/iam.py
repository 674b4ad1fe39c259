"""Least-privilege roles: each names the resources of this stack it may touch.

- ``WorkerRole`` (ECS tasks and EC2 instances, through ``WorkerInstanceProfile``):
  lease/ack/extend on the task queue, send to the dead-letter queue, objects in the
  bucket, read this stack's secrets, write its log group, and tag *its own kind* of
  resource (``rclaude:state``) — only resources already marked managed by rclaude.
- ``TaskExecutionRole``: pull images, write logs, read the secrets injected into
  containers (the ECS agent's role, not the application's).
- ``ControlPlaneRole``: send to the queue, objects in the bucket, mail from the SES
  identity, metrics, and start/stop workers — RunInstances only with the rclaude tags,
  terminate/stop only resources tagged ``rclaude:managed-by=rclaude``, and PassRole
  only for the worker roles.
- ``EcsInstanceRole``: what an ECS container instance needs (AWS managed policy).
"""

from __future__ import annotations

from rclaude.infra.cfn import Json, att, ref, sub

MANAGED_CONDITION = {"StringEquals": {"aws:ResourceTag/rclaude:managed-by": "rclaude"}}


def _trust(*services: str) -> Json:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": list(services)},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def _policy(name: str, statements: list[Json]) -> Json:
    return {
        "PolicyName": name,
        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
    }


def _allow(actions: list[str], resources: list, condition: Json | None = None) -> Json:
    st: Json = {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        st["Condition"] = condition
    return st


def _secrets(with_redis: bool) -> list:
    arns: list = [ref("AppSecret")]
    if with_redis:
        arns.append(ref("RedisSecret"))
    return arns


def _data_plane(with_redis: bool) -> list[Json]:
    """What workers and the control plane both need."""
    return [
        _allow(
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:SendMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            [att("TaskQueue", "Arn"), att("DeadLetterQueue", "Arn")],
        ),
        _allow(["s3:ListBucket"], [att("Bucket", "Arn")]),
        _allow(
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            [sub("${Bucket.Arn}/*")],
        ),
        _allow(["secretsmanager:GetSecretValue"], _secrets(with_redis)),
        _allow(["logs:CreateLogStream", "logs:PutLogEvents"], [att("LogGroup", "Arn")]),
    ]


def resources(*, with_redis: bool, with_aurora: bool) -> Json:
    worker_statements = _data_plane(with_redis) + [
        _allow(
            ["ec2:CreateTags"],
            [sub("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*")],
            MANAGED_CONDITION,
        ),
        _allow(
            ["ecs:TagResource"],
            [sub("arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:task/*")],
            MANAGED_CONDITION,
        ),
    ]
    if with_aurora:
        worker_statements.append(
            _allow(
                ["secretsmanager:GetSecretValue"], [att("Database", "MasterUserSecret.SecretArn")]
            )
        )
    control_statements = _data_plane(with_redis) + [
        _allow(
            ["ses:SendEmail", "ses:SendRawEmail"],
            ["*"],
            {"StringEquals": {"ses:FromAddress": ref("SenderIdentity")}},
        ),
        _allow(
            ["cloudwatch:PutMetricData"],
            ["*"],
            {"StringEquals": {"cloudwatch:namespace": "rclaude"}},
        ),
        _allow(
            [
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeSpotPriceHistory",
                "ecs:ListTasks",
                "ecs:DescribeTasks",
                "ssm:GetParameter",
            ],
            ["*"],
        ),
        _allow(
            ["ec2:RunInstances", "ec2:CreateTags"],
            ["*"],
            {"StringEquals": {"aws:RequestTag/rclaude:managed-by": "rclaude"}},
        ),
        _allow(
            ["ec2:RunInstances"],
            [
                sub("arn:${AWS::Partition}:ec2:*::image/*"),
                sub("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:subnet/*"),
                sub("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:network-interface/*"),
                sub("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*"),
                sub("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:volume/*"),
            ],
        ),
        _allow(
            ["ec2:TerminateInstances", "ec2:CreateTags"],
            [sub("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*")],
            MANAGED_CONDITION,
        ),
        _allow(["ecs:RunTask"], [ref("WorkerTaskDefinition"), ref("WorkerEc2TaskDefinition")]),
        _allow(
            ["ecs:StopTask", "ecs:TagResource"],
            [sub("arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:task/*")],
            MANAGED_CONDITION,
        ),
        _allow(["iam:PassRole"], [att("WorkerRole", "Arn"), att("TaskExecutionRole", "Arn")]),
    ]
    return {
        "WorkerRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "rclaude workers (ECS tasks and EC2 instances)",
                "AssumeRolePolicyDocument": _trust("ecs-tasks.amazonaws.com", "ec2.amazonaws.com"),
                "Policies": [_policy("rclaude-worker", worker_statements)],
            },
        },
        "WorkerInstanceProfile": {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {"Roles": [ref("WorkerRole")]},
        },
        "TaskExecutionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "ECS agent: pull images, write logs, inject secrets",
                "AssumeRolePolicyDocument": _trust("ecs-tasks.amazonaws.com"),
                "ManagedPolicyArns": [
                    sub(
                        "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonECSTaskExecutionRolePolicy"
                    )
                ],
                "Policies": [
                    _policy(
                        "rclaude-secrets",
                        [_allow(["secretsmanager:GetSecretValue"], _secrets(with_redis))],
                    )
                ],
            },
        },
        "ControlPlaneRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "rclaude control plane: API server and orchestrator",
                "AssumeRolePolicyDocument": _trust("ecs-tasks.amazonaws.com"),
                "Policies": [_policy("rclaude-control-plane", control_statements)],
            },
        },
        "EcsInstanceRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "ECS container instances for the ecs mode",
                "AssumeRolePolicyDocument": _trust("ec2.amazonaws.com"),
                "ManagedPolicyArns": [
                    sub(
                        "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonEC2ContainerServiceforEC2Role"
                    )
                ],
            },
        },
        "EcsInstanceProfile": {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {"Roles": [ref("EcsInstanceRole")]},
        },
    }
