"""Redis output log behaviour beyond the shared contract: sealing on FINAL across
processes, retention, MAXLEN trimming."""

from __future__ import annotations

import time

import pytest

from rclaude.errors import ConflictError
from rclaude.model import ChunkKind
from tests.production.test_redis_outage import make_log


def test_a_log_closed_elsewhere_refuses_a_writer_that_knew_it_open(redis_srv):
    worker = make_log(redis_srv.url)
    other = make_log(redis_srv.url, key_prefix=worker.keys.prefix)
    try:
        worker.append("t", 1, b"a")
        worker.outbox.flush(5)
        other.close("t", 1, {"state": "failed", "reason": "reaped"})  # e.g. reap_dead_letters
        worker.append("t", 1, b"late")  # queued: its XADD meets the sealed stream
        worker.outbox.flush(5)
        with pytest.raises(ConflictError):
            worker.append("t", 1, b"later")
        with pytest.raises(ConflictError):
            make_log(redis_srv.url, key_prefix=worker.keys.prefix).append("t", 1, b"new writer")
        chunks = other.read("t", 1)
        assert [(c.seq, c.kind) for c in chunks] == [(1, ChunkKind.OUTPUT), (2, ChunkKind.FINAL)]
        assert chunks[-1].final_info()["reason"] == "reaped"
    finally:
        worker.close_log()
        other.close_log()


def test_final_sets_retention_and_max_len_trims(redis_srv):
    lg = make_log(redis_srv.url, retention_seconds=3600, max_len=10)
    try:
        for i in range(500):
            lg.append("t", 1, f"{i}\n".encode())
        lg.close("t", 1, {"state": "succeeded"})
        key = lg.keys.out("t", 1)
        assert 0 < lg.r.ttl(key) <= 3600
        assert 0 < lg.r.ttl(lg.keys.attempts("t")) <= 3600
        assert lg.r.xlen(key) < 501  # approximate trimming kept far fewer entries
        assert lg.read("t", 1)[-1].kind is ChunkKind.FINAL
    finally:
        lg.close_log()


def test_input_listener_wakes_for_input_sent_by_another_process(redis_srv):
    import select

    from rclaude.model import InputKind

    worker = make_log(redis_srv.url)
    cli = make_log(redis_srv.url, key_prefix=worker.keys.prefix)
    listener = worker.input_listener("t")
    try:
        assert select.select([listener], [], [], 0.3)[0] == []
        cli.send_input("t", InputKind.RESIZE, cols=100, rows=30)
        assert select.select([listener], [], [], 5)[0] == [listener]
        assert listener.drain() is True
        (ev,) = worker.read_input("t")
        assert (ev.kind, ev.cols, ev.rows) == (InputKind.RESIZE, 100, 30)
    finally:
        listener.close()
        time.sleep(0.6)  # the listener thread exits after its current XREAD BLOCK
        worker.close_log()
        cli.close_log()


def test_a_unix_socket_url_streams_and_follows(redis_srv):
    """``redis.url: unix:///path/redis.sock`` (Redis on the same host): redis-py takes
    no TCP options there, so the adapter must not pass any."""
    lg = make_log(redis_srv.unix_url)
    reader = make_log(redis_srv.url, key_prefix=lg.keys.prefix)
    try:
        lg.append("t", 1, b"over the socket\n")
        lg.close("t", 1, {"state": "succeeded"})
        chunks = list(reader.follow("t", 1, idle_timeout=5))
        assert [c.data for c in chunks[:-1]] == [b"over the socket\n"]
        assert chunks[-1].kind is ChunkKind.FINAL
    finally:
        lg.close_log()
        reader.close_log()
