"""The ``local`` compute backend: detached ``rclaude worker`` processes on this machine.

The worker registry in the TaskStore is the list; a process that no longer exists is
dropped from it. ``stop`` sends SIGTERM to idle workers only, and a worker that got a
task meanwhile drains it before exiting.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable

from rclaude.model import WorkerInfo, new_id


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


class LocalCompute:
    name = "local"

    def __init__(self, platform) -> None:
        self.p = platform
        self.host = socket.gethostname()
        self._children: dict[int, subprocess.Popen] = {}

    def launch(self, n: int, *, token: str | None = None) -> list[WorkerInfo]:
        from rclaude.platform import worker_env

        cfg = self.p.config
        env = dict(os.environ)
        env.update(worker_env(cfg, include_data_dir=True))
        env["RCLAUDE_WORKER_BACKEND"] = "local"
        logs = self.p.data_dir / "workers"
        logs.mkdir(parents=True, exist_ok=True)
        started = []
        for _ in range(n):
            wid = f"w-{new_id(5)}"
            with open(logs / f"{wid}.log", "ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "rclaude.worker", "--worker-id", wid,
                     "--idle-timeout", str(cfg.worker.idle_timeout),
                     "--concurrency", str(cfg.worker.concurrency)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True, env=env, close_fds=True,
                )
            self._children[proc.pid] = proc
            info = WorkerInfo(id=wid, backend="local", state="starting",
                              slots=cfg.worker.concurrency, host=self.host, pid=proc.pid,
                              started_at=time.time(), heartbeat_at=time.time())
            self.p.tasks.register_worker(info)
            started.append(info)
        return started

    def list(self) -> list[WorkerInfo]:
        for pid, proc in list(self._children.items()):
            if proc.poll() is not None:
                del self._children[pid]
        out = []
        for w in self.p.tasks.workers("local"):
            if w.host != self.host:
                continue
            if w.pid and _alive(w.pid):
                out.append(w)
            else:
                self.p.tasks.remove_worker(w.id)
        return out

    def stop(self, worker_ids: Iterable[str]) -> list[str]:
        wanted = set(worker_ids)
        stopped = []
        for w in self.list():
            if w.id in wanted and w.idle and w.pid:
                try:
                    os.kill(w.pid, signal.SIGTERM)
                    stopped.append(w.id)
                except ProcessLookupError:
                    pass
        return stopped

    def describe(self) -> dict:
        return {"backend": "local", "host": self.host,
                "concurrency": self.p.config.worker.concurrency,
                "idle_timeout": self.p.config.worker.idle_timeout}
