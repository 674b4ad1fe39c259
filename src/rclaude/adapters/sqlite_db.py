"""Raw sqlite3 access shared by the embedded queue and output log.

One database file for the whole embedded platform, opened in WAL mode with a busy
timeout so several processes (CLI, workers, orchestrator, server) can use it at once.
Connections are per thread (sqlite3 objects are not thread-safe); writes run in
``BEGIN IMMEDIATE`` transactions so concurrent writers queue up instead of failing.

When the task store lives in the same file, its SQLAlchemy engine hands this class the
thread's connection (``connect=``), so one transaction can span the queue, the log and
the task store (``Platform.atomic``). A ``write`` inside an open transaction joins it,
and doorbell rings registered with ``after_commit`` wait until that transaction commits:
a woken reader must find the rows that woke it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
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


# -- work that must wait for the enclosing transaction's commit -----------------------
_pending = threading.local()


def after_commit(conn: sqlite3.Connection, fn: Callable[[], None]) -> None:
    """Run ``fn`` once ``conn``'s open transaction commits (now, if none is open);
    dropped if it rolls back."""
    if not conn.in_transaction:
        fn()
        return
    queued = getattr(_pending, "by_conn", None)
    if queued is None:
        queued = _pending.by_conn = {}
    queued.setdefault(id(conn), []).append(fn)


def committed(conn: sqlite3.Connection) -> None:
    """The owner of ``conn``'s transaction committed it: run what was waiting."""
    queued = getattr(_pending, "by_conn", None)
    for fn in queued.pop(id(conn), ()) if queued else ():
        fn()


def rolled_back(conn: sqlite3.Connection) -> None:
    queued = getattr(_pending, "by_conn", None)
    if queued:
        queued.pop(id(conn), None)


class SqliteDB:
    def __init__(
        self,
        path: str | Path,
        schema: str,
        *,
        connect: Callable[[], sqlite3.Connection] | None = None,
    ) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._connect = connect  # the owner of these connections opens and closes them
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        from rclaude.adapters.writelock import for_database

        self.write_lock = for_database(self.path)
        self.create_schema(schema)

    def create_schema(self, script: str) -> None:
        """Run DDL. Never inside an open transaction: ``executescript`` would commit it
        half-way (create adapters before ``Platform.atomic``, not inside it)."""
        if not script:
            return
        conn = self.conn()
        if conn.in_transaction:
            raise RuntimeError("schema creation inside an open transaction would commit it")
        conn.executescript(script)

    def conn(self) -> sqlite3.Connection:
        if self._connect is not None:
            return self._connect()
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
        queued behind other writers by the file's write lock (see ``writelock``).
        Inside an open transaction of this thread's connection it joins that one."""
        c = self.conn()
        if c.in_transaction:  # the enclosing unit of work commits or rolls back
            with self.write_lock:
                yield c
            return
        with self.write_lock:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                rolled_back(c)
                raise
            c.execute("COMMIT")
        committed(c)

    def after_commit(self, fn: Callable[[], None]) -> None:
        after_commit(self.conn(), fn)

    def execute_write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """One statement in its own transaction, behind the write lock."""
        with self.write_lock:
            return self.conn().execute(sql, params)

    def close(self) -> None:
        if self._connect is not None:
            return
        with self._lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
