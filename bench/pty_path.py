"""Where PTY streaming time goes: the worker's read loop (``Process.pump``) over a command
printing 100 MB under a pseudo-terminal, with its output sent to ever more of the real
path, each compared with the bare PTY reader of the same round.

Sinks, in one process, interleaved for ``--rounds`` rounds:

- ``noop``: output dropped as the read loop emits it.
- ``outbox_null``: through the Redis log's write-behind queue and writer thread, whose
  send does nothing (the queue's own cost, threads and GIL included).
- ``tcp_sink``: through the same queue to another process over loopback TCP that only
  reads (one reply byte per read): moving the bytes off the process.
- ``redis``: the Redis output log itself (``XADD`` to a private redis-server, no AOF).

No reader follows the stream here: ``bench/output_throughput.py`` measures the whole path.
Prints one JSON line: per sink the median MB/s and the median of per-round ratios to the
bare reader.

    .venv/bin/python bench/pty_path.py [--mb 100] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support
from _common import emit
from output_throughput import MB, bare_pty, make_source

SINK = """
import socket, sys
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
buf = bytearray(1 << 20)
while conn.recv_into(buf):
    conn.sendall(b"+")
"""


def pump(argv: list[str], emit_fn, done=lambda: None) -> float:
    """MB/s of the worker's read loop over ``argv`` in a PTY, ``emit_fn`` per batch."""
    from rclaude.worker.process import Process

    proc = Process(argv, cwd="/", env=dict(os.environ), pty=True, cols=200, rows=50)
    n = 0

    def counted(batch: bytes) -> None:
        nonlocal n
        n += len(batch)
        emit_fn(batch)

    t0 = time.perf_counter()
    proc.pump(emit=counted, listen=None, on_wake=list, timeout=None)
    done()
    return n / MB / (time.perf_counter() - t0)


def main() -> None:
    from tests.support.redis_server import redis_server

    from rclaude.adapters.redis_buffer import Outbox, Pending
    from rclaude.adapters.redis_log import RedisOutputLog
    from rclaude.config.schema import Config

    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    source = make_source(args.mb * MB)
    argv = ["cat", str(source)]
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE)
    sock = socket.create_connection(("127.0.0.1", int(sink.stdout.readline())))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def null_send(batch: list[Pending], resend: bool) -> list[int]:
        return [p.seq or 1 for p in batch]

    def tcp_send(batch: list[Pending], resend: bool) -> list[int]:
        sock.sendall(b"".join(p.data for p in batch))
        sock.recv(64 * 1024)
        return [p.seq or 1 for p in batch]

    queues = {name: Outbox(send, 256 * MB, (OSError,), MB) for name, send in
              (("outbox_null", null_send), ("tcp_sink", tcp_send))}  # fmt: skip

    def through(name: str) -> float:
        q = queues[name]
        return pump(
            argv,
            lambda b: q.submit(Pending("t", 1, "out", b, 0.0, 0, "n")),
            lambda: q.flush(60),
        )

    runs: dict[str, list[float]] = {
        k: [] for k in ("bare", "noop", "outbox_null", "tcp_sink", "redis")
    }
    try:
        with redis_server(fsync="off") as server:
            log = RedisOutputLog(
                Config.model_validate({"log": "redis", "redis": {"url": server.url}})
            )
            for _ in range(args.rounds):
                runs["bare"].append(bare_pty(argv)["mb_s"])
                runs["noop"].append(pump(argv, lambda b: None))
                runs["outbox_null"].append(through("outbox_null"))
                runs["tcp_sink"].append(through("tcp_sink"))
                task = uuid.uuid4().hex
                runs["redis"].append(
                    pump(
                        argv,
                        lambda b, task=task: log.append(task, 1, b),
                        lambda task=task: log.close(task, 1, {"state": "succeeded"}),
                    )
                )
                log.delete(task)
            log.close_log()
    finally:
        sink.kill()
        source.unlink()
    figures: dict = {"mb": args.mb, "rounds": args.rounds}
    for name, values in runs.items():
        ratios = [v / b for v, b in zip(values, runs["bare"], strict=True)]
        figures[name] = {
            "mb_s": round(statistics.median(values), 1),
            "pct_of_bare_pty": round(100 * statistics.median(ratios), 1),
            "all_mb_s": [round(v, 1) for v in values],
        }
    emit("pty_path_breakdown", figures)


if __name__ == "__main__":
    main()
