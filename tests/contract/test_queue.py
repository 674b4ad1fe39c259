"""Contract of rclaude.ports.Queue (SQS semantics), for every implementation."""

from __future__ import annotations

import threading
import time

import pytest

from rclaude.errors import LeaseLostError
from rclaude.model import QueueMessage


def msg(task="t1", max_attempts=3):
    return QueueMessage(task_id=task, max_attempts=max_attempts)


def receive_one(queue, vt=30.0, wait=2.0):
    leases = queue.receive(1, visibility_timeout=vt, wait_seconds=wait)
    assert len(leases) == 1
    return leases[0]


def test_send_receive_ack_roundtrip(queue):
    sent = msg("task-a")
    queue.send(sent)
    lease = receive_one(queue)
    assert lease.message.task_id == "task-a"
    assert lease.message.id == sent.id
    assert lease.message.schema_version == 1
    assert lease.receive_count == 1
    queue.ack(lease)
    assert queue.receive(1, visibility_timeout=30, wait_seconds=0) == []
    assert queue.depth() == 0


def test_empty_queue_returns_nothing(queue):
    assert queue.receive(1, visibility_timeout=30, wait_seconds=0) == []


def test_leased_message_is_invisible_but_counted_in_depth(queue):
    queue.send(msg())
    queue.send(msg("t2"))
    lease = receive_one(queue)
    assert queue.depth() == 2  # one visible + one in flight
    other = receive_one(queue)
    assert other.message.id != lease.message.id
    assert queue.receive(1, visibility_timeout=30, wait_seconds=0) == []
    assert queue.depth() == 2


def test_expired_lease_is_redelivered_with_higher_count(queue):
    queue.send(msg())
    first = receive_one(queue, vt=1)
    second = receive_one(queue, vt=30, wait=5)
    assert second.message.id == first.message.id
    assert second.receive_count == 2
    with pytest.raises(LeaseLostError):
        queue.ack(first)  # the first lease is no longer held
    queue.ack(second)


def test_extend_keeps_the_lease(queue):
    queue.send(msg())
    lease = receive_one(queue, vt=1)
    lease = queue.extend(lease, 30)
    time.sleep(1.3)
    assert queue.receive(1, visibility_timeout=30, wait_seconds=0) == []
    queue.ack(lease)


def test_release_makes_message_visible_at_once(queue):
    queue.send(msg())
    lease = receive_one(queue, vt=60)
    queue.release(lease)
    again = receive_one(queue, wait=2)
    assert again.message.id == lease.message.id
    assert again.receive_count == 2


def test_dead_letter_after_max_attempts(queue):
    m = msg("doomed", max_attempts=2)
    queue.send(m)
    receive_one(queue, vt=1)
    receive_one(queue, vt=1, wait=5)
    time.sleep(1.2)
    # The third delivery would exceed max_attempts: it goes to the dead-letter queue.
    assert queue.receive(1, visibility_timeout=1, wait_seconds=2) == []
    dead = queue.dead_letters()
    assert [d.id for d in dead] == [m.id]
    assert dead[0].task_id == "doomed"
    assert queue.depth() == 0


def test_long_poll_wakes_when_a_message_arrives(queue):
    got = []
    t = threading.Thread(
        target=lambda: got.extend(queue.receive(1, visibility_timeout=30, wait_seconds=10))
    )
    t.start()
    time.sleep(0.3)
    queue.send(msg("late"))
    t.join(15)
    assert [lease.message.task_id for lease in got] == ["late"]


def test_concurrent_receivers_never_share_a_message(queue):
    n = 60
    for i in range(n):
        queue.send(msg(f"t{i}"))
    seen: list[str] = []
    lock = threading.Lock()

    def consume():
        while True:
            leases = queue.receive(5, visibility_timeout=60, wait_seconds=0.5)
            if not leases:
                return
            for lease in leases:
                with lock:
                    seen.append(lease.message.task_id)
                queue.ack(lease)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(seen) == sorted(f"t{i}" for i in range(n))
    assert queue.depth() == 0
