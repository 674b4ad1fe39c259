"""The dedicated network of one deployment in one region, found by tags, made if missing.

Per region a deployment owns: a VPC, an internet gateway, a route table with a default
route, one subnet per availability zone it uses, a security group whose ingress is
limited to ``allowed_cidrs`` (never 0.0.0.0/0 by default) and an SSH key pair. All
carry the ``spot:deployment-id`` tag; lookups go by tag or by the owning VPC, so
``ensure`` makes no write when everything exists and ``teardown`` touches only what
belongs to the deployment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rclaude.deploy.aws import TAG_ID, error_code, tag_spec

VPC_CIDR = "10.83.0.0/16"


def _id_filter(deployment_id: str) -> list[dict]:
    return [{"Name": f"tag:{TAG_ID}", "Values": [deployment_id]}]


def key_name(deployment_id: str) -> str:
    return f"spot-{deployment_id}"


@dataclass
class RegionNetwork:
    """Network resources of one deployment in one region (ids filled by ``ensure``)."""

    ec2: object
    deployment_id: str
    tags: dict[str, str]
    vpc_id: str | None = None
    route_table_id: str | None = None
    sg_id: str | None = None
    subnets: dict[str, str] = field(default_factory=dict)

    def ensure(self, cidrs: list[str], ports: list[int], public_key: str | None) -> None:
        """Find or create VPC, gateway, routes, security group and key pair."""
        ec2 = self.ec2
        vpcs = ec2.describe_vpcs(Filters=_id_filter(self.deployment_id))["Vpcs"]
        if vpcs:
            self.vpc_id = vpcs[0]["VpcId"]
        else:
            self.vpc_id = ec2.create_vpc(
                CidrBlock=VPC_CIDR, TagSpecifications=tag_spec("vpc", self.tags)
            )["Vpc"]["VpcId"]
        vpc_filter = [{"Name": "vpc-id", "Values": [self.vpc_id]}]
        # Look up by tag as well as by attachment, so a half-finished earlier run (gateway
        # created, attach failed) is repaired instead of leaking a second gateway.
        igws = (
            ec2.describe_internet_gateways(Filters=_id_filter(self.deployment_id))[
                "InternetGateways"
            ]
            or ec2.describe_internet_gateways(
                Filters=[{"Name": "attachment.vpc-id", "Values": [self.vpc_id]}]
            )["InternetGateways"]
        )
        if igws:
            igw_id = igws[0]["InternetGatewayId"]
            attached = {a.get("VpcId") for a in igws[0].get("Attachments", [])}
        else:
            igw_id = ec2.create_internet_gateway(
                TagSpecifications=tag_spec("internet-gateway", self.tags)
            )["InternetGateway"]["InternetGatewayId"]
            attached = set()
        if self.vpc_id not in attached:
            ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=self.vpc_id)
        tables = ec2.describe_route_tables(Filters=vpc_filter + _id_filter(self.deployment_id))[
            "RouteTables"
        ]
        if tables:
            table = tables[0]
        else:
            table = ec2.create_route_table(
                VpcId=self.vpc_id, TagSpecifications=tag_spec("route-table", self.tags)
            )["RouteTable"]
        self.route_table_id = table["RouteTableId"]
        if not any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table.get("Routes", [])):
            ec2.create_route(
                RouteTableId=self.route_table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id
            )
        associated = {a.get("SubnetId") for a in table.get("Associations", [])}
        for s in ec2.describe_subnets(Filters=vpc_filter)["Subnets"]:
            self.subnets[s["AvailabilityZone"]] = s["SubnetId"]
            if s["SubnetId"] not in associated:
                ec2.associate_route_table(RouteTableId=self.route_table_id, SubnetId=s["SubnetId"])
        self._ensure_security_group(cidrs, ports)
        if public_key:
            name = key_name(self.deployment_id)
            found = ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [name]}])[
                "KeyPairs"
            ]
            if not found:
                ec2.import_key_pair(
                    KeyName=name,
                    PublicKeyMaterial=public_key.encode(),
                    TagSpecifications=tag_spec("key-pair", self.tags),
                )

    def _ensure_security_group(self, cidrs: list[str], ports: list[int]) -> None:
        ec2 = self.ec2
        name = f"spot-{self.deployment_id}"
        groups = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [self.vpc_id]},
                {"Name": "group-name", "Values": [name]},
            ]
        )["SecurityGroups"]
        if groups:
            self.sg_id = groups[0]["GroupId"]
            have = {
                (p.get("FromPort"), r["CidrIp"])
                for p in groups[0]["IpPermissions"]
                for r in p.get("IpRanges", [])
            }
        else:
            self.sg_id = ec2.create_security_group(
                GroupName=name,
                Description=f"spot-deployer {self.deployment_id}",
                VpcId=self.vpc_id,
                TagSpecifications=tag_spec("security-group", self.tags),
            )["GroupId"]
            have = set()
        missing = [(p, c) for p in sorted(set(ports)) for c in cidrs if (p, c) not in have]
        if missing:
            ec2.authorize_security_group_ingress(
                GroupId=self.sg_id,
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": p,
                        "ToPort": p,
                        "IpRanges": [{"CidrIp": c, "Description": "spot-deployer allowed_cidrs"}],
                    }
                    for p, c in missing
                ],
            )

    def subnet_for(self, az: str) -> str:
        """The deployment's subnet in ``az`` (created and routed on first use)."""
        if az in self.subnets:
            return self.subnets[az]
        index = len(self.subnets)
        subnet_id = self.ec2.create_subnet(
            VpcId=self.vpc_id,
            AvailabilityZone=az,
            CidrBlock=f"10.83.{index}.0/24",
            TagSpecifications=tag_spec("subnet", self.tags),
        )["Subnet"]["SubnetId"]
        self.ec2.associate_route_table(RouteTableId=self.route_table_id, SubnetId=subnet_id)
        self.subnets[az] = subnet_id
        return subnet_id


def teardown(ec2, deployment_id: str) -> list[str]:
    """Delete the deployment's network in this region; return what was deleted.

    Instances must already be terminated. Only resources tagged with the deployment id
    (or living inside its tagged VPC) are touched. Deletes are retried for a while on
    ``DependencyViolation`` because AWS releases network interfaces of terminated
    instances a little after they are reported terminated.
    """
    deleted: list[str] = []
    for kp in ec2.describe_key_pairs(
        Filters=[{"Name": "key-name", "Values": [key_name(deployment_id)]}]
    )["KeyPairs"]:
        ec2.delete_key_pair(KeyName=kp["KeyName"])
        deleted.append(f"key-pair {kp['KeyName']}")
    for vpc in ec2.describe_vpcs(Filters=_id_filter(deployment_id))["Vpcs"]:
        vpc_id = vpc["VpcId"]
        vf = [{"Name": "vpc-id", "Values": [vpc_id]}]
        for sg in ec2.describe_security_groups(Filters=vf)["SecurityGroups"]:
            if sg["GroupName"] != "default":
                _patiently(ec2.delete_security_group, GroupId=sg["GroupId"])
                deleted.append(f"security-group {sg['GroupId']}")
        for rt in ec2.describe_route_tables(Filters=vf)["RouteTables"]:
            if any(a.get("Main") for a in rt.get("Associations", [])):
                continue
            for a in rt.get("Associations", []):
                if a.get("RouteTableAssociationId"):
                    ec2.disassociate_route_table(AssociationId=a["RouteTableAssociationId"])
            ec2.delete_route_table(RouteTableId=rt["RouteTableId"])
            deleted.append(f"route-table {rt['RouteTableId']}")
        for sn in ec2.describe_subnets(Filters=vf)["Subnets"]:
            _patiently(ec2.delete_subnet, SubnetId=sn["SubnetId"])
            deleted.append(f"subnet {sn['SubnetId']}")
        for igw in ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
        )["InternetGateways"]:
            _patiently(
                ec2.detach_internet_gateway,
                InternetGatewayId=igw["InternetGatewayId"],
                VpcId=vpc_id,
            )
        _patiently(ec2.delete_vpc, VpcId=vpc_id)
        deleted.append(f"vpc {vpc_id}")
    for igw in ec2.describe_internet_gateways(Filters=_id_filter(deployment_id))[
        "InternetGateways"
    ]:
        for a in igw.get("Attachments", []):
            ec2.detach_internet_gateway(
                InternetGatewayId=igw["InternetGatewayId"], VpcId=a["VpcId"]
            )
        ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
        deleted.append(f"internet-gateway {igw['InternetGatewayId']}")
    return deleted


def _patiently(call, *, attempts: int = 24, delay: float = 5.0, **kwargs):
    """``call(**kwargs)``, retried while AWS reports ``DependencyViolation``."""
    from botocore.exceptions import ClientError

    for i in range(attempts):
        try:
            return call(**kwargs)
        except ClientError as exc:
            if error_code(exc) != "DependencyViolation" or i == attempts - 1:
                raise
            time.sleep(delay)
    return None
