"""The compute part of the footprint: the ECS cluster (Container Insights on), its
capacity (Fargate, Fargate Spot, and an Auto Scaling group for the ``ecs`` mode), the
worker and control-plane task definitions, the control-plane service and its load
balancer.

The worker task definitions carry the queue and bucket names as plain environment
and the Redis password as an ECS *secret* (injected from Secrets Manager at start, so
it never appears in a task definition or a RunTask override).
"""

from __future__ import annotations

from rclaude.infra.cfn import NO_VALUE, Json, att, if_, ref, sub, tags
from rclaude.infra.network import PRIVATE_SUBNETS, PUBLIC_SUBNETS, SERVER_PORT

WORKER_COMMAND = ["rclaude", "worker", "--idle-timeout", "60", "--concurrency", "1"]


def _environment() -> list[Json]:
    env = {
        "RCLAUDE_QUEUE": "sqs",
        "RCLAUDE_STORAGE": "s3",
        "RCLAUDE_SQS__QUEUE_URL": ref("TaskQueue"),
        "RCLAUDE_SQS__QUEUE_NAME": att("TaskQueue", "QueueName"),
        "RCLAUDE_S3__BUCKET": ref("Bucket"),
        "RCLAUDE_AWS__REGION": ref("AWS::Region"),
        "RCLAUDE_AWS__DEPLOYMENT": ref("Deployment"),
    }
    return [{"Name": k, "Value": v} for k, v in env.items()]


def _container(
    name: str,
    image: Json,
    command: list[str],
    *,
    with_redis: bool,
    memory: int | None = None,
    port: int | None = None,
) -> Json:
    c: Json = {
        "Name": name,
        "Image": image,
        "Essential": True,
        "Command": command,
        "Environment": _environment(),
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": ref("LogGroup"),
                "awslogs-region": ref("AWS::Region"),
                "awslogs-stream-prefix": name,
            },
        },
    }
    if with_redis:
        c["Secrets"] = [
            {"Name": "RCLAUDE_REDIS_PASSWORD", "ValueFrom": sub("${RedisSecret}:password::")}
        ]
    if memory:
        c["Memory"] = memory  # the EC2 launch type needs a per-container limit
    if port:
        c["PortMappings"] = [{"ContainerPort": port, "Protocol": "tcp"}]
    return c


def resources(*, with_redis: bool) -> Json:
    fargate_task = {
        "RequiresCompatibilities": ["FARGATE"],
        "NetworkMode": "awsvpc",
        "ExecutionRoleArn": att("TaskExecutionRole", "Arn"),
        "RuntimePlatform": {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "X86_64"},
    }
    return {
        "Cluster": {
            "Type": "AWS::ECS::Cluster",
            "Properties": {
                "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
                "Tags": tags("cluster"),
            },
        },
        "EcsLaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {
                    "ImageId": ref("EcsAmi"),
                    "InstanceType": ref("EcsInstanceType"),
                    "IamInstanceProfile": {"Arn": att("EcsInstanceProfile", "Arn")},
                    "SecurityGroupIds": [ref("WorkerSecurityGroup")],
                    "MetadataOptions": {
                        "HttpTokens": "required",
                        "HttpEndpoint": "enabled",
                        "HttpPutResponseHopLimit": 2,
                    },
                    "BlockDeviceMappings": [
                        {
                            "DeviceName": "/dev/xvda",
                            "Ebs": {"VolumeSize": 30, "VolumeType": "gp3", "Encrypted": True},
                        }
                    ],
                    "UserData": {
                        "Fn::Base64": sub(
                            "#!/bin/bash\necho ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\n"
                        )
                    },
                },
            },
        },
        "EcsAutoScalingGroup": {
            "Type": "AWS::AutoScaling::AutoScalingGroup",
            "Properties": {
                "MinSize": "0",
                "MaxSize": ref("EcsMaxInstances"),
                "VPCZoneIdentifier": PRIVATE_SUBNETS,
                "LaunchTemplate": {
                    "LaunchTemplateId": ref("EcsLaunchTemplate"),
                    "Version": att("EcsLaunchTemplate", "LatestVersionNumber"),
                },
                "Tags": [
                    {"Key": "rclaude:managed-by", "Value": "rclaude", "PropagateAtLaunch": True},
                    {
                        "Key": "rclaude:deployment",
                        "Value": ref("Deployment"),
                        "PropagateAtLaunch": True,
                    },
                ],
            },
        },
        "EcsCapacityProvider": {
            "Type": "AWS::ECS::CapacityProvider",
            "Properties": {
                "AutoScalingGroupProvider": {
                    "AutoScalingGroupArn": ref("EcsAutoScalingGroup"),
                    "ManagedScaling": {"Status": "ENABLED", "TargetCapacity": 100},
                    "ManagedTerminationProtection": "DISABLED",
                },
            },
        },
        "ClusterCapacity": {
            "Type": "AWS::ECS::ClusterCapacityProviderAssociations",
            "Properties": {
                "Cluster": ref("Cluster"),
                "CapacityProviders": ["FARGATE", "FARGATE_SPOT", ref("EcsCapacityProvider")],
                "DefaultCapacityProviderStrategy": [
                    {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}
                ],
            },
        },
        "WorkerTaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                **fargate_task,
                "Family": sub("${AWS::StackName}-worker"),
                "Cpu": "1024",
                "Memory": "2048",
                "TaskRoleArn": att("WorkerRole", "Arn"),
                "ContainerDefinitions": [
                    _container("worker", ref("WorkerImage"), WORKER_COMMAND, with_redis=with_redis)
                ],
            },
        },
        "WorkerEc2TaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": sub("${AWS::StackName}-worker-ec2"),
                "RequiresCompatibilities": ["EC2"],
                "NetworkMode": "bridge",
                "ExecutionRoleArn": att("TaskExecutionRole", "Arn"),
                "TaskRoleArn": att("WorkerRole", "Arn"),
                "ContainerDefinitions": [
                    _container(
                        "worker",
                        ref("WorkerImage"),
                        WORKER_COMMAND,
                        with_redis=with_redis,
                        memory=2048,
                    )
                ],
            },
        },
        "ControlPlaneTaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                **fargate_task,
                "Family": sub("${AWS::StackName}-control-plane"),
                "Cpu": "512",
                "Memory": "1024",
                "TaskRoleArn": att("ControlPlaneRole", "Arn"),
                "ContainerDefinitions": [
                    _container(
                        "server",
                        ref("ControlPlaneImage"),
                        ["rclaude", "server", "--host", "0.0.0.0", "--port", str(SERVER_PORT)],
                        with_redis=with_redis,
                        port=SERVER_PORT,
                    )
                ],
            },
        },
        "LoadBalancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Type": "application",
                "Scheme": ref("LoadBalancerScheme"),
                "Subnets": PUBLIC_SUBNETS,
                "SecurityGroups": [ref("LoadBalancerSecurityGroup")],
                "LoadBalancerAttributes": [
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}
                ],
                "Tags": tags("alb"),
            },
        },
        "TargetGroup": {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {
                "TargetType": "ip",
                "Protocol": "HTTP",
                "Port": SERVER_PORT,
                "VpcId": ref("Vpc"),
                "HealthCheckPath": "/healthz",
                "Tags": tags("control-plane"),
            },
        },
        "Listener": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": ref("LoadBalancer"),
                "Port": if_("HasCertificate", 443, 80),
                "Protocol": if_("HasCertificate", "HTTPS", "HTTP"),
                "SslPolicy": if_("HasCertificate", "ELBSecurityPolicy-TLS13-1-2-2021-06", NO_VALUE),
                "Certificates": if_(
                    "HasCertificate", [{"CertificateArn": ref("CertificateArn")}], NO_VALUE
                ),
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": ref("TargetGroup")}],
            },
        },
        "ControlPlaneService": {
            "Type": "AWS::ECS::Service",
            "DependsOn": "Listener",
            "Properties": {
                "Cluster": ref("Cluster"),
                "TaskDefinition": ref("ControlPlaneTaskDefinition"),
                "LaunchType": "FARGATE",
                "DesiredCount": 1,
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": {
                        "Subnets": PRIVATE_SUBNETS,
                        "SecurityGroups": [ref("ControlPlaneSecurityGroup")],
                        "AssignPublicIp": "DISABLED",
                    }
                },
                "LoadBalancers": [
                    {
                        "ContainerName": "server",
                        "ContainerPort": SERVER_PORT,
                        "TargetGroupArn": ref("TargetGroup"),
                    }
                ],
            },
        },
    }
