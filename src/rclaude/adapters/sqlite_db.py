"""Raw sqlite3 access shared by the embedded queue and output log.

One database file for the whole embedded platform, opened in WAL mode with a busy
timeout so several processes (CLI, workers, orchestrator, server) can use it at once.
Connections are per thread (sqlite3 objects are not thread-safe); writes run in
``BEGIN IMMEDIATE`` transactions so concurrent writers queue up instead of failing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rclaude.errors import BackendError

BUSY_TIMEOUT_MS = 30_000

#: Set once this process has opened any SQLite database. A process that has must never
#: fork a child that uses SQLite: SQLite's per-process lock bookkeeping would be copied
#: into the child without the locks themselves (see compute/local.py).
opened = False


def mark_opened() -> None:
    global opened
    opened = True


class SqliteDB:
    def __init__(self, path: str | Path, schema: str) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        from rclaude.adapters.writelock import for_database

        self.write_lock = for_database(self.path)
        conn = self.conn()
        conn.executescript(schema)

    def conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None:
            try:
                c = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error as exc:
                raise BackendError(
                    f"cannot open database {self.path}: {exc}", code="RC-DB-001"
                ) from None
            mark_opened()
            c.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = c
            with self._lock:
                self._all.append(c)
        return c

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error),
        queued behind other writers by the file's write lock (see ``writelock``)."""
        c = self.conn()
        with self.write_lock:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def execute_write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """One statement in its own transaction, behind the write lock."""
        with self.write_lock:
            return self.conn().execute(sql, params)

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
