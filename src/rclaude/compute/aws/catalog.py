"""What rclaude knows about AWS without asking AWS: regions, instance types, prices.

Used to reject bad input before any cloud call (an unknown region or a misspelt
instance type gets a "did you mean" hint) and by ``rclaude cost`` when no live price
is reachable. Prices are US East (N. Virginia) Linux on-demand list prices in USD per
hour, checked in 2025; other regions are scaled by :data:`REGION_PRICE_FACTOR`.
They are estimates, not a bill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Commercial, GovCloud and China regions (``describe_regions`` can add newer ones).
REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-7", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1",
    "il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1",
    "us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1",
)  # fmt: skip

#: Rough on-demand price multiplier of a region relative to us-east-1.
REGION_PRICE_FACTOR = {
    "us-east-1": 1.0, "us-east-2": 1.0, "us-west-2": 1.0, "us-west-1": 1.17,
    "eu-west-1": 1.1, "eu-central-1": 1.16, "eu-west-2": 1.16, "eu-north-1": 1.06,
    "ap-northeast-1": 1.29, "ap-southeast-1": 1.25, "ap-southeast-2": 1.25,
    "ap-south-1": 1.05, "sa-east-1": 1.6, "ca-central-1": 1.1,
}  # fmt: skip

#: Spot price as a fraction of on-demand when no spot price history is reachable.
DEFAULT_SPOT_FACTOR = 0.35

#: Fargate (Linux/x86, us-east-1): USD per vCPU-hour and per GB-hour; Spot ~70% off.
FARGATE_VCPU_HOUR = 0.04048
FARGATE_GB_HOUR = 0.004445
FARGATE_SPOT_FACTOR = 0.3


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: float
    on_demand_usd_hour: float

    @property
    def arm64(self) -> bool:
        return is_arm64(self.name)


_TYPES = [
    ("t3.micro", 2, 1, 0.0104), ("t3.small", 2, 2, 0.0208), ("t3.medium", 2, 4, 0.0416),
    ("t3.large", 2, 8, 0.0832), ("t3.xlarge", 4, 16, 0.1664), ("t3.2xlarge", 8, 32, 0.3328),
    ("t3a.medium", 2, 4, 0.0376), ("t3a.large", 2, 8, 0.0752),
    ("t4g.micro", 2, 1, 0.0084), ("t4g.small", 2, 2, 0.0168), ("t4g.medium", 2, 4, 0.0336),
    ("t4g.large", 2, 8, 0.0672), ("t4g.xlarge", 4, 16, 0.1344),
    ("m5.large", 2, 8, 0.096), ("m5.xlarge", 4, 16, 0.192), ("m5.2xlarge", 8, 32, 0.384),
    ("m6i.large", 2, 8, 0.096), ("m6i.xlarge", 4, 16, 0.192), ("m6i.2xlarge", 8, 32, 0.384),
    ("m7i.large", 2, 8, 0.1008), ("m7i.xlarge", 4, 16, 0.2016), ("m7i.2xlarge", 8, 32, 0.4032),
    ("m7g.large", 2, 8, 0.0816), ("m7g.xlarge", 4, 16, 0.1632), ("m7g.2xlarge", 8, 32, 0.3264),
    ("c6i.large", 2, 4, 0.085), ("c6i.xlarge", 4, 8, 0.17), ("c7i.large", 2, 4, 0.0893),
    ("c7i.xlarge", 4, 8, 0.1785), ("c7g.large", 2, 4, 0.0725), ("c7g.xlarge", 4, 8, 0.145),
    ("r6i.large", 2, 16, 0.126), ("r7i.large", 2, 16, 0.1323),
]  # fmt: skip
INSTANCE_TYPES: dict[str, InstanceType] = {t[0]: InstanceType(*t) for t in _TYPES}

_TYPE_RE = re.compile(
    r"^(?P<family>[a-z]+)(?P<gen>\d+)(?P<attrs>[a-z-]*)\."
    r"(?P<size>nano|micro|small|medium|large|xlarge|\d+xlarge|metal(-\d+xl)?)$"
)


def looks_like_instance_type(name: str) -> bool:
    """True if ``name`` has the shape of an EC2 instance type (``m7g.2xlarge``)."""
    return bool(_TYPE_RE.match(name))


def is_arm64(instance_type: str) -> bool:
    """Graviton types carry a ``g`` after the generation digit (t4g, m7gd, c6gn)."""
    m = _TYPE_RE.match(instance_type)
    return bool(m and "g" in m.group("attrs"))


def on_demand_price(instance_type: str, region: str = "us-east-1") -> float | None:
    """List price in USD/hour, scaled for ``region``; None for types not in the table."""
    t = INSTANCE_TYPES.get(instance_type)
    if t is None:
        return None
    return round(t.on_demand_usd_hour * REGION_PRICE_FACTOR.get(region, 1.15), 5)
