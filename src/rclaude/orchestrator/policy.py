"""The autoscaling policy, as a pure function (tested as a table).

    desired = clamp(ceil(depth / (messages_per_worker * slots)), min_workers, max_workers)

- *Activation*: with no workers running, the fleet only wakes once ``depth`` reaches
  ``activation_threshold`` (below it, ``min_workers`` stands).
- *Cooldown*: the fleet shrinks only after ``scale_down_cooldown`` seconds without
  demand above the desired size, so a bursty queue does not flap.
- Scale-down stops *idle* workers only, never more than are idle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    min_workers: int = 0
    max_workers: int = 4
    messages_per_worker: int = 1
    activation_threshold: int = 1
    scale_down_cooldown: float = 60.0

    @classmethod
    def from_settings(cls, s) -> Policy:
        return cls(
            s.min_workers,
            s.max_workers,
            s.messages_per_worker,
            s.activation_threshold,
            s.scale_down_cooldown,
        )


@dataclass(frozen=True)
class Observation:
    depth: int  # visible + in-flight messages
    workers: int  # workers that exist (starting, idle or busy)
    idle: int  # of which idle
    slots: int = 1  # tasks one worker runs at once
    now: float = 0.0
    last_demand_at: float = 0.0  # last time desired >= workers


@dataclass(frozen=True)
class Decision:
    desired: int
    launch: int
    stop: int
    reason: str


def decide(policy: Policy, obs: Observation) -> Decision:
    per_worker = max(1, policy.messages_per_worker * max(1, obs.slots))
    if obs.workers == 0 and obs.depth < policy.activation_threshold:
        desired = policy.min_workers
    else:
        desired = math.ceil(obs.depth / per_worker)
    desired = max(policy.min_workers, min(policy.max_workers, desired))
    if desired > obs.workers:
        return Decision(desired, desired - obs.workers, 0, f"depth {obs.depth} needs {desired}")
    if desired == obs.workers:
        return Decision(desired, 0, 0, "steady")
    if obs.now - obs.last_demand_at < policy.scale_down_cooldown:
        return Decision(desired, 0, 0, "cooling down")
    stop = min(obs.workers - desired, obs.idle)
    return Decision(desired, 0, stop, "idle capacity" if stop else "busy workers kept")
