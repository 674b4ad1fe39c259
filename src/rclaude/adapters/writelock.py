"""One writer at a time per SQLite file, across threads and processes, without sleeping.

SQLite's busy handler retries a locked database by *sleeping* (1, 2, 5, 10 … ms), so
writers in several processes (CLI, workers, server) lose milliseconds to each other
even when every transaction is short. Taking an ``flock`` on ``<db>.lock`` before
``BEGIN IMMEDIATE`` queues writers in the kernel instead: the next one wakes the moment
the lock is released. A re-entrant thread lock covers threads of one process (flock is
per open file, so it alone would not). Readers are unaffected (WAL).
"""

from __future__ import annotations

import fcntl
import os
import threading

_locks: dict[str, WriteLock] = {}
_guard = threading.Lock()


class WriteLock:
    def __init__(self, db_path: str) -> None:
        self._fd = os.open(db_path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._thread_lock = threading.RLock()
        self._depth = 0

    def acquire(self) -> None:
        self._thread_lock.acquire()
        if self._depth == 0:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread_lock.release()
                raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def for_database(db_path: str) -> WriteLock:
    """The process-wide write lock of one database file."""
    key = os.path.realpath(db_path)
    with _guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = WriteLock(key)
        return lock
