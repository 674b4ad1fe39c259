"""Fault tests with real processes: a redis-server restart while a worker streams, a
worker SIGKILLed mid-task (redelivery, then the dead-letter queue), and a PostgreSQL
restart between submit and run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rclaude.model import TaskSpec, TaskState
from rclaude.platform import Platform
from tests.production.support import config_of, prod_env, rclaude, stop_workers
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def db(postgres_srv):
    url = postgres_srv.create_database("fault")
    yield url
    stop_workers(url)


def start_worker(env, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rclaude.worker", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def task_processes(task_id: str) -> list[int]:
    """Live processes running a command of this task (found by their environment)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"RCLAUDE_TASK_ID={task_id}".encode() in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def kill_task_processes(task_id: str) -> None:
    """SIGKILL the command processes a killed worker left behind (this test's own)."""
    for pid in task_processes(task_id):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_redis_restart_while_a_task_streams_loses_and_repeats_nothing(aws, redis_srv, db, tmp_path):
    env = prod_env(aws, redis_srv.url, db, tmp_path)
    n = 3000
    script = (
        f"import sys, time\nfor i in range({n}):\n    sys.stdout.write(f'{{i:06d}}\\n')\n"
        "    sys.stdout.flush()\n    time.sleep(0.001)\n"
    )
    out = rclaude(
        env, "run", "--detach", "--no-sync", "--no-pty", "--", sys.executable, "-c", script
    )
    task_id = out.stdout.decode().strip()
    with Platform(config_of(env)) as p:
        got: list = []
        reader = threading.Thread(
            target=lambda: got.extend(
                ev.chunk for ev in p.service.follow(p.tasks.get(task_id)) if ev.chunk
            )
        )
        reader.start()
        wait_for(lambda: p.log.read(task_id, 1, limit=1), 30, "first output")
        redis_srv.restart(down_for=0.5)
        reader.join(60)
        assert not reader.is_alive()
        task = p.tasks.get(task_id)
    assert task.state is TaskState.SUCCEEDED, task.reason
    logs = "".join(f.read_text() for f in (tmp_path / "data" / "workers").glob("*.log"))
    assert "buffering output" in logs  # the worker did ride out the outage
    assert [c.seq for c in got] == list(range(1, len(got) + 1))
    data = b"".join(c.data for c in got[:-1])
    assert data == b"".join(f"{i:06d}\n".encode() for i in range(n))


def test_killed_worker_redelivers_then_dead_letters(aws, redis_srv, db, tmp_path):
    env = prod_env(
        aws,
        redis_srv.url,
        db,
        tmp_path,
        RCLAUDE_TASKS__VISIBILITY_TIMEOUT="2",
        RCLAUDE_ORCHESTRATOR__MAX_WORKERS="0",
    )
    out = rclaude(
        env,
        "run",
        "--detach",
        "--no-sync",
        "--no-pty",
        "--max-attempts",
        "2",
        "--",
        "sh",
        "-c",
        "echo attempt-$RCLAUDE_ATTEMPT; exec sleep 30",
    )
    task_id = out.stdout.decode().strip()
    with Platform(config_of(env)) as p:
        for attempt in (1, 2):
            w = start_worker(env, "--idle-timeout", "20")
            wait_for(lambda a=attempt: p.log.read(task_id, a), 30, f"attempt {attempt} output")
            assert p.tasks.get(task_id).attempt == attempt
            w.send_signal(signal.SIGKILL)  # the worker dies mid-task
            w.wait(10)
            kill_task_processes(task_id)
        # The lease expires; the third delivery exceeds max attempts: dead-letter queue.
        w = start_worker(env, "--idle-timeout", "10")
        task = wait_for(
            lambda: (t := p.tasks.get(task_id)).state.terminal and t,
            40,
            "the task to be marked failed",
        )
        w.send_signal(signal.SIGTERM)
        w.wait(20)
        assert task.state is TaskState.FAILED
        assert "dead-letter queue after 2 attempt(s)" in task.reason
        assert p.queue.dead_letters() == []  # reaped, then deleted: the DLQ drains
        assert p.queue.depth() == 0
        assert [(a.number, a.state) for a in p.tasks.attempts(task_id)] == [
            (1, TaskState.LOST),
            (2, TaskState.LOST),
        ]
        for attempt in (1, 2):
            text = b"".join(c.data for c in p.log.read(task_id, attempt))
            assert f"attempt-{attempt}".encode() in text


def test_postgres_restart_does_not_lose_a_submitted_task(
    aws, redis_srv, postgres_srv, db, tmp_path
):
    env = prod_env(aws, redis_srv.url, db, tmp_path)
    with Platform(config_of(env)) as p:
        task = p.service.submit(TaskSpec(command=("echo", "survived"), pty=False), reconcile=False)
        postgres_srv.restart(down_for=0.5)
        # The same long-lived engine reconnects (pool_pre_ping) and still has the task.
        assert p.tasks.get(task.id).state is TaskState.QUEUED
        w = start_worker(env, "--burst")
        assert w.wait(60) == 0
        done = p.tasks.get(task.id)
        assert done.state is TaskState.SUCCEEDED
        assert b"survived" in b"".join(c.data for c in p.log.read(task.id, 1))


def test_redis_down_longer_than_the_buffer_fails_the_task_loudly(aws, redis_srv, db, tmp_path):
    env = prod_env(
        aws,
        redis_srv.url,
        db,
        tmp_path,
        RCLAUDE_ORCHESTRATOR__MAX_WORKERS="0",
        RCLAUDE_REDIS__BUFFER_BYTES="262144",
        RCLAUDE_REDIS__FLUSH_TIMEOUT="2",
    )
    script = (
        "import sys, time\nwhile True:\n    sys.stdout.write('x' * 8191 + '\\n')\n"
        "    sys.stdout.flush()\n    time.sleep(0.002)\n"
    )
    out = rclaude(
        env, "run", "--detach", "--no-sync", "--no-pty", "--", sys.executable, "-c", script
    )
    task_id = out.stdout.decode().strip()
    with Platform(config_of(env)) as p:
        w = start_worker(env, "--idle-timeout", "30")
        try:
            wait_for(lambda: p.log.read(task_id, 1, limit=1), 30, "first output")
            redis_srv.stop()
            try:
                task = wait_for(
                    lambda: (t := p.tasks.get(task_id)).state.terminal and t, 30, "the task to fail"
                )
            finally:
                redis_srv.start()
            assert task.state is TaskState.FAILED
            assert "RC-LOG-012" in task.reason  # said why, instead of dropping output
            # ... and the worker stopped the command rather than leave it running unseen.
            wait_for(lambda: not task_processes(task_id), 10, "the command to be killed")
        finally:
            kill_task_processes(task_id)
            w.send_signal(signal.SIGTERM)
            w.wait(30)
