"""A task whose SQS lease reaches the 12-hour limit fails once, with RC-QUEUE-017 and
what to do, and its message is deleted: no redelivery, no second run beside the first.
SQS on the moto server and a real worker; the moto server runs in this process, so its
clock can be moved ahead. (A lease lost otherwise: tests/core/test_redelivery.py.)
"""

from __future__ import annotations

import threading
import time

import moto.sqs.models as sqs_models
import pytest

from rclaude.config.schema import Config
from rclaude.model import QueueMessage, Task, TaskSpec, TaskState, new_id
from rclaude.platform import Platform
from rclaude.worker.loop import Worker
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

VISIBILITY = 3.0  # the heartbeat extends every second


def config(aws: str, tmp_path) -> Config:
    return Config.model_validate(
        {
            "queue": "sqs",
            "data_dir": str(tmp_path / "data"),
            "aws": {"endpoint_url": aws},
            "sqs": {"queue_name": f"q-{tmp_path.name[-20:]}", "wait_seconds": 1},
            "tasks": {"visibility_timeout": VISIBILITY, "max_attempts": 3},
        }
    )


def start_long_task(p: Platform) -> tuple[Task, Worker, threading.Thread]:
    now = time.time()
    task = Task(
        id=new_id(),
        spec=TaskSpec(command=("sh", "-c", "echo started; sleep 60; echo finished"), pty=False),
        state=TaskState.QUEUED,
        created_at=now,
        queued_at=now,
    )
    p.tasks.create(task)
    p.queue.send(QueueMessage(task_id=task.id, max_attempts=3))
    w = Worker(p, worker_id=f"w-{task.id[:6]}", idle_timeout=120)
    runner = threading.Thread(target=w.run, daemon=True)
    runner.start()
    wait_for(lambda: p.tasks.get(task.id).state is TaskState.RUNNING, 15, "the task to run")
    return task, w, runner


def shift_moto_clock(monkeypatch, seconds: float) -> None:
    real = sqs_models.unix_time_millis
    monkeypatch.setattr(sqs_models, "unix_time_millis", lambda *a: real(*a) + seconds * 1000)


def test_a_lease_at_the_12_hour_limit_fails_the_task_once(aws, tmp_path, monkeypatch):
    with Platform(config(aws, tmp_path)) as p:
        task, w, runner = start_long_task(p)
        try:
            shift_moto_clock(monkeypatch, 12 * 3600 - 1)  # the next extension is refused
            done = wait_for(
                lambda: (t := p.tasks.get(task.id)).state.terminal and t, 15, "the task to end"
            )
            assert done.state is TaskState.FAILED
            assert "RC-QUEUE-017" in done.reason and "12 h" in done.reason
            assert "--timeout" in done.reason  # and what to do about it
            # The message is gone: nothing runs the task a second time.
            monkeypatch.undo()
            assert p.queue.depth() == 0
            assert p.queue.receive(1, visibility_timeout=30, wait_seconds=0) == []
            assert [(a.number, a.state) for a in p.tasks.attempts(task.id)] == [
                (1, TaskState.FAILED)
            ]
        finally:
            w._draining.set()
            runner.join(20)
