"""Redis outages: buffered output is replayed exactly once, the bound fails loudly, and
a reader following the stream across a redis-server restart sees every byte once."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from rclaude.adapters.redis_buffer import Pending
from rclaude.adapters.redis_log import RedisOutputLog
from rclaude.config.schema import Config
from rclaude.errors import BackendError
from rclaude.model import ChunkKind
from tests.support.moto_server import free_port


def make_log(url: str, **redis) -> RedisOutputLog:
    settings = {
        "url": url,
        "key_prefix": f"o{uuid.uuid4().hex[:8]}:",
        "connect_timeout": 0.5,
        **redis,
    }
    return RedisOutputLog(Config.model_validate({"log": "redis", "redis": settings}))


def test_a_replayed_chunk_that_already_landed_is_not_written_twice(redis_srv):
    lg = make_log(redis_srv.url)
    try:
        assert lg.append("t", 1, b"a") == 1
        lg.outbox.flush(5)
        p = Pending("t", 1, "out", b"b", time.time(), 2, "nonce-b")
        assert lg._send([p]) == [2]
        assert lg._send([p]) == [2]  # the reply was lost and the chunk is sent again
        assert [(c.seq, c.data) for c in lg.read("t", 1)] == [(1, b"a"), (2, b"b")]
    finally:
        lg.close_log()


def test_output_is_buffered_while_redis_is_down_and_replayed_in_order(redis_srv):
    lg = make_log(redis_srv.url)
    try:
        lg.append("t", 1, b"before,")
        redis_srv.stop()
        try:
            for i in range(50):
                lg.append("t", 1, f"{i},".encode())  # does not raise: buffered
            assert lg.outbox.pending_bytes > 0
        finally:
            redis_srv.start()
        lg.close("t", 1, {"state": "succeeded"})  # waits for the replay
        chunks = lg.read("t", 1)
        assert [c.seq for c in chunks] == list(range(1, 53))
        assert b"".join(c.data for c in chunks[:-1]) == b"before," + b"".join(
            f"{i},".encode() for i in range(50)
        )
        assert chunks[-1].kind is ChunkKind.FINAL
        assert lg.outbox.outages == 1
    finally:
        lg.close_log()


def test_buffer_bound_exceeded_fails_loudly():
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    lg = make_log(dead, buffer_bytes=1000, flush_timeout=0.5)
    try:
        lg.append("t", 1, b"x" * 600)  # buffered
        with pytest.raises(BackendError) as err:
            lg.append("t", 1, b"y" * 600)
        assert err.value.code == "RC-LOG-012"
        with pytest.raises(BackendError):  # the attempt stays refused: no silent gap
            lg.append("t", 1, b"z")
        with pytest.raises(BackendError) as err:
            lg.close("t", 1, {"state": "failed"})
        assert err.value.code == "RC-LOG-011"
    finally:
        lg.outbox.stop()


def test_reader_follows_across_a_redis_restart_without_loss_or_duplicates(redis_srv):
    writer, reader = make_log(redis_srv.url), None
    reader = make_log(redis_srv.url, key_prefix=writer.keys.prefix)
    n = 400
    got: list = []
    follower = threading.Thread(target=lambda: got.extend(reader.follow("t", 1)))
    follower.start()
    try:
        for i in range(n):
            writer.append("t", 1, f"{i:05d}\n".encode())
            if i == n // 3:
                redis_srv.stop()
            if i == 2 * n // 3:
                redis_srv.start()
            time.sleep(0.002)
        writer.close("t", 1, {"state": "succeeded"})
        follower.join(30)
        assert not follower.is_alive()
    finally:
        if redis_srv.proc is None:
            redis_srv.start()
        writer.close_log()
        reader.close_log()
    assert [c.seq for c in got] == list(range(1, n + 2))
    assert b"".join(c.data for c in got[:-1]) == b"".join(f"{i:05d}\n".encode() for i in range(n))


def test_backlog_is_merged_without_loss_or_gaps(redis_srv):
    lg = make_log(redis_srv.url)
    try:
        parts = [os.urandom(4096) for _ in range(2000)]  # 8 MB, faster than Redis takes it
        for part in parts:
            lg.append("t", 1, part)
        lg.close("t", 1, {"state": "succeeded"})
        chunks = []
        while not chunks or chunks[-1].kind is not ChunkKind.FINAL:
            chunks += lg.read("t", 1, after_seq=chunks[-1].seq if chunks else 0)
        assert [c.seq for c in chunks] == list(range(1, len(chunks) + 1))
        assert b"".join(c.data for c in chunks[:-1]) == b"".join(parts)
        assert len(chunks) - 1 < len(parts)  # the backlog was merged into fewer entries
    finally:
        lg.close_log()


def test_writes_refused_during_a_failover_are_buffered_not_lost(tmp_path):
    """An ElastiCache failover: the old primary answers READONLY for a while. That is an
    outage to ride out (buffer, retry), not a refusal that breaks the attempt."""
    import redis

    from tests.support.redis_server import RedisServer

    server = RedisServer(tmp_path, free_port(), fsync="off")
    server.start()
    admin = redis.Redis.from_url(server.url)
    lg = make_log(server.url, flush_timeout=20)
    try:
        lg.append("t", 1, b"before,")
        lg.outbox.flush(5)
        admin.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))  # demoted
        for i in range(20):
            lg.append("t", 1, f"{i},".encode())  # does not raise: held back
        deadline = time.monotonic() + 5
        while lg.outbox.outages == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lg.outbox.outages == 1 and lg.outbox.pending_bytes > 0
        admin.execute_command("REPLICAOF", "NO", "ONE")  # promoted again
        lg.close("t", 1, {"state": "succeeded"})
        chunks = lg.read("t", 1)
        assert [c.seq for c in chunks] == list(range(1, len(chunks) + 1))
        assert b"".join(c.data for c in chunks[:-1]) == b"before," + b"".join(
            f"{i},".encode() for i in range(20)
        )
        assert chunks[-1].kind is ChunkKind.FINAL
    finally:
        lg.close_log()
        admin.close()
        server.stop()


def test_a_chunk_larger_than_the_outage_buffer_goes_through_while_redis_answers(redis_srv):
    lg = make_log(redis_srv.url, buffer_bytes=1000)
    try:
        lg.append("t", 1, b"x" * 5000)  # over the bound, but Redis is up: no RC-LOG-012
        lg.close("t", 1, {"state": "succeeded"})
        assert b"".join(c.data for c in lg.read("t", 1)[:-1]) == b"x" * 5000
    finally:
        lg.close_log()
