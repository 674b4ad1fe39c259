"""Output streaming throughput: a command printing 100 MB, through a worker, the Redis
stream and a reader following it, in PTY mode and pipe mode; plus the bare PTY reader
(a plain Python pty read loop over the same command) measured in the same run.

Zero loss is checked: the reader's byte count and sha256 must equal the bare PTY
reader's (PTY mode; the terminal turns "\\n" into "\\r\\n") or the file's (pipe mode).
MB/s is measured at the reader from its first to its last output byte (startup is
reported separately as ``first_byte_s``). The runs are interleaved for ``--rounds``
rounds, so a busy host skews all of them alike; each PTY figure is compared with the
bare reader of the same round and the median of those ratios is reported (the best run
of each kind and all figures are listed too). Prints one JSON line.

PTY mode is measured in two placements:

- ``pty`` (shared): the command, the worker, Redis and the reader all share every core.
  On a 2-core machine the terminal's kernel round trip (reader, tty worker, writer) then
  competes with Redis and the reader's hashing for the same two cores.
- ``pty_split``: Redis and the reader are pinned to the last core, as if on the other
  hosts they run on when deployed (ElastiCache; the user's CLI or browser). The worker
  and the command are not pinned: they may use every core, the last one included, just
  as the bare reader does.

``worker_cpu_s`` is the CPU time the worker process spent per run (its command's own
time excluded); ``bare_cpu_s`` the bare reader's, hashing included.

Redis runs without an append-only file by default, like the ElastiCache replication
group ``init-deployment`` creates (a replica, not an AOF, keeps its streams). With
``--aof everysec`` the benchmark's own 100 MB runs make Redis rewrite its AOF (a fork
that compresses the whole data set) inside the measured window.

    .venv/bin/python bench/output_throughput.py [--mb 100] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pty
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit
from _distributed import production_platform, wait_idle_workers

MB = 1024 * 1024


def make_source(size: int) -> Path:
    """A file of printable lines (deterministic), so PTY mode can be compared byte-wise."""
    line = b"".join(bytes([33 + (i * 7) % 90]) for i in range(99)) + b"\n"
    path = Path(tempfile.mkdtemp(prefix="rclaude-out-")) / "source.txt"
    with open(path, "wb") as fh:
        block = line * (MB // len(line) + 1)
        left = size
        while left > 0:
            fh.write(block[:left])
            left -= min(left, len(block))
    return path


def bare_pty(argv: list[str]) -> dict:
    """The ceiling: read the command's PTY output in a plain loop, nothing else."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    h, n, first, last = hashlib.sha256(), 0, None, None
    t0, cpu0 = time.perf_counter(), time.thread_time()
    while True:
        try:
            data = os.read(fd, 64 * 1024)
        except OSError:
            break
        if not data:
            break
        last = time.perf_counter()
        first = first or last
        h.update(data)
        n += len(data)
    cpu = time.thread_time() - cpu0
    os.waitpid(pid, 0)
    os.close(fd)
    return {
        "bytes": n,
        "sha256": h.hexdigest(),
        "mb_s": round(n / MB / (last - first), 1),
        "wall_s": round(last - t0, 3),
        "cpu_s": round(cpu, 3),
    }


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, its reaped children excluded."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def on_last_core(pids: list[int]):
    """Pin ``pids`` (0: the calling thread) to the last core for the duration."""
    cores = sorted(os.sched_getaffinity(0))
    before = {pid: os.sched_getaffinity(pid) for pid in pids}
    for pid in pids:
        os.sched_setaffinity(pid, {cores[-1]})
    try:
        yield
    finally:
        for pid, mask in before.items():
            os.sched_setaffinity(pid, mask)


def through_redis(p, argv: list[str], pty_mode: bool, worker_pid: int) -> dict:
    from rclaude.model import ChunkKind, TaskSpec

    spec = TaskSpec(command=tuple(argv), pty=pty_mode, cols=200, rows=50)
    cpu0 = process_cpu(worker_pid)
    t0 = time.perf_counter()
    task = p.service.submit(spec, reconcile=False)
    h, n, first, last, final = hashlib.sha256(), 0, None, None, None
    for chunk in p.log.follow(task.id, 1, idle_timeout=60):
        if chunk.kind is ChunkKind.FINAL:
            final = chunk.final_info()
            break
        last = time.perf_counter()
        first = first or last
        h.update(chunk.data)
        n += len(chunk.data)
    cpu = process_cpu(worker_pid) - cpu0
    # Measured output is dropped after each run so Redis holds one run's 100 MB, not all
    # of them (an AOF rewrite of the benchmark's own leftovers would be measured too).
    p.log.delete(task.id)
    return {
        "bytes": n,
        "sha256": h.hexdigest(),
        "mb_s": round(n / MB / (last - first), 1),
        "first_byte_s": round(first - t0, 3),
        "wall_s": round(last - t0, 3),
        "state": (final or {}).get("state"),
        "worker_cpu_s": round(cpu, 3),
    }


def best(runs: list[dict]) -> dict:
    return max(runs, key=lambda r: r["mb_s"])


def pct_of_bare(runs: list[dict], bares: list[dict]) -> float:
    """Median over rounds of each run's MB/s against the bare reader of its round."""
    ratios = [r["mb_s"] / b["mb_s"] for r, b in zip(runs, bares, strict=True)]
    return round(100 * statistics.median(ratios), 1)


def median_of(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument(
        "--rounds",
        type=int,
        default=7,
        help="interleaved rounds (noisy hosts): median ratio to the bare reader",
    )
    ap.add_argument("--database", choices=["postgres", "sqlite"], default="sqlite")
    ap.add_argument(
        "--aof",
        choices=["everysec", "always", "off"],
        default="off",
        help="Redis append-only-file fsync policy (off: as the deployed ElastiCache group)",
    )
    args = ap.parse_args()
    source = make_source(args.mb * MB)
    argv = ["cat", str(source)]
    want_pipe = hashlib.sha256(source.read_bytes()).hexdigest()
    split = len(os.sched_getaffinity(0)) > 1
    bares, ptys, splits, pipes = [], [], [], []
    with production_platform(args.database, args.aof, worker={"idleTimeout": 300}) as p:
        p.compute.launch(1)
        wait_idle_workers(p, 1)
        worker_pid = p.compute.list()[0].pid
        for _ in range(args.rounds):
            bares.append(bare_pty(argv))
            ptys.append(through_redis(p, argv, True, worker_pid))
            if split:
                with on_last_core([p.bench_redis_pid, 0]):
                    splits.append(through_redis(p, argv, True, worker_pid))
            pipes.append(through_redis(p, argv, False, worker_pid))
    source.unlink()
    ref = bares[0]
    pty_ok = all(
        (r["bytes"], r["sha256"]) == (ref["bytes"], ref["sha256"]) for r in ptys + splits + bares
    )
    pipe_ok = all((r["bytes"], r["sha256"]) == (args.mb * MB, want_pipe) for r in pipes)
    bare, pty_run, pipe_run = best(bares), best(ptys), best(pipes)
    keys = ("mb_s", "first_byte_s", "wall_s", "bytes", "state")
    figures = {
        "stack": "worker -> redis stream -> reader",
        "mb": args.mb,
        "rounds": args.rounds,
        "redis_aof": args.aof,
        "bare_pty_mb_s": bare["mb_s"],
        "bare_cpu_s": median_of(bares, "cpu_s"),
        "pty": {k: pty_run[k] for k in keys}
        | {
            "zero_loss": pty_ok,
            "pct_of_bare_pty": pct_of_bare(ptys, bares),
            "pct_best_of_best_bare": round(100 * pty_run["mb_s"] / bare["mb_s"], 1),
            "worker_cpu_s": median_of(ptys, "worker_cpu_s"),
            "all_mb_s": [r["mb_s"] for r in ptys],
        },
    }
    if split:
        figures["pty_split"] = {
            "mb_s": best(splits)["mb_s"],
            "pct_of_bare_pty": pct_of_bare(splits, bares),
            "worker_cpu_s": median_of(splits, "worker_cpu_s"),
            "all_mb_s": [r["mb_s"] for r in splits],
        }
    figures |= {
        "pipe": {k: pipe_run[k] for k in keys}
        | {
            "zero_loss": pipe_ok,
            "worker_cpu_s": median_of(pipes, "worker_cpu_s"),
            "all_mb_s": [r["mb_s"] for r in pipes],
        },
        "bare_all_mb_s": [r["mb_s"] for r in bares],
        "targets": {"pty_pct_of_bare": 90, "pipe_mb_s": 150},
    }
    emit("output_streaming_throughput", figures)
    if not (pty_ok and pipe_ok):
        raise SystemExit("output was lost or altered")


if __name__ == "__main__":
    main()
