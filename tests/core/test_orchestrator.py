"""Reconcile with real local worker processes: scale up on demand, stop only idle ones."""

from __future__ import annotations

from rclaude.config.schema import Config
from rclaude.model import TaskSpec, TaskState
from rclaude.platform import Platform
from tests.support.waiting import wait_for


def test_burst_scales_up_to_max_then_idle_workers_are_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("RCLAUDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    cfg = Config.model_validate(
        {
            "dataDir": str(tmp_path / "data"),
            "orchestrator": {"maxWorkers": 3, "messagesPerWorker": 2, "scaleDownCooldown": 0},
            "worker": {"idleTimeout": 30},
        }
    )
    from rclaude.orchestrator.loop import Orchestrator

    with Platform(cfg) as p:
        orch = Orchestrator(p)
        tasks = [
            p.service.submit(TaskSpec(command=("sleep", "0.5"), pty=False), reconcile=False)
            for _ in range(10)
        ]
        d = orch.reconcile()
        assert (d.desired, d.launch) == (3, 3)
        assert len(p.compute.list()) == 3
        assert orch.reconcile().launch == 0  # the launched ones are counted: no double launch
        wait_for(lambda: all(p.tasks.get(t.id).state is TaskState.SUCCEEDED for t in tasks))
        busy_task = p.service.submit(TaskSpec(command=("sleep", "5"), pty=False), reconcile=False)
        wait_for(lambda: p.tasks.get(busy_task.id).state is TaskState.RUNNING)
        wait_for(
            lambda: (
                sum(w.busy for w in p.compute.list()) == 1
                and sum(1 for w in p.compute.list() if w.idle) == 2
            )
        )
        d = orch.reconcile(scale_down=True)
        assert d.stop == 2
        wait_for(lambda: len(p.compute.list()) == 1)
        (survivor,) = p.compute.list()
        assert survivor.busy == 1
        wait_for(lambda: p.tasks.get(busy_task.id).state is TaskState.SUCCEEDED, timeout=15)
        p.compute.stop([survivor.id])
        wait_for(lambda: not p.compute.list())
