"""Contract of rclaude.ports.TaskStore, for every implementation."""

from __future__ import annotations

import time

import pytest

from rclaude.errors import ConflictError, NotFoundError
from rclaude.model import Attempt, Task, TaskSpec, TaskState, WorkerInfo, new_id


def make(store, name=None, owner=None, state=TaskState.QUEUED, tid=None, created=None):
    t = Task(
        id=tid or new_id(),
        spec=TaskSpec(command=("echo", "hi"), name=name, env={"K": "v"}),
        state=state,
        owner=owner,
        created_at=created or time.time(),
    )
    return store.create(t)


def test_create_and_get_roundtrip(task_store):
    t = make(task_store, name="build")
    got = task_store.get(t.id)
    assert got.id == t.id
    assert got.spec.command == ("echo", "hi")
    assert got.spec.env == {"K": "v"}
    assert got.name == "build"
    assert got.state is TaskState.QUEUED


def test_missing_task(task_store):
    with pytest.raises(NotFoundError):
        task_store.get("nope")
    with pytest.raises(NotFoundError):
        task_store.resolve("nope")


def test_resolve_by_name_prefers_newest_and_by_prefix(task_store):
    old = make(task_store, name="job", created=1000.0, tid="aaaa1111")
    new = make(task_store, name="job", created=2000.0, tid="bbbb2222")
    assert task_store.resolve("job").id == new.id
    assert task_store.resolve("aaaa").id == old.id
    make(task_store, tid="bbbb3333")
    with pytest.raises(ConflictError):
        task_store.resolve("bbbb")


def test_owner_scopes_resolution(task_store):
    t = make(task_store, owner="alice")
    assert task_store.resolve(t.id, owner="alice").id == t.id
    with pytest.raises(NotFoundError):
        task_store.resolve(t.id, owner="bob")
    assert [x.id for x in task_store.list(owner="bob")] == []


def test_update_compare_and_set(task_store):
    t = make(task_store)
    assert (
        task_store.update(t.id, expect_states=[TaskState.RUNNING], state=TaskState.FAILED) is None
    )
    u = task_store.update(
        t.id, expect_states=[TaskState.QUEUED], state=TaskState.RUNNING, attempt=1
    )
    assert u.state is TaskState.RUNNING and u.attempt == 1
    u = task_store.update(t.id, result={"added": ["x"]}, exit_code=0, state=TaskState.SUCCEEDED)
    assert u.result == {"added": ["x"]} and u.exit_code == 0
    with pytest.raises(NotFoundError):
        task_store.update("missing", state=TaskState.FAILED)


def test_list_newest_first_and_by_state(task_store):
    a = make(task_store, created=1.0)
    b = make(task_store, created=2.0, state=TaskState.SUCCEEDED)
    c = make(task_store, created=3.0)
    assert [t.id for t in task_store.list()] == [c.id, b.id, a.id]
    assert [t.id for t in task_store.list(states=[TaskState.QUEUED])] == [c.id, a.id]
    assert [t.id for t in task_store.list(limit=1)] == [c.id]


def test_attempts_upsert(task_store):
    t = make(task_store)
    task_store.upsert_attempt(Attempt(t.id, 1, TaskState.RUNNING, "w1", 1.0))
    task_store.upsert_attempt(Attempt(t.id, 1, TaskState.LOST, "w1", 1.0, 2.0, reason="gone"))
    task_store.upsert_attempt(Attempt(t.id, 2, TaskState.SUCCEEDED, "w2", 3.0, 4.0, 0))
    got = task_store.attempts(t.id)
    assert [(a.number, a.state, a.reason) for a in got] == [
        (1, TaskState.LOST, "gone"),
        (2, TaskState.SUCCEEDED, None),
    ]


def test_worker_registry(task_store):
    task_store.register_worker(WorkerInfo(id="w1", backend="local", state="idle", slots=2, pid=42))
    task_store.heartbeat_worker("w1", state="busy", busy=1)
    (w,) = task_store.workers("local")
    assert (w.id, w.state, w.busy, w.slots, w.pid) == ("w1", "busy", 1, 2, 42)
    assert task_store.workers("aws") == []
    task_store.remove_worker("w1")
    assert task_store.workers() == []
