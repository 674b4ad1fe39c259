"""PostgreSQL outages against a private server: the task store waits out a restart (a
task submitted just before it runs once, without burning its queue attempts), an outage
past the retry bound fails loudly with RC-DB-003 and the worker gives the lease back,
and a write whose commit landed but whose acknowledgement was lost is not applied twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import contextmanager

import pytest

from rclaude.adapters import sql_retry
from rclaude.adapters.sql_store import SqlTaskStore
from rclaude.config.schema import Config
from rclaude.errors import BackendError
from rclaude.model import ACTIVE_STATES, Attempt, QueueMessage, Task, TaskSpec, TaskState, new_id
from rclaude.platform import Platform
from rclaude.worker.attempt import Running, run_attempt
from rclaude.worker.loop import Worker
from tests.support.postgres_server import postgres_bindir, postgres_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

#: Sent in every URL (trust authentication ignores it); no error or log may show it.
PASSWORD = "pg-s3cret-Xy7"


@pytest.fixture(scope="module")
def pg():
    """A private server: these tests stop it, which must not disturb the shared one."""
    if postgres_bindir() is None:
        pytest.skip("PostgreSQL not installed (apt-get install -y postgresql)")
    with postgres_server() as server:
        yield server


@pytest.fixture
def db(pg):
    return pg.create_database("outage").replace("postgres@", f"postgres:{PASSWORD}@")


@contextmanager
def down(pg):
    pg.stop()
    try:
        yield
    finally:
        pg.start()


def config(aws: str, db: str, tmp_path, *, visibility: float) -> Config:
    return Config.model_validate(
        {
            "queue": "sqs",
            "database": db,
            "data_dir": str(tmp_path / "data"),
            "aws": {"endpoint_url": aws},
            "sqs": {"queue_name": f"q-{uuid.uuid4().hex[:8]}", "wait_seconds": 1},
            "tasks": {"visibility_timeout": visibility, "max_attempts": 3},
        }
    )


def queued_task(*command: str) -> Task:
    now = time.time()
    return Task(
        id=new_id(),
        spec=TaskSpec(command=command, pty=False),
        state=TaskState.QUEUED,
        created_at=now,
        queued_at=now,
    )


def test_a_task_submitted_before_a_restart_runs_once_postgres_is_back(
    pg, db, aws, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    visibility = 2.0
    cfg = config(aws, db, tmp_path, visibility=visibility)
    with Platform(cfg) as p, Platform(cfg) as wp:
        w = Worker(wp, worker_id="w-outage", idle_timeout=60)
        runner = threading.Thread(target=w.run, daemon=True)
        runner.start()
        try:
            wait_for(lambda: [x for x in p.tasks.workers() if x.id == w.id], 10, "registration")
            # What submit does (record, then message), with PostgreSQL going down in
            # between: the worker leases the message while the database is away.
            task = queued_task("echo", "survived")
            p.tasks.create(task)
            with down(pg):
                p.queue.send(QueueMessage(task_id=task.id, max_attempts=3))
                held = wait_for(lambda: list(w.running.values()), 10, "the lease")
                time.sleep(4 * visibility)  # four visibility timeouts, claim still waiting
                # The heartbeat kept the lease: the message was not redelivered.
                assert held[0].lease.receive_count == 1
                assert p.queue.receive(1, visibility_timeout=visibility) == []
            done = wait_for(
                lambda: (t := p.tasks.get(task.id)).state.terminal and t, 20, "the task to end"
            )
            assert done.state is TaskState.SUCCEEDED, done.reason
            assert done.attempt == 1 and done.exit_code == 0
            assert [(a.number, a.state) for a in p.tasks.attempts(task.id)] == [
                (1, TaskState.SUCCEEDED)
            ]
            assert b"survived" in b"".join(c.data for c in p.log.read(task.id, 1))
            wait_for(lambda: p.queue.depth() == 0, 10, "the ack")
            assert p.queue.dead_letters() == []
        finally:
            w._draining.set()
            runner.join(15)
    assert "unreachable" in caplog.text  # the wait was logged ...
    assert PASSWORD not in caplog.text  # ... without the password


def test_an_outage_past_the_bound_fails_with_rc_db_003(pg, db, monkeypatch, caplog):
    monkeypatch.setattr(sql_retry, "RETRY_FOR", 1.5)
    store = SqlTaskStore(db)
    try:
        task = queued_task("true")
        store.create(task)
        with down(pg):
            start = time.monotonic()
            with pytest.raises(BackendError) as err:
                store.get(task.id)
            waited = time.monotonic() - start
            # The worker heartbeat is not retried: its thread also extends leases.
            start = time.monotonic()
            with pytest.raises(BackendError) as beat:
                store.heartbeat_worker("w1", state="idle", busy=0)
            assert time.monotonic() - start < 1
        assert err.value.code == beat.value.code == "RC-DB-003"
        assert 1.5 <= waited < 6
        assert f"read task {task.id}" in err.value.message
        assert "unreachable" in err.value.message and "PostgreSQL" in err.value.hint
        for text in (str(err.value), str(beat.value), caplog.text):
            assert PASSWORD not in text
        # Not an outage: a constraint violation fails at once, untranslated.
        from sqlalchemy.exc import IntegrityError

        start = time.monotonic()
        with pytest.raises(IntegrityError):
            store.create(task)
        assert time.monotonic() - start < 1
        # Once the server is back the same store works again (pool_pre_ping).
        assert store.get(task.id).state is TaskState.QUEUED
    finally:
        store.close()


def test_a_claim_past_the_bound_gives_the_lease_back_at_once(
    pg, db, aws, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(sql_retry, "RETRY_FOR", 1.0)
    cfg = config(aws, db, tmp_path, visibility=30)
    with Platform(cfg) as p:
        task = p.service.submit(TaskSpec(command=("echo", "x"), pty=False), reconcile=False)
        [lease] = p.queue.receive(1, visibility_timeout=30, wait_seconds=1)
        with down(pg):
            # Not a crash: the attempt returns, and the message is visible again now,
            # not after the 30 s visibility timeout.
            assert run_attempt(p, lease, "w1", Running(lease)) is None
            again = p.queue.receive(1, visibility_timeout=30, wait_seconds=2)
            assert [(x.message.task_id, x.receive_count) for x in again] == [(task.id, 2)]
        assert p.tasks.get(task.id).state is TaskState.QUEUED  # it never ran
    assert "RC-DB-003" in caplog.text and "released for redelivery" in caplog.text
    assert PASSWORD not in caplog.text


def lose_next_acknowledgement(store: SqlTaskStore, monkeypatch) -> None:
    """The next transaction commits, then fails as if the connection dropped before
    the server's reply arrived (so the store cannot know it committed)."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    real = store._tx
    armed = [True]

    @contextmanager
    def tx():
        with real() as c:
            yield c
        if armed.pop() if armed else False:
            raise OperationalError(
                "COMMIT", {}, psycopg.OperationalError("server closed the connection")
            )

    monkeypatch.setattr(store, "_tx", tx)


def test_a_write_whose_commit_acknowledgement_was_lost_is_not_applied_twice(db, monkeypatch):
    store = SqlTaskStore(db)
    try:
        task = queued_task("true")
        lose_next_acknowledgement(store, monkeypatch)
        store.create(task)  # the retry finds the row rather than a duplicate key
        assert store.get(task.id).state is TaskState.QUEUED

        now = time.time()
        claim = dict(state=TaskState.STARTING, attempt=1, worker_id="w1", started_at=now)
        lose_next_acknowledgement(store, monkeypatch)
        claimed = store.update(task.id, expect_states=ACTIVE_STATES, **claim)
        assert claimed is not None and claimed.state is TaskState.STARTING  # not "lost"

        lose_next_acknowledgement(store, monkeypatch)
        end = dict(state=TaskState.SUCCEEDED, exit_code=0, finished_at=now, result={"n": 1})
        attempt = Attempt(task.id, 1, TaskState.SUCCEEDED, "w1", now, now, 0)
        assert store.finish(task.id, attempt, expect_states=ACTIVE_STATES, **end) is True
        assert [(a.number, a.state) for a in store.attempts(task.id)] == [(1, TaskState.SUCCEEDED)]

        # The re-check only accepts the values the write was setting.
        lose_next_acknowledgement(store, monkeypatch)
        assert store.update(task.id, expect_states=ACTIVE_STATES, state=TaskState.FAILED) is None
        assert store.get(task.id).state is TaskState.SUCCEEDED
    finally:
        store.close()
