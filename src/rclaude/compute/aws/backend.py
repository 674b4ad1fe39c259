"""``AwsCompute``: the one ``aws`` compute backend, with modes ec2, ecs, shared, fargate.

It implements :class:`rclaude.ports.Compute`. Backends start workers; workers pull
tasks: each mode only starts ``rclaude worker --idle-timeout S --concurrency N`` near
the queue (N = 1, or ``maxTasksPerInstance`` in shared mode) with ``worker_env`` so it
reaches the queue, store and log. Workers exit by themselves when idle, and their
instance or task goes with them.

- ``list`` asks AWS (tags are the source of truth), never a local file.
- ``stop(ids)`` stops only workers of this deployment and mode that are idle. Idleness
  comes from ``is_idle(worker_id)`` when given (the orchestrator passes the TaskStore's
  worker registry); by default a worker is idle when its resource carries the tag
  ``rclaude:state=idle`` (which the worker sets through its role).
- ``sweep`` (``rclaude aws-workers gc``) removes orphans: see :meth:`AwsCompute.sweep`.

Every input is checked before the first cloud call: the mode, the region and instance
types at construction (no network), and instance type offerings and the instance
profile at the first launch (read-only calls).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rclaude import awsutil
from rclaude.compute.aws import bootstrap, validate
from rclaude.compute.aws.instances import InstancePlan, InstancePool
from rclaude.compute.aws.tasks import TaskPlan, TaskPool
from rclaude.config.schema import Config
from rclaude.model import WorkerInfo

#: A worker unknown to the registry this long after launch never booted (gc removes it).
DEFAULT_UNREGISTERED_GRACE = 15 * 60.0


@dataclass
class SweepReport:
    """What ``sweep`` found, and what it removed (nothing when ``dry_run``)."""

    removed: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False


class AwsCompute:
    """Workers on AWS in one mode; see the module docstring for the contract."""

    def __init__(
        self,
        config: Config,
        worker_env: Mapping[str, str],
        *,
        mode: str | None = None,
        is_idle: Callable[[str], bool] | None = None,
    ) -> None:
        aws = config.aws
        self.config = config
        self.mode = validate.check_mode(mode or aws.mode)
        self.region = validate.check_region(aws.region)
        for itype, key in self._instance_types():
            validate.check_instance_type(itype, key=key)
        validate.check_worker_env(worker_env)
        self.worker_env = dict(worker_env)
        self.deployment = aws.deployment
        self.name = f"aws:{self.mode}"
        self._is_idle = is_idle
        self._clients: dict[str, Any] = {}
        self._pool: InstancePool | TaskPool | None = None
        self._preflight_done = False

    # -- the Compute port -------------------------------------------------------------

    @property
    def slots_per_worker(self) -> int:
        """Tasks one worker runs at once (the orchestrator fills slots first)."""
        if self.mode == "shared":
            return self.config.aws.shared.max_tasks_per_instance
        return self.config.worker.concurrency

    def launch(self, n: int, *, token: str | None = None) -> list[WorkerInfo]:
        if n <= 0:
            return []
        self.preflight()
        return self.pool.launch(n, token)

    def list(self) -> list[WorkerInfo]:
        return self.pool.list()

    def stop(self, worker_ids: Iterable[str]) -> list[str]:
        wanted = set(worker_ids)
        if not wanted:
            return []
        idle = [w.id for w in self.pool.list() if w.id in wanted and self.idle(w)]
        self.pool.terminate(idle)
        return idle

    def describe(self) -> dict[str, Any]:
        aws = self.config.aws
        d: dict[str, Any] = {
            "backend": "aws",
            "mode": self.mode,
            "region": self.region,
            "deployment": self.deployment,
            "slots_per_worker": self.slots_per_worker,
        }
        if self.mode in ("ec2", "shared"):
            d["instance_types"] = [t for t, _ in self._instance_types()]
            d["spot"] = aws.ec2.spot_instance
            d["spot_max_price"] = aws.ec2.spot_max_price
        else:
            settings = aws.ecs if self.mode == "ecs" else aws.fargate
            d["cluster"] = settings.cluster_name
            d["task_definition"] = settings.task_definition
            if self.mode == "fargate":
                d["spot"] = aws.fargate.spot
        return d

    # -- idleness and orphans ---------------------------------------------------------

    def idle(self, worker: WorkerInfo) -> bool:
        """Whether ``worker`` may be stopped: ``is_idle`` if given, else its state tag."""
        if self._is_idle is not None:
            return bool(self._is_idle(worker.id))
        return worker.state == "idle"

    def sweep(
        self,
        *,
        known: Iterable[str] | None = None,
        grace: float = DEFAULT_UNREGISTERED_GRACE,
        dry_run: bool = False,
        now: float | None = None,
    ) -> SweepReport:
        """Remove orphaned workers of this deployment and mode; never a busy one.

        Orphans are: EC2 instances left ``stopped`` (a stopped worker never resumes but
        its volume bills), idle workers, and — when ``known`` (the ids in the worker
        registry) is given — workers older than ``grace`` seconds that never
        registered (their bootstrap failed).
        """
        now = time.time() if now is None else now
        report = SweepReport(dry_run=dry_run)
        known_ids = None if known is None else set(known)
        candidates = self.pool.list()
        if isinstance(self.pool, InstancePool):
            for w in self.pool.list(states=["stopped"]):
                report.reasons[w.id] = "stopped instance"
        for w in candidates:
            if w.state == "busy":
                continue
            if self.idle(w):
                report.reasons[w.id] = "idle"
            elif (
                known_ids is not None
                and w.id not in known_ids
                and w.started_at is not None
                and now - w.started_at >= grace
            ):
                report.reasons[w.id] = f"never registered within {grace:g}s"
        report.removed = sorted(report.reasons)
        if not dry_run:
            self.pool.terminate(report.removed)
        return report

    # -- checks -----------------------------------------------------------------------

    def preflight(self) -> None:
        """Read-only checks against AWS before the first launch (cached)."""
        if self._preflight_done:
            return
        if self.mode in ("ec2", "shared"):
            validate.check_offered(self.client("ec2"), self.region, self._instance_types())
        self._preflight_done = True

    # -- wiring -----------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """The (cached) boto3 client for ``service`` in this backend's region/endpoint."""
        if service not in self._clients:
            aws = self.config.aws
            self._clients[service] = awsutil.client(
                service, region=aws.region, endpoint_url=aws.endpoint_url, profile=aws.profile
            )
        return self._clients[service]

    @property
    def pool(self) -> InstancePool | TaskPool:
        if self._pool is None:
            self._pool = self._build_pool()
        return self._pool

    def _instance_types(self) -> list[tuple[str, str]]:
        aws = self.config.aws
        if self.mode == "ec2":
            base = [(aws.ec2.instance_type, "aws.ec2.instanceType")]
            fb = aws.ec2.fallback_instance_types
            return base + [(t, f"aws.ec2.fallbackInstanceTypes[{i}]") for i, t in enumerate(fb)]
        if self.mode == "shared":
            base = [(aws.shared.instance_type, "aws.shared.instanceType")]
            fb = aws.shared.fallback_instance_types
            return base + [(t, f"aws.shared.fallbackInstanceTypes[{i}]") for i, t in enumerate(fb)]
        return []

    def _build_pool(self) -> InstancePool | TaskPool:
        aws = self.config.aws
        idle_timeout = self.config.worker.idle_timeout
        concurrency = self.slots_per_worker
        if self.mode in ("ec2", "shared"):
            ec2 = aws.ec2
            plan = InstancePlan(
                mode=self.mode,
                deployment=self.deployment,
                instance_types=[t for t, _ in self._instance_types()],
                user_data=bootstrap.user_data(
                    self.worker_env,
                    package=ec2.worker_package,
                    idle_timeout=idle_timeout,
                    concurrency=concurrency,
                ),
                slots=concurrency,
                spot=ec2.spot_instance,
                spot_max_price=ec2.spot_max_price,
                ami=ec2.ami,
                instance_profile=ec2.instance_profile or "",
                subnet_ids=list(ec2.subnet_ids),
                availability_zones=list(ec2.availability_zones),
                security_group_ids=list(ec2.security_group_ids),
                root_volume_gb=ec2.root_volume_gb,
            )
            return InstancePool(self.client("ec2"), lambda: self.client("ssm"), plan)
        settings = aws.ecs if self.mode == "ecs" else aws.fargate
        task_plan = TaskPlan(
            mode=self.mode,
            deployment=self.deployment,
            cluster=settings.cluster_name,
            task_definition=settings.task_definition,
            container_name=settings.container_name,
            command=bootstrap.worker_command(idle_timeout, concurrency),
            environment=self.worker_env,
            slots=concurrency,
            cpu=settings.cpu if self.mode == "fargate" else None,
            memory=settings.memory if self.mode == "fargate" else None,
        )
        if self.mode == "fargate":
            fg = aws.fargate
            task_plan.spot = fg.spot
            task_plan.subnet_ids = list(fg.subnet_ids)
            task_plan.security_group_ids = list(fg.security_group_ids)
            task_plan.assign_public_ip = fg.assign_public_ip
        else:
            task_plan.capacity_provider = aws.ecs.capacity_provider
        return TaskPool(self.client("ecs"), task_plan)
