"""Dead-letter reaping and undecodable messages on SQS (the moto server), end to end
through ``TaskService`` and the worker loop: every dead letter is reaped and deleted, and
one bad message never stops a receive, a worker, reaping or a submit."""

from __future__ import annotations

import threading
import time

from rclaude import awsutil
from rclaude.config.schema import Config
from rclaude.model import TaskSpec, TaskState
from rclaude.platform import Platform
from rclaude.worker.loop import Worker

DEAD_REASON = "moved to the dead-letter queue after 1 attempt(s)"
MALFORMED = "definitely not json"
NEWER = '{"v":2,"id":"fromthefuture","task_id":"t-future","max_attempts":3}'


def platform(aws, tmp_path) -> Platform:
    return Platform(
        Config.model_validate(
            {
                "data_dir": str(tmp_path / "data"),
                "queue": "sqs",
                "sqs": {"endpoint_url": aws, "queue_name": "reap"},
                "orchestrator": {"max_workers": 0},
            }
        )
    )


def sqs(aws):
    return awsutil.client("sqs", region="us-east-1", endpoint_url=aws)


def count(aws, url: str) -> int:
    attrs = sqs(aws).get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def dead_lettered_tasks(p: Platform, aws, n: int) -> list[str]:
    """Submit ``n`` one-attempt tasks whose first lease expires: all become dead letters."""
    ids = [
        p.service.submit(TaskSpec(command=("true",), max_attempts=1), reconcile=False).id
        for _ in range(n)
    ]
    leased = 0
    while leased < n:
        got = p.queue.receive(10, visibility_timeout=1, wait_seconds=2)
        assert got
        leased += len(got)
    time.sleep(1.2)
    assert p.queue.receive(10, visibility_timeout=1, wait_seconds=2) == []
    assert count(aws, p.queue.url) == 0
    assert count(aws, p.queue.dlq_url) == n
    return ids


def codes(caplog) -> list[str]:
    return [r.getMessage()[1:13] for r in caplog.records if r.getMessage().startswith("[RC-")]


def test_every_dead_letter_is_reaped_and_the_dead_letter_queue_drains(aws, tmp_path):
    with platform(aws, tmp_path) as p:
        ids = dead_lettered_tasks(p, aws, 25)
        # More than one SQS batch, and more than one call's limit: later calls take the rest.
        assert p.service.reap_dead_letters(limit=10) == 10
        assert count(aws, p.queue.dlq_url) == 15
        assert p.service.reap_dead_letters() == 15
        assert count(aws, p.queue.dlq_url) == 0
        for tid in ids:
            task = p.tasks.get(tid)
            assert task.state is TaskState.FAILED
            assert DEAD_REASON in task.reason
        assert p.service.reap_dead_letters() == 0


def test_concurrent_reapers_fail_each_task_exactly_once(aws, tmp_path):
    with platform(aws, tmp_path) as p:
        ids = dead_lettered_tasks(p, aws, 30)
        reapers = [platform(aws, tmp_path) for _ in range(4)]
        reaped: list[int] = []
        start = threading.Barrier(len(reapers))

        def reap(q: Platform) -> None:
            start.wait()
            reaped.append(q.service.reap_dead_letters())

        threads = [threading.Thread(target=reap, args=(q,)) for q in reapers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for q in reapers:
            q.close()
        assert sum(reaped) == 30  # each task marked failed by exactly one reaper
        assert count(aws, p.queue.dlq_url) == 0
        for tid in ids:
            assert p.tasks.get(tid).state is TaskState.FAILED
            assert [(a.number, a.state) for a in p.tasks.attempts(tid)] == [(1, TaskState.LOST)]


def test_undecodable_dead_letters_do_not_stop_the_others_being_reaped(aws, tmp_path, caplog):
    caplog.set_level("WARNING", logger="rclaude.queue")
    with platform(aws, tmp_path) as p:
        ids = dead_lettered_tasks(p, aws, 12)
        for body in (MALFORMED, NEWER):
            sqs(aws).send_message(QueueUrl=p.queue.dlq_url, MessageBody=body)
        assert p.service.reap_dead_letters() == 12
        assert all(p.tasks.get(tid).state is TaskState.FAILED for tid in ids)
        assert sorted(codes(caplog)) == ["RC-QUEUE-015", "RC-QUEUE-016"]
        # The malformed one is deleted; the newer one stays for a newer reaper.
        assert count(aws, p.queue.dlq_url) == 1
        assert p.service.reap_dead_letters() == 0
        assert sorted(codes(caplog)) == ["RC-QUEUE-015", "RC-QUEUE-016"]  # reported once


def test_a_worker_survives_poison_messages_and_runs_the_good_ones(aws, tmp_path, caplog):
    caplog.set_level("WARNING", logger="rclaude.queue")
    with platform(aws, tmp_path) as p:
        good = [
            p.service.submit(TaskSpec(command=("true",), pty=False), reconcile=False).id
            for _ in range(2)
        ]
        for body in (MALFORMED, NEWER):
            sqs(aws).send_message(QueueUrl=p.queue.url, MessageBody=body)
        good.append(p.service.submit(TaskSpec(command=("true",), pty=False), reconcile=False).id)
        worker = threading.Thread(target=Worker(p, worker_id="w-poison", burst=True).run)
        worker.start()
        worker.join(60)
        assert not worker.is_alive()
        assert [p.tasks.get(tid).state for tid in good] == [TaskState.SUCCEEDED] * 3
        assert codes(caplog).count("RC-QUEUE-014") == 2  # each set aside once, to the DLQ
        assert count(aws, p.queue.url) == 0
        # Reaping and submitting keep working with the poison in the dead-letter queue.
        assert p.service.reap_dead_letters() == 0
        assert count(aws, p.queue.dlq_url) == 1  # only the newer one is left
        task = p.service.submit(TaskSpec(command=("true",), pty=False))  # reconciles
        assert p.tasks.get(task.id).state is TaskState.QUEUED
