"""Spot instances of one region: pick the cheapest AZ, launch in one batch, top up.

``converge`` brings the number of live (pending/running) instances tagged with the
deployment id to the requested count: one ``RunInstances`` call for the whole shortfall
first (cheapest AZ, first instance type), then, only on partial fulfilment or a
capacity error, further attempts over the other AZs and instance types in price order.
Extra instances (the count was lowered) are terminated newest first. With nothing to do
it makes read calls only.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rclaude.deploy.aws import TAG_ID, error_code, tag_spec
from rclaude.errors import BackendError

#: Errors meaning "not here, try another AZ / instance type".
CAPACITY_ERRORS = {
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "SpotMaxPriceTooLow",
    "MaxSpotInstanceCountExceeded",
    "Unsupported",
    "InsufficientFreeAddressesInSubnet",
    "InvalidParameterCombination",
    "UnfulfillableCapacity",
}
LIVE_STATES = ["pending", "running"]
#: Seconds to wait between RunInstances retries while IAM propagates a new profile.
PROFILE_RETRY_DELAYS = (2, 3, 5, 5, 10, 10, 0)


class CapacityError(Exception):
    """One (instance type, AZ) candidate could not provide capacity."""


@dataclass
class LaunchSpec:
    """Everything RunInstances needs besides the candidate type/AZ and the count."""

    image_id: str
    user_data: bytes
    security_group_id: str
    tags: dict[str, str]
    key_name: str | None = None
    instance_profile: str | None = None
    max_price: float | None = None
    root_volume_gb: int = 20
    #: The AMI's root device (from DescribeImages); None = keep the AMI's default volume.
    root_device: str | None = None


@dataclass
class RegionResult:
    region: str
    instances: list[dict] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)
    terminated: list[str] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)


def live_instances(ec2, deployment_id: str) -> list[dict]:
    """Pending/running instances of the deployment in this region (by tag)."""
    out = []
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[
            {"Name": f"tag:{TAG_ID}", "Values": [deployment_id]},
            {"Name": "instance-state-name", "Values": LIVE_STATES},
        ]
    )
    for page in pages:
        for r in page["Reservations"]:
            out.extend(r["Instances"])
    return sorted(out, key=lambda i: (i.get("LaunchTime") or dt.datetime.min, i["InstanceId"]))


def rank_zones(ec2, instance_types: list[str]) -> list[tuple[str, float | None]]:
    """Available AZs, cheapest current spot price (for the first type) first."""
    zones = [
        z["ZoneName"]
        for z in ec2.describe_availability_zones(
            Filters=[{"Name": "state", "Values": ["available"]}]
        )["AvailabilityZones"]
    ]
    prices: dict[str, float] = {}
    history = ec2.describe_spot_price_history(
        InstanceTypes=instance_types[:1],
        ProductDescriptions=["Linux/UNIX"],
        StartTime=dt.datetime.now(dt.UTC),
        MaxResults=100,
    )["SpotPriceHistory"]
    for item in history:
        az, price = item["AvailabilityZone"], float(item["SpotPrice"])
        prices[az] = min(price, prices.get(az, price))
    return sorted(
        ((z, prices.get(z)) for z in zones), key=lambda zp: (zp[1] is None, zp[1] or 0.0, zp[0])
    )


def top_up(
    need: int, candidates: list[tuple[str, str]], launch: Callable[[str, str, int], list[str]]
) -> tuple[list[str], list[str]]:
    """Launch ``need`` instances over ``candidates`` (type, AZ) in order.

    ``launch(type, az, n)`` returns the ids it got (possibly fewer than ``n``) or raises
    :class:`CapacityError`. Returns (ids, notes on each attempt). Pure policy: it does
    not know about AWS, which keeps it testable on its own.
    """
    ids: list[str] = []
    notes: list[str] = []
    for itype, az in candidates:
        if need <= 0:
            break
        try:
            got = launch(itype, az, need)
        except CapacityError as exc:
            notes.append(f"{itype} in {az}: {exc}")
            continue
        notes.append(f"{itype} in {az}: {len(got)}/{need}")
        ids += got
        need -= len(got)
    return ids, notes


def converge(
    ec2,
    region: str,
    deployment_id: str,
    count: int,
    instance_types: list[str],
    spec: LaunchSpec,
    subnet_for: Callable[[str], str],
) -> RegionResult:
    """Make the region hold exactly ``count`` live instances of the deployment."""
    result = RegionResult(region)
    live = live_instances(ec2, deployment_id)
    if len(live) > count:
        extra = [i["InstanceId"] for i in live[count:]]
        ec2.terminate_instances(InstanceIds=extra)
        result.terminated = extra
        live = live[:count]
    need = count - len(live)
    if need > 0:
        zones = [z for z, _ in rank_zones(ec2, instance_types)]
        candidates = [(t, z) for t in instance_types for z in zones]

        def launch(itype: str, az: str, n: int) -> list[str]:
            return _run(ec2, spec, itype, subnet_for(az), n)

        ids, notes = top_up(need, candidates, launch)
        result.launched, result.attempts = ids, notes
        if len(ids) < need:
            raise BackendError(
                f"{region}: only {len(ids)} of {need} spot instances could be launched "
                f"({'; '.join(notes)})",
                code="RC-DEPLOY-070",
                hint="add instance types to the region's instance_type list, raise "
                "spot_max_price, or lower count",
            )
        live = live_instances(ec2, deployment_id)
    result.instances = live
    return result


def _run(ec2, spec: LaunchSpec, itype: str, subnet_id: str, n: int) -> list[str]:
    from botocore.exceptions import ClientError

    spot: dict = {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}
    if spec.max_price:
        spot["MaxPrice"] = f"{spec.max_price:.4f}"
    args: dict = dict(
        ImageId=spec.image_id,
        InstanceType=itype,
        MaxCount=n,
        UserData=spec.user_data,  # bytes: botocore base64-encodes them (gzip survives)
        InstanceMarketOptions={"MarketType": "spot", "SpotOptions": spot},
        MetadataOptions={
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 1,
        },
        NetworkInterfaces=[
            {
                "DeviceIndex": 0,
                "SubnetId": subnet_id,
                "Groups": [spec.security_group_id],
                "AssociatePublicIpAddress": True,
            }
        ],
        TagSpecifications=tag_spec("instance", spec.tags) + tag_spec("volume", spec.tags),
    )
    if spec.root_device:
        args["BlockDeviceMappings"] = [
            {
                "DeviceName": spec.root_device,
                "Ebs": {
                    "VolumeSize": spec.root_volume_gb,
                    "VolumeType": "gp3",
                    "Encrypted": True,
                    "DeleteOnTermination": True,
                },
            }
        ]
    if spec.key_name:
        args["KeyName"] = spec.key_name
    if spec.instance_profile:
        args["IamInstanceProfile"] = {"Name": spec.instance_profile}
    # All-or-nothing first (MinCount=n): one call in the common case, on AWS and on
    # moto (which launches exactly MinCount). On a capacity error take what the
    # candidate can give (MinCount=1) before moving on to the next one.
    last = ""
    for min_count in sorted({n, 1}, reverse=True):
        for wait in PROFILE_RETRY_DELAYS:
            try:
                resp = ec2.run_instances(MinCount=min_count, **args)
                return [i["InstanceId"] for i in resp["Instances"]]
            except ClientError as exc:
                last = error_code(exc)
                # A just-created instance profile takes a few seconds to be usable.
                if last == "InvalidParameterValue" and "iamInstanceProfile" in str(exc):
                    time.sleep(wait)
                    continue
                if last not in CAPACITY_ERRORS:
                    raise
                break
    raise CapacityError(last)


def terminate_all(ec2, deployment_id: str) -> list[str]:
    """Terminate every live instance of the deployment here and wait until they are gone."""
    ids = [i["InstanceId"] for i in live_instances(ec2, deployment_id)]
    stopping = ec2.describe_instances(
        Filters=[
            {"Name": f"tag:{TAG_ID}", "Values": [deployment_id]},
            {"Name": "instance-state-name", "Values": ["shutting-down", "stopping", "stopped"]},
        ]
    )
    ids += [i["InstanceId"] for r in stopping["Reservations"] for i in r["Instances"]]
    if ids:
        ec2.terminate_instances(InstanceIds=ids)
        ec2.get_waiter("instance_terminated").wait(
            InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
        )
    return ids
