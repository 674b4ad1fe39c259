"""The autoscaling policy as a table: observation in, decision out."""

from __future__ import annotations

import pytest

from rclaude.orchestrator.policy import Observation, Policy, decide

P = Policy(
    min_workers=0,
    max_workers=5,
    messages_per_worker=2,
    activation_threshold=3,
    scale_down_cooldown=60,
)

CASES = [
    # depth, workers, idle, slots, now, last_demand → desired, launch, stop, reason fragment
    (0, 0, 0, 1, 100, 0, 0, 0, 0, "steady"),
    (2, 0, 0, 1, 100, 0, 0, 0, 0, "steady"),  # below activation threshold: stay asleep
    (3, 0, 0, 1, 100, 0, 2, 2, 0, "needs"),  # activated: ceil(3/2) = 2
    (9, 2, 0, 1, 100, 0, 5, 3, 0, "needs"),  # ceil(9/2) = 5
    (50, 1, 0, 1, 100, 0, 5, 4, 0, "needs"),  # clamped to max
    (2, 3, 3, 1, 100, 90, 1, 0, 0, "cooling"),  # shrink wanted but inside the cooldown
    (2, 3, 2, 1, 200, 90, 1, 0, 2, "idle"),  # after the cooldown: stop 2 idle
    (0, 3, 1, 1, 200, 90, 0, 0, 1, "idle"),  # only one is idle: never stop busy workers
    (0, 2, 0, 1, 200, 90, 0, 0, 0, "busy"),  # all busy: keep them
    (20, 1, 0, 10, 100, 0, 1, 0, 0, "steady"),  # shared mode: 10 slots each, fill before launching
    (21, 1, 0, 10, 100, 0, 2, 1, 0, "needs"),
]


@pytest.mark.parametrize("depth,workers,idle,slots,now,last,desired,launch,stop,why", CASES)
def test_policy_table(depth, workers, idle, slots, now, last, desired, launch, stop, why):
    d = decide(P, Observation(depth, workers, idle, slots, now, last))
    assert (d.desired, d.launch, d.stop) == (desired, launch, stop)
    assert why in d.reason


def test_min_workers_is_a_floor():
    d = decide(Policy(min_workers=2, max_workers=4), Observation(0, 0, 0))
    assert (d.desired, d.launch) == (2, 2)


def test_worker_id_comes_from_the_backend_environment(monkeypatch):
    from rclaude.worker.loop import default_worker_id

    for name in ("RCLAUDE_WORKER_ID", "FLY_MACHINE_ID", "CODESPACE_NAME"):
        monkeypatch.delenv(name, raising=False)
    assert default_worker_id().startswith("w-")
    monkeypatch.setenv("CODESPACE_NAME", "octo-app-abc")
    assert default_worker_id() == "octo-app-abc"
    monkeypatch.setenv("FLY_MACHINE_ID", "148ed193b95e89")
    assert default_worker_id() == "148ed193b95e89"
