"""One transaction across the embedded queue, log and task store (``Platform.atomic``),
and the worker's reuse of empty workspaces."""

from __future__ import annotations

import threading
import time

import pytest

from rclaude.config.schema import Config
from rclaude.errors import NotFoundError
from rclaude.model import QueueMessage, Task, TaskSpec, TaskState
from rclaude.platform import Platform
from rclaude.worker.loop import Worker


@pytest.fixture
def platforms(tmp_path):
    """Two platforms on one data dir: a writer and an independent observer (its own
    connections, so it sees only committed rows)."""
    cfg = Config.model_validate({"dataDir": str(tmp_path / "data")})
    writer, observer = Platform(cfg), Platform(cfg)
    for p in (writer, observer):
        p.tasks, p.queue, p.log  # noqa: B018 - schemas exist before any test transaction
    yield writer, observer
    writer.close()
    observer.close()


def new_task(command=("true",)) -> Task:
    now = time.time()
    return Task(
        id=f"t{time.monotonic_ns()}",
        spec=TaskSpec(command=command),
        state=TaskState.QUEUED,
        created_at=now,
        queued_at=now,
    )


def test_writes_in_a_block_commit_together_and_ring_after_commit(platforms):
    p, other = platforms
    task = new_task()
    with p.bells.listen("q") as bell:
        with p.atomic():
            p.tasks.create(task)
            p.queue.send(QueueMessage(task_id=task.id, max_attempts=1))
            p.log.append(task.id, 1, b"hello")
            # Nothing is visible outside the transaction yet, and nobody was woken.
            assert other.queue.depth() == 0
            with pytest.raises(NotFoundError):
                other.tasks.get(task.id)
            assert not bell.wait(0)
        assert bell.wait(2)
    assert other.queue.depth() == 1
    assert other.tasks.get(task.id).state is TaskState.QUEUED
    assert [c.data for c in other.log.read(task.id, 1)] == [b"hello"]


def test_a_failed_block_leaves_nothing_and_rings_no_one(platforms):
    p, other = platforms
    task = new_task()
    with p.bells.listen("q") as bell:
        with pytest.raises(RuntimeError, match="boom"), p.atomic():
            p.tasks.create(task)
            p.queue.send(QueueMessage(task_id=task.id, max_attempts=1))
            p.log.append(task.id, 1, b"lost")
            raise RuntimeError("boom")
        assert not bell.wait(0.2)
    for view in (p, other):
        assert view.queue.depth() == 0
        assert view.log.read(task.id, 1) == []
        with pytest.raises(NotFoundError):
            view.tasks.get(task.id)
    # The connection is usable afterwards.
    p.tasks.create(task)
    assert other.tasks.get(task.id).id == task.id


def test_submit_that_cannot_enqueue_leaves_no_task(platforms, monkeypatch):
    p, other = platforms
    send = type(p.queue).send

    def send_then_fail(self, message):
        send(self, message)
        raise OSError("disk full")

    monkeypatch.setattr(type(p.queue), "send", send_then_fail)
    with pytest.raises(OSError, match="disk full"):
        p.service.submit(TaskSpec(command=("true",)), reconcile=False)
    assert other.tasks.list() == []
    assert other.queue.depth() == 0


def run_burst_worker(p) -> None:
    # In a thread: the worker installs no signal handlers there.
    t = threading.Thread(target=Worker(p, worker_id="w-test", burst=True).run)
    t.start()
    t.join(60)
    assert not t.is_alive()


def test_each_task_gets_an_empty_private_workspace_and_none_are_left(platforms):
    p, _ = platforms
    first = p.service.submit(
        TaskSpec(command=("sh", "-c", "touch left-behind; mkdir d; ls -A"), pty=False),
        reconcile=False,
    )
    ids = [
        p.service.submit(
            TaskSpec(command=("sh", "-c", 'ls -A; stat -c %a "$PWD"'), pty=False),
            reconcile=False,
        ).id
        for _ in range(3)
    ]
    run_burst_worker(p)
    assert p.tasks.get(first.id).state is TaskState.SUCCEEDED
    assert b"".join(c.data for c in p.log.read(first.id, 1)[:-1]) == b"d\nleft-behind\n"
    for tid in ids:
        assert p.tasks.get(tid).state is TaskState.SUCCEEDED
        assert b"".join(c.data for c in p.log.read(tid, 1)[:-1]) == b"700\n"
    assert list((p.data_dir / "workspaces").iterdir()) == []
