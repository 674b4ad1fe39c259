"""``rclaude cost``: what a worker, a task and each scale phase cost per month.

Instance prices come from the built-in table (:mod:`rclaude.compute.aws.catalog`);
spot prices from ``describe_spot_price_history`` when AWS is reachable (the lowest
current price across AZs), else on-demand × :data:`catalog.DEFAULT_SPOT_FACTOR`, and
every figure says which. These are estimates for planning, not a bill: data transfer,
EBS, CloudWatch and support plans are left out.

The four scale phases (1K → 1B users) follow the seed's strategy: the same footprint
grown — more control-plane tasks, more Aurora capacity units and Redis nodes, more
regions — with workers sized from concurrent tasks (:data:`ACTIVE_TASK_SHARE` of users
have a task running at any moment).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from rclaude.compute.aws import catalog
from rclaude.config.schema import Config

HOURS_PER_MONTH = 730
ACTIVE_TASK_SHARE = 0.001
#: us-east-1 list prices (USD) for the non-compute parts.
AURORA_ACU_HOUR = 0.12
REDIS_NODE_HOUR = {
    "cache.t4g.small": 0.032, "cache.t4g.medium": 0.065,
    "cache.r7g.large": 0.219, "cache.r7g.xlarge": 0.437,
}  # fmt: skip
ALB_HOUR = 0.0225 + 2 * 0.008  # hourly charge + ~2 LCU
NAT_HOUR = 0.045
S3_GB_MONTH = 0.023
SQS_PER_MILLION = 0.40
CONTROL_PLANE_TASK_HOUR = 0.5 * catalog.FARGATE_VCPU_HOUR + 1 * catalog.FARGATE_GB_HOUR
BOOT_MINUTES = {"ec2": 3.0, "shared": 3.0, "ecs": 0.5, "fargate": 1.0}


@dataclass
class PriceQuote:
    instance_type: str
    region: str
    on_demand: float | None
    spot: float | None
    spot_source: str  # "spot price history" | "estimate" | "n/a"


@dataclass
class ModeCost:
    mode: str
    resource: str
    hourly: float  # one worker (instance or task), USD
    slots: int  # tasks one worker runs at once
    per_task: float  # steady state: a busy slot for task_minutes
    per_task_cold: float  # a worker started for one task: boot + task + idle timeout
    monthly_per_worker: float
    price_source: str


@dataclass
class PhaseCost:
    name: str
    users: int
    concurrent_tasks: int
    workers: int
    control_plane_tasks: int
    aurora_acu: float
    redis: str
    regions: int
    monthly: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return round(sum(self.monthly.values()), 2)


def quote(instance_type: str, region: str, ec2: Any = None) -> PriceQuote:
    """On-demand and spot USD/hour for one instance type."""
    on_demand = catalog.on_demand_price(instance_type, region)
    spot, source = None, "n/a"
    if ec2 is not None:
        spot = _spot_history(ec2, instance_type)
        source = "spot price history" if spot is not None else source
    if spot is None and on_demand is not None:
        spot, source = round(on_demand * catalog.DEFAULT_SPOT_FACTOR, 5), "estimate"
    return PriceQuote(instance_type, region, on_demand, spot, source)


def _spot_history(ec2: Any, instance_type: str) -> float | None:
    """Lowest latest spot price across AZs, or None when unreachable or unknown."""
    import datetime as dt

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resp = ec2.describe_spot_price_history(
            InstanceTypes=[instance_type],
            ProductDescriptions=["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
            StartTime=dt.datetime.now(dt.UTC) - dt.timedelta(hours=6),
            MaxResults=100,
        )
    except (BotoCoreError, ClientError):
        return None
    latest: dict[str, tuple[Any, float]] = {}
    for item in resp.get("SpotPriceHistory", []):
        zone, when, price = item["AvailabilityZone"], item["Timestamp"], float(item["SpotPrice"])
        if zone not in latest or when > latest[zone][0]:
            latest[zone] = (when, price)
    return min((p for _, p in latest.values()), default=None)


def _per_task(hourly: float, slots: int, mode: str, task_minutes: float, idle: float) -> tuple:
    steady = hourly / slots * task_minutes / 60
    cold = hourly * (BOOT_MINUTES[mode] + task_minutes + idle / 60) / 60
    return round(steady, 5), round(cold, 5)


def mode_costs(config: Config, *, task_minutes: float = 10.0, ec2: Any = None) -> list[ModeCost]:
    """Per-worker and per-task cost of each AWS mode under ``config``'s settings."""
    aws, region, idle = config.aws, config.aws.region, config.worker.idle_timeout
    out: list[ModeCost] = []

    def instance(mode: str, itype: str, slots: int, spot: bool) -> None:
        q = quote(itype, region, ec2)
        hourly = (q.spot if spot else q.on_demand) or 0.0
        source = q.spot_source if spot else ("price table" if q.on_demand else "unknown type")
        steady, cold = _per_task(hourly, slots, mode, task_minutes, idle)
        label = f"{itype} {'spot' if spot else 'on-demand'}"
        out.append(
            ModeCost(
                mode, label, hourly, slots, steady, cold, round(hourly * HOURS_PER_MONTH, 2), source
            )
        )

    instance("ec2", aws.ec2.instance_type, config.worker.concurrency, aws.ec2.spot_instance)
    instance(
        "shared", aws.shared.instance_type, aws.shared.max_tasks_per_instance, aws.ec2.spot_instance
    )
    t = catalog.INSTANCE_TYPES.get(aws.ecs.instance_type)
    per_instance = 1
    if t is not None:
        per_instance = max(
            1, min(t.vcpus * 1024 // aws.ecs.cpu, int(t.memory_gib * 1024 * 0.9) // aws.ecs.memory)
        )
    q = quote(aws.ecs.instance_type, region, ec2)
    hourly = round((q.on_demand or 0.0) / per_instance, 5)
    steady, cold = _per_task(hourly, 1, "ecs", task_minutes, idle)
    out.append(
        ModeCost(
            "ecs",
            f"1/{per_instance} of {aws.ecs.instance_type}",
            hourly,
            1,
            steady,
            cold,
            round(hourly * HOURS_PER_MONTH, 2),
            "price table",
        )
    )
    fg = aws.fargate
    hourly = fg.cpu / 1024 * catalog.FARGATE_VCPU_HOUR + fg.memory / 1024 * catalog.FARGATE_GB_HOUR
    hourly = round(hourly * (catalog.FARGATE_SPOT_FACTOR if fg.spot else 1.0), 5)
    steady, cold = _per_task(hourly, 1, "fargate", task_minutes, idle)
    label = f"{fg.cpu / 1024:g} vCPU / {fg.memory / 1024:g} GB {'Fargate Spot' if fg.spot else 'Fargate'}"
    out.append(
        ModeCost(
            "fargate",
            label,
            hourly,
            1,
            steady,
            cold,
            round(hourly * HOURS_PER_MONTH, 2),
            "price table",
        )
    )
    return out


#: (name, users, control-plane tasks, Aurora ACU (avg), Redis node type, nodes, regions,
#:  S3 GB, SQS million requests per month)
PHASES = [
    ("1: launch", 1_000, 1, 0.5, "cache.t4g.small", 1, 1, 50, 1),
    ("2: growth", 100_000, 3, 4, "cache.t4g.medium", 2, 1, 2_000, 50),
    ("3: scale", 10_000_000, 40, 48, "cache.r7g.large", 6, 2, 200_000, 5_000),
    ("4: planet", 1_000_000_000, 1_500, 640, "cache.r7g.xlarge", 90, 6, 20_000_000, 500_000),
]  # fmt: skip


def scale_phases(worker: ModeCost) -> list[PhaseCost]:
    """Capacity and monthly cost of the four phases with workers of one mode."""
    out = []
    for name, users, cp, acu, node, nodes, regions, s3_gb, sqs_m in PHASES:
        tasks = max(1, math.ceil(users * ACTIVE_TASK_SHARE))
        workers = math.ceil(tasks / max(1, worker.slots))
        monthly = {
            "workers": workers * worker.hourly * HOURS_PER_MONTH,
            "control_plane": cp * CONTROL_PLANE_TASK_HOUR * HOURS_PER_MONTH,
            "aurora": acu * AURORA_ACU_HOUR * HOURS_PER_MONTH,
            "redis": nodes * REDIS_NODE_HOUR[node] * HOURS_PER_MONTH,
            "network": regions * (ALB_HOUR + 2 * NAT_HOUR) * HOURS_PER_MONTH,
            "storage": s3_gb * S3_GB_MONTH,
            "queue": sqs_m * SQS_PER_MILLION,
        }
        out.append(
            PhaseCost(
                name,
                users,
                tasks,
                workers,
                cp,
                acu,
                f"{nodes} × {node}",
                regions,
                {k: round(v, 2) for k, v in monthly.items()},
            )
        )
    return out


def report(config: Config, *, task_minutes: float = 10.0, ec2: Any = None) -> dict[str, Any]:
    """Everything ``rclaude cost`` shows, as plain data (for ``--json``)."""
    modes = mode_costs(config, task_minutes=task_minutes, ec2=ec2)
    chosen = next(m for m in modes if m.mode == config.aws.mode)
    phases = scale_phases(chosen)
    return {
        "region": config.aws.region,
        "task_minutes": task_minutes,
        "modes": [asdict(m) for m in modes],
        "phases_mode": chosen.mode,
        "phases": [{**asdict(p), "total": p.total} for p in phases],
    }
