"""Contract of rclaude.ports.OutputLog, for every implementation."""

from __future__ import annotations

import threading
import time

import pytest

from rclaude.errors import ConflictError
from rclaude.model import ChunkKind, InputKind


def test_seqs_start_at_one_without_gaps(output_log):
    seqs = [output_log.append("t", 1, f"line {i}\n".encode()) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    chunks = output_log.read("t", 1)
    assert [c.seq for c in chunks] == [1, 2, 3, 4, 5]
    assert b"".join(c.data for c in chunks) == b"".join(f"line {i}\n".encode() for i in range(5))


def test_read_from_a_seq_and_attempts_are_separate(output_log):
    for i in range(3):
        output_log.append("t", 1, bytes([65 + i]))
    output_log.append("t", 2, b"second attempt")
    assert [c.data for c in output_log.read("t", 1, after_seq=1)] == [b"B", b"C"]
    assert [c.data for c in output_log.read("t", 2)] == [b"second attempt"]
    assert output_log.attempts("t") == [1, 2]


def test_final_closes_the_log(output_log):
    output_log.append("t", 1, b"x")
    seq = output_log.close("t", 1, {"state": "succeeded", "exit_code": 0})
    assert seq == 2
    last = output_log.read("t", 1)[-1]
    assert last.kind is ChunkKind.FINAL
    assert last.final_info() == {"state": "succeeded", "exit_code": 0}
    with pytest.raises(ConflictError):
        output_log.append("t", 1, b"too late")


def test_follow_sees_every_chunk_once_while_writer_runs(output_log):
    n = 300
    got = []

    def writer():
        for i in range(n):
            output_log.append("t", 1, f"{i}\n".encode())
        output_log.close("t", 1, {"state": "succeeded"})

    t = threading.Thread(target=writer)
    t.start()
    for ch in output_log.follow("t", 1):
        got.append(ch)
    t.join()
    assert [c.seq for c in got] == list(range(1, n + 2))
    assert b"".join(c.data for c in got[:-1]) == b"".join(f"{i}\n".encode() for i in range(n))
    assert got[-1].kind is ChunkKind.FINAL


def test_resume_from_last_seq_has_no_gap_and_no_duplicate(output_log):
    for i in range(10):
        output_log.append("t", 1, f"{i},".encode())
    first = []
    for ch in output_log.follow("t", 1, idle_timeout=0.2):
        first.append(ch)
        if len(first) == 4:
            break  # the reader disconnects
    for i in range(10, 15):
        output_log.append("t", 1, f"{i},".encode())
    output_log.close("t", 1, {"state": "succeeded"})
    rest = list(output_log.follow("t", 1, after_seq=first[-1].seq))
    data = b"".join(c.data for c in first + rest[:-1])
    assert data == b"".join(f"{i},".encode() for i in range(15))


def test_wait_wakes_on_append(output_log):
    assert output_log.wait("t", 1, 0, timeout=0.05) is False
    writer = threading.Timer(0.2, lambda: output_log.append("t", 1, b"x"))
    writer.start()
    assert output_log.wait("t", 1, 0, timeout=10) is True
    writer.join(10)  # the writer may still be reading its reply: not past teardown


def test_follow_idle_timeout_returns(output_log):
    output_log.append("t", 1, b"only")
    got = list(output_log.follow("t", 1, idle_timeout=0.2))
    assert [c.data for c in got] == [b"only"]


def test_large_payloads_survive(output_log):
    blob = bytes(range(256)) * 8192  # 2 MiB
    output_log.append("t", 1, blob)
    assert b"".join(c.data for c in output_log.read("t", 1)) == blob


def test_input_channel(output_log):
    assert output_log.last_input_seq("t") == 0
    assert output_log.send_input("t", InputKind.DATA, b"ls\r") == 1
    assert output_log.send_input("t", InputKind.RESIZE, cols=120, rows=40) == 2
    evs = output_log.read_input("t")
    assert [(e.seq, e.kind, e.data) for e in evs] == [
        (1, InputKind.DATA, b"ls\r"),
        (2, InputKind.RESIZE, b""),
    ]
    assert (evs[1].cols, evs[1].rows) == (120, 40)
    assert [e.seq for e in output_log.read_input("t", after_seq=1)] == [2]
    assert output_log.last_input_seq("t") == 2


def test_input_listener_becomes_readable(output_log):
    import select

    listener = output_log.input_listener("t")
    try:
        start = time.monotonic()
        output_log.send_input("t", InputKind.DATA, b"k")
        ready, _, _ = select.select([listener], [], [], 5)
        assert ready, "listener did not wake within 5 s"
        assert time.monotonic() - start < 5
        listener.drain()
    finally:
        listener.close()


def test_wait_input_wakes(output_log):
    sender = threading.Timer(0.2, lambda: output_log.send_input("t", InputKind.DATA, b"x"))
    sender.start()
    assert output_log.wait_input("t", 0, timeout=10) is True
    sender.join(10)  # the sender may still be reading its reply: not past teardown


def test_delete_removes_everything(output_log):
    output_log.append("t", 1, b"x")
    output_log.send_input("t", InputKind.DATA, b"y")
    output_log.delete("t")
    assert output_log.read("t", 1) == []
    assert output_log.read_input("t") == []
