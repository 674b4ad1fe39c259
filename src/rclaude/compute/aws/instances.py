"""Workers as EC2 instances: the ``ec2`` mode (one worker per instance) and the
``shared`` mode (one worker with ``--concurrency maxTasksPerInstance`` per instance).

Launch contract:

- spot (``one-time``, interruption ``terminate``) with an optional max price, or
  on-demand; IMDSv2 required (``HttpTokens=required``, hop limit 1); an instance
  profile, never access keys; encrypted gp3 root volume; shutdown behaviour
  ``terminate`` so a worker that exits takes its instance with it;
- capacity errors (``InsufficientInstanceCapacity``, ``SpotMaxPriceTooLow``, ...) move
  on to the next placement (subnet, else AZ), then the next instance type; a partial
  launch keeps what started and tries the rest elsewhere;
- idempotent per token: every RunInstances call carries a ClientToken derived from the
  caller's token and the attempt, and instances are tagged with the token, so a retried
  ``launch(n, token=t)`` counts what ``t`` already started and only launches the rest.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rclaude.awsutil import error_code, translate_aws_errors
from rclaude.compute.aws import catalog, tags
from rclaude.errors import BackendError, ConfigError
from rclaude.model import WorkerInfo

#: Errors that mean "not here, not now": try another placement or instance type.
CAPACITY_ERRORS = frozenset(
    {
        "InsufficientInstanceCapacity",
        "InsufficientCapacity",
        "InsufficientHostCapacity",
        "InsufficientReservedInstanceCapacity",
        "SpotMaxPriceTooLow",
        "MaxSpotInstanceCountExceeded",
        "InsufficientFreeAddressesInSubnet",
        "Unsupported",
    }
)
LIVE_STATES = ["pending", "running"]
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"


@dataclass
class InstancePlan:
    """Everything needed to launch workers of one EC2-backed mode."""

    mode: str
    deployment: str
    instance_types: list[str]
    user_data: str
    slots: int
    spot: bool
    spot_max_price: float | None
    ami: str
    instance_profile: str
    subnet_ids: list[str] = field(default_factory=list)
    availability_zones: list[str] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)
    root_volume_gb: int = 30


@dataclass
class Attempt:
    instance_type: str
    placement: str | None
    error: str | None = None
    launched: int = 0


def client_token(token: str | None, *parts: object) -> str:
    """A ClientToken (<= 64 chars) for one RunInstances attempt."""
    base = token or secrets.token_hex(16)
    return hashlib.sha256("|".join([base, *map(str, parts)]).encode()).hexdigest()[:64]


class InstancePool:
    """Launch, list and terminate this deployment's worker instances of one mode."""

    def __init__(self, ec2: Any, ssm: Callable[[], Any], plan: InstancePlan) -> None:
        self.ec2 = ec2
        self._ssm = ssm
        self.plan = plan
        self._images: dict[str, str] = {}
        self._zones: list[str | None] | None = None
        self.attempts: list[Attempt] = []

    # -- launch -------------------------------------------------------------------

    def launch(self, n: int, token: str | None) -> list[WorkerInfo]:
        started: list[WorkerInfo] = []
        if token:
            started = [w for w in self.list() if w.details.get("launch_token") == token]
            if len(started) >= n:
                return started[:n]
        remaining = n - len(started)
        self.attempts = []
        for itype in self.plan.instance_types:
            # Rounds over the placements until done or a whole round starts nothing
            # (EC2 may start fewer than MaxCount; moto always starts MinCount); only
            # then is the next, fallback, instance type tried.
            progress = True
            while remaining > 0 and progress:
                progress = False
                for placement in self._placements():
                    if remaining <= 0:
                        break
                    attempt = Attempt(itype, placement)
                    self.attempts.append(attempt)
                    try:
                        new = self._run(itype, placement, remaining, token, len(started))
                    except _CapacityError as exc:
                        attempt.error = exc.code
                        continue
                    attempt.launched = len(new)
                    progress = progress or bool(new)
                    started.extend(new)
                    remaining -= len(new)
            if remaining <= 0:
                return started
        if remaining > 0 and not started:
            tried = ", ".join(
                f"{a.instance_type}@{a.placement or 'any AZ'}: {a.error}" for a in self.attempts
            )
            raise BackendError(
                f"no EC2 capacity for {self.plan.mode} workers ({tried})",
                code="RC-AWS-020",
                hint="add types to fallbackInstanceTypes, subnets in other AZs, raise "
                "spotMaxPrice, or set spotInstance: false",
            )
        return started

    def _placements(self) -> list[str | None]:
        if self._zones is not None:
            return self._zones
        self._zones = self._discover_placements()
        return self._zones

    def _discover_placements(self) -> list[str | None]:
        if self.plan.subnet_ids:
            return list(self.plan.subnet_ids)
        if self.plan.availability_zones:
            return list(self.plan.availability_zones)
        with translate_aws_errors("list availability zones"):
            zones = self.ec2.describe_availability_zones(
                Filters=[{"Name": "state", "Values": ["available"]}]
            )["AvailabilityZones"]
        return [z["ZoneName"] for z in zones] or [None]

    def _run(
        self, itype: str, placement: str | None, count: int, token: str | None, offset: int
    ) -> list[WorkerInfo]:
        from botocore.exceptions import ClientError

        plan = self.plan
        worker_tags = tags.worker_tags(plan.deployment, plan.mode, token)
        params: dict[str, Any] = {
            "ImageId": self.image_for(itype),
            "InstanceType": itype,
            "MinCount": 1,
            "MaxCount": count,
            "UserData": plan.user_data,
            "ClientToken": client_token(token, offset, itype, placement),
            "IamInstanceProfile": _profile_ref(plan.instance_profile),
            "MetadataOptions": {
                "HttpTokens": "required",
                "HttpEndpoint": "enabled",
                "HttpPutResponseHopLimit": 1,
                "InstanceMetadataTags": "disabled",
            },
            "InstanceInitiatedShutdownBehavior": "terminate",
            "BlockDeviceMappings": [
                {
                    "DeviceName": "/dev/xvda",
                    "Ebs": {
                        "VolumeSize": plan.root_volume_gb,
                        "VolumeType": "gp3",
                        "Encrypted": True,
                        "DeleteOnTermination": True,
                    },
                }
            ],
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": tags.as_ec2(worker_tags)},
                {"ResourceType": "volume", "Tags": tags.as_ec2(worker_tags)},
            ],
        }
        if plan.spot:
            spot: dict[str, Any] = {
                "SpotInstanceType": "one-time",
                "InstanceInterruptionBehavior": "terminate",
            }
            if plan.spot_max_price is not None:
                spot["MaxPrice"] = f"{plan.spot_max_price:.5f}"
            params["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": spot}
        if placement and placement.startswith("subnet-"):
            params["SubnetId"] = placement
        elif placement:
            params["Placement"] = {"AvailabilityZone": placement}
        if plan.security_group_ids:
            params["SecurityGroupIds"] = list(plan.security_group_ids)
        try:
            reservation = self.ec2.run_instances(**params)
        except ClientError as exc:
            if error_code(exc) in CAPACITY_ERRORS:
                raise _CapacityError(error_code(exc) or "") from None
            with translate_aws_errors(f"launch {plan.mode} workers"):
                raise
        return [self._info(i) for i in reservation["Instances"]]

    def image_for(self, itype: str) -> str:
        """The AMI for ``itype``: ``aws.ec2.ami``, or the latest Amazon Linux 2023 (SSM)."""
        if self.plan.ami != "auto":
            return self.plan.ami
        arch = "arm64" if catalog.is_arm64(itype) else "x86_64"
        if arch not in self._images:
            with translate_aws_errors("look up the Amazon Linux 2023 AMI"):
                param = self._ssm().get_parameter(Name=AMI_PARAMETER.format(arch=arch))
            self._images[arch] = param["Parameter"]["Value"]
        return self._images[arch]

    # -- list / terminate -----------------------------------------------------------

    def list(self, states: list[str] | None = None) -> list[WorkerInfo]:
        filters = tags.ec2_filters(self.plan.deployment, self.plan.mode)
        filters.append({"Name": "instance-state-name", "Values": states or LIVE_STATES})
        out: list[WorkerInfo] = []
        with translate_aws_errors(f"list {self.plan.mode} workers"):
            for page in self.ec2.get_paginator("describe_instances").paginate(Filters=filters):
                for reservation in page["Reservations"]:
                    out.extend(self._info(i) for i in reservation["Instances"])
        return sorted(out, key=lambda w: (w.started_at or 0, w.id))

    def terminate(self, ids: list[str]) -> None:
        if ids:
            with translate_aws_errors(f"terminate {self.plan.mode} workers"):
                self.ec2.terminate_instances(InstanceIds=ids)

    def _info(self, inst: dict) -> WorkerInfo:
        tagmap = tags.from_ec2(inst.get("Tags"))
        ec2_state = inst.get("State", {}).get("Name", "pending")
        if ec2_state in ("shutting-down", "stopping"):
            state = "stopping"
        elif ec2_state in ("terminated", "stopped"):
            state = "gone"
        else:
            state = tagmap.get(tags.STATE) or "starting"
        launched = inst.get("LaunchTime")
        return WorkerInfo(
            id=inst["InstanceId"],
            backend=f"aws:{self.plan.mode}",
            state=state,
            slots=self.plan.slots,
            busy=self.plan.slots if state == "busy" else 0,
            host=inst.get("PrivateIpAddress") or inst.get("PrivateDnsName") or None,
            started_at=tags.launched_at(tagmap)
            or (launched.timestamp() if launched is not None else None),
            details={
                "instance_type": inst.get("InstanceType"),
                "az": inst.get("Placement", {}).get("AvailabilityZone"),
                "lifecycle": inst.get("InstanceLifecycle", "on-demand"),
                "ec2_state": ec2_state,
                "launch_token": tagmap.get(tags.LAUNCH_TOKEN),
                "tags": tagmap,
            },
        )


class _CapacityError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _profile_ref(profile: str) -> dict[str, str]:
    if not profile:
        raise ConfigError(
            "no instance profile for EC2 workers",
            code="RC-AWS-014",
            hint="run `rclaude init-deployment --mode self-hosted` or set aws.ec2.instanceProfile",
        )
    return {"Arn": profile} if profile.startswith("arn:") else {"Name": profile}
