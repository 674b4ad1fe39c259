"""The network part of the footprint: a VPC with two public and two private subnets
in two AZs, one NAT gateway, and security groups that open nothing to the world.

- Workers, the control plane, Aurora and Redis live in the private subnets; the public
  subnets only hold the NAT gateway and the load balancer.
- ``WorkerSecurityGroup`` has no ingress at all (workers pull from SQS; nothing
  connects to them). ``LoadBalancerSecurityGroup`` admits ``AllowedCidr`` on 443/80
  only when that parameter is set (default empty: closed). ``ControlPlaneSecurityGroup``
  admits the load balancer only; ``DataSecurityGroup`` admits workers and the control
  plane on the PostgreSQL and Redis ports only.
"""

from __future__ import annotations

from rclaude.infra.cfn import Json, az, ref, tags

VPC_CIDR = "10.80.0.0/16"
PUBLIC_CIDRS = ("10.80.0.0/20", "10.80.16.0/20")
PRIVATE_CIDRS = ("10.80.128.0/19", "10.80.160.0/19")
SERVER_PORT = 8765


def _sg(name: str, description: str, ingress: list[Json]) -> Json:
    props: Json = {
        "GroupDescription": description,
        "VpcId": ref("Vpc"),
        "SecurityGroupEgress": [
            {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "Description": "outbound"}
        ],
        "Tags": tags(name),
    }
    if ingress:
        props["SecurityGroupIngress"] = ingress
    return {"Type": "AWS::EC2::SecurityGroup", "Properties": props}


def resources() -> Json:
    r: Json = {
        "Vpc": {
            "Type": "AWS::EC2::VPC",
            "Properties": {
                "CidrBlock": VPC_CIDR,
                "EnableDnsHostnames": True,
                "EnableDnsSupport": True,
                "Tags": tags("vpc"),
            },
        },
        "InternetGateway": {
            "Type": "AWS::EC2::InternetGateway",
            "Properties": {"Tags": tags("igw")},
        },
        "GatewayAttachment": {
            "Type": "AWS::EC2::VPCGatewayAttachment",
            "Properties": {"VpcId": ref("Vpc"), "InternetGatewayId": ref("InternetGateway")},
        },
        "PublicRouteTable": {
            "Type": "AWS::EC2::RouteTable",
            "Properties": {"VpcId": ref("Vpc"), "Tags": tags("public")},
        },
        "PublicDefaultRoute": {
            "Type": "AWS::EC2::Route",
            "DependsOn": "GatewayAttachment",
            "Properties": {
                "RouteTableId": ref("PublicRouteTable"),
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": ref("InternetGateway"),
            },
        },
        "PrivateRouteTable": {
            "Type": "AWS::EC2::RouteTable",
            "Properties": {"VpcId": ref("Vpc"), "Tags": tags("private")},
        },
        "NatAddress": {
            "Type": "AWS::EC2::EIP",
            "DependsOn": "GatewayAttachment",
            "Properties": {"Domain": "vpc", "Tags": tags("nat")},
        },
        "NatGateway": {
            "Type": "AWS::EC2::NatGateway",
            "Properties": {
                "AllocationId": {"Fn::GetAtt": ["NatAddress", "AllocationId"]},
                "SubnetId": ref("PublicSubnet1"),
                "Tags": tags("nat"),
            },
        },
        "PrivateDefaultRoute": {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": ref("PrivateRouteTable"),
                "DestinationCidrBlock": "0.0.0.0/0",
                "NatGatewayId": ref("NatGateway"),
            },
        },
    }
    for i, (pub, priv) in enumerate(zip(PUBLIC_CIDRS, PRIVATE_CIDRS, strict=True), start=1):
        for kind, cidr in (("Public", pub), ("Private", priv)):
            name = f"{kind}Subnet{i}"
            r[name] = {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": ref("Vpc"),
                    "CidrBlock": cidr,
                    "AvailabilityZone": az(i - 1),
                    "MapPublicIpOnLaunch": False,
                    "Tags": tags(f"{kind.lower()}-{i}"),
                },
            }
            r[f"{name}Routes"] = {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {
                    "SubnetId": ref(name),
                    "RouteTableId": ref(f"{kind}RouteTable"),
                },
            }
    r["WorkerSecurityGroup"] = _sg("workers", "rclaude workers: no inbound traffic", [])
    r["LoadBalancerSecurityGroup"] = _sg(
        "load-balancer", "rclaude load balancer: only AllowedCidr, when set", []
    )
    for port in (80, 443):
        # Separate conditional rules (not Fn::If inside the group's list), so an
        # unset AllowedCidr leaves the group with no ingress rule at all.
        r[f"LoadBalancerIngress{port}"] = {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Condition": "HasAllowedCidr",
            "Properties": {
                "GroupId": ref("LoadBalancerSecurityGroup"),
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
                "CidrIp": ref("AllowedCidr"),
                "Description": "AllowedCidr parameter",
            },
        }
    r["ControlPlaneSecurityGroup"] = _sg(
        "control-plane",
        "rclaude control plane: only from the load balancer",
        [
            {
                "IpProtocol": "tcp",
                "FromPort": SERVER_PORT,
                "ToPort": SERVER_PORT,
                "SourceSecurityGroupId": ref("LoadBalancerSecurityGroup"),
                "Description": "load balancer",
            }
        ],
    )
    r["DataSecurityGroup"] = _sg(
        "data",
        "rclaude data stores: only workers and the control plane",
        [
            {
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
                "SourceSecurityGroupId": ref(group),
                "Description": f"{group} to port {port}",
            }
            for port in (5432, 6379)
            for group in ("WorkerSecurityGroup", "ControlPlaneSecurityGroup")
        ],
    )
    return r


PRIVATE_SUBNETS = [ref("PrivateSubnet1"), ref("PrivateSubnet2")]
PUBLIC_SUBNETS = [ref("PublicSubnet1"), ref("PublicSubnet2")]
