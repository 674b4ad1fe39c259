"""The ``local`` compute backend: detached ``rclaude worker`` processes on this machine.

The worker registry in the TaskStore is the list; a process that no longer exists is
dropped from it. ``stop`` sends SIGTERM to idle workers only, and a worker that got a
task meanwhile drains it before exiting.

Starting a worker fast: a new interpreter spends ~300 ms importing before it can take
a task. So ``rclaude run`` calls :meth:`LocalCompute.prefork` *before* it opens any
database: that forks a standby child which already has the modules loaded but no
database handles (SQLite state must never cross a fork: the child would inherit the
parent's lock bookkeeping without the locks, and a closing parent could then delete the
live WAL). If the orchestrator then decides to launch, the standby is told to become
the worker (it opens its own connections); otherwise it exits when the parent does.
Without a standby (the server, other threads running, ``worker.fork: false``) a worker
is started with ``python -m rclaude.worker``.
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
        self._standby: tuple[int, int] | None = None  # (pid, pipe to hand it a worker id)

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
            log_path = logs / f"{wid}.log"
            pid = self._take_standby(wid, log_path) or self._exec_worker(wid, log_path, env)
            info = WorkerInfo(
                id=wid,
                backend="local",
                state="starting",
                slots=cfg.worker.concurrency,
                host=self.host,
                pid=pid,
                started_at=time.time(),
                heartbeat_at=time.time(),
            )
            self.p.tasks.register_worker(info)
            started.append(info)
        return started

    def _exec_worker(self, wid: str, log_path, env: dict[str, str]) -> int:
        cfg = self.p.config
        argv = [
            sys.executable,
            "-m",
            "rclaude.worker",
            "--worker-id",
            wid,
            "--idle-timeout",
            str(cfg.worker.idle_timeout),
            "--concurrency",
            str(cfg.worker.concurrency),
        ]
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                close_fds=True,
            )
        self._children[proc.pid] = proc
        return proc.pid

    def prefork(self) -> bool:
        """Fork a standby worker now, while this process holds no database handle.

        Returns True if a standby exists. It waits for :meth:`launch` to hand it a worker
        id, and exits as soon as this process closes the pipe (or exits) without one.
        """
        import threading

        from rclaude.adapters import sqlite_db

        if self._standby is not None:
            return True
        if (
            not self.p.config.worker.fork
            or not hasattr(os, "fork")
            or sqlite_db.opened
            or threading.active_count() != 1
        ):
            return False
        # Load what the worker needs first, so the standby starts with it in memory.
        import rclaude.adapters.sql_store
        import rclaude.adapters.sqlite_log
        import rclaude.adapters.sqlite_queue
        import rclaude.worker.loop  # noqa: F401

        go_r, go_w = os.pipe()
        pid_r, pid_w = os.pipe()
        first = os.fork()
        if first == 0:  # intermediate child: detach from the session, then leave
            try:
                os.close(go_w)
                os.close(pid_r)
                os.setsid()
                pid = os.fork()
                if pid == 0:
                    os.close(pid_w)
                    self._standby_child(go_r)  # never returns
                os.write(pid_w, str(pid).encode())
            finally:
                os._exit(0)
        os.close(go_r)
        os.close(pid_w)
        data = b""
        while chunk := os.read(pid_r, 32):
            data += chunk
        os.close(pid_r)
        os.waitpid(first, 0)
        if not data:
            os.close(go_w)
            return False
        self._standby = (int(data), go_w)
        return True

    def _take_standby(self, wid: str, logfile) -> int | None:
        if self._standby is None:
            return None
        pid, go_w = self._standby
        self._standby = None
        try:
            os.write(go_w, f"{wid}\n{logfile}\n".encode())
        except OSError:
            return None
        finally:
            os.close(go_w)
        return pid

    def _standby_child(self, go_r: int) -> None:
        data = b""
        try:
            while chunk := os.read(go_r, 4096):
                data += chunk
        except OSError:
            pass
        parts = data.decode().split("\n")
        if len(parts) < 2 or not parts[0]:
            os._exit(0)  # not needed
        self._worker_child(parts[0], parts[1])

    def _worker_child(self, wid: str, logfile) -> None:
        code = 1
        try:
            fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            import logging
            import signal as _signal

            for sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGWINCH, _signal.SIGPIPE):
                _signal.signal(sig, _signal.SIG_DFL)
            logging.basicConfig(
                level="INFO",
                stream=sys.stderr,
                force=True,
                format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            )
            os.environ["RCLAUDE_WORKER_BACKEND"] = "local"
            from rclaude.platform import Platform
            from rclaude.worker.loop import Worker

            cfg = self.p.config
            platform = Platform(cfg)  # fresh connections: the parent's are never used here
            code = Worker(
                platform,
                worker_id=wid,
                idle_timeout=cfg.worker.idle_timeout,
                concurrency=cfg.worker.concurrency,
            ).run()
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

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
        return {
            "backend": "local",
            "host": self.host,
            "concurrency": self.p.config.worker.concurrency,
            "idle_timeout": self.p.config.worker.idle_timeout,
        }
