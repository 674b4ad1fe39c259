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


def dead_letter(queue, n: int) -> list[QueueMessage]:
    """Send ``n`` one-attempt messages and let each expire once: all are dead letters."""
    sent = [msg(f"dead{i}", max_attempts=1) for i in range(n)]
    for m in sent:
        queue.send(m)
    leased = 0
    while leased < n:
        got = queue.receive(10, visibility_timeout=1, wait_seconds=2)
        assert got
        leased += len(got)
    time.sleep(1.2)
    assert queue.receive(10, visibility_timeout=1, wait_seconds=2) == []  # all moved
    assert queue.depth() == 0
    return sent


def test_dead_letters_are_leased_one_reaper_at_a_time_and_acked_until_drained(queue):
    sent = dead_letter(queue, 12)
    held = []
    while batch := queue.receive_dead_letters(10, visibility_timeout=30):
        held += batch
    assert sorted(x.message.id for x in held) == sorted(m.id for m in sent)
    assert queue.receive_dead_letters(10, visibility_timeout=30) == []  # all are leased
    for lease in held:
        queue.ack_dead_letter(lease)
    assert queue.receive_dead_letters(10, visibility_timeout=0) == []
    assert queue.dead_letters() == []


def test_an_expired_dead_letter_lease_is_handed_out_again(queue):
    (sent,) = dead_letter(queue, 1)
    (first,) = queue.receive_dead_letters(10, visibility_timeout=1)
    assert first.message.id == sent.id
    assert queue.receive_dead_letters(10, visibility_timeout=1) == []
    time.sleep(1.3)
    (again,) = queue.receive_dead_letters(10, visibility_timeout=30)
    assert again.message.id == sent.id
    queue.ack_dead_letter(again)
    assert queue.dead_letters() == []


def send_raw(queue, body: str) -> None:
    """Put a body on the queue that no ``QueueMessage`` encoded (as a foreign or newer
    sender would)."""
    if hasattr(queue, "db"):  # the embedded SQLite queue
        queue.db.execute_write(
            "INSERT INTO queue_messages(id, queue, body, visible_at, max_receives) "
            "VALUES (?,?,?,?,?)",
            (f"raw{time.monotonic_ns()}", queue.name, body, time.time(), 3),
        )
    else:  # SQS
        queue.client.send_message(QueueUrl=queue.url, MessageBody=body)


def codes(caplog) -> list[str]:
    return [r.getMessage()[1:13] for r in caplog.records if r.getMessage().startswith("[RC-")]


def test_undecodable_messages_are_set_aside_and_the_others_leased(queue, caplog):
    caplog.set_level("WARNING", logger="rclaude.queue")
    queue.send(msg("good-1"))
    send_raw(queue, "not json at all")
    newer = '{"v":2,"id":"fromthefuture","task_id":"t9","max_attempts":3}'
    send_raw(queue, newer)
    queue.send(msg("good-2"))
    leases = queue.receive(10, visibility_timeout=30, wait_seconds=2)  # one receive
    assert sorted(x.message.task_id for x in leases) == ["good-1", "good-2"]
    assert codes(caplog) == ["RC-QUEUE-014", "RC-QUEUE-014"]
    assert "RC-QUEUE-003" in caplog.text and "RC-QUEUE-004" in caplog.text
    assert queue.depth() == 2  # only the good ones, both in flight
    queue.ack(leases[0])
    queue.ack(leases[1])
    caplog.clear()
    # In the dead letters: the malformed one is deleted, the newer one left for a newer
    # reaper; neither is returned, and neither is reported twice.
    assert queue.receive_dead_letters(10, visibility_timeout=1) == []
    assert sorted(codes(caplog)) == ["RC-QUEUE-015", "RC-QUEUE-016"]
    time.sleep(1.3)
    assert queue.receive_dead_letters(10, visibility_timeout=1) == []
    assert sorted(codes(caplog)) == ["RC-QUEUE-015", "RC-QUEUE-016"]
    assert queue.dead_letters() == []  # a peek skips what it cannot decode
