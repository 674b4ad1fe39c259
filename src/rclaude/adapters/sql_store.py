"""``TaskStore`` on SQLAlchemy Core: SQLite (embedded) and PostgreSQL (production).

On SQLite the engine runs in WAL mode with a busy timeout, and write transactions
start with ``BEGIN IMMEDIATE`` so concurrent processes queue for the write lock
instead of failing with "database is locked" on a read-to-write upgrade. Each thread
keeps one writing connection (no pool checkout per transaction); the embedded queue and
log borrow it (``driver_connection``), so ``atomic`` can make their writes and the task
store's one transaction.

While the database is unreachable (a PostgreSQL restart, an RDS reboot or Multi-AZ
failover: one to two minutes), every operation is retried with backoff for up to
``sql_retry.RETRY_FOR`` seconds, then fails with ``RC-DB-003``. Only connection failures
are retried (``sql_retry.is_transient``), never constraint violations or bugs. Each try is one
whole transaction, and a write whose commit may have landed though its acknowledgement
was lost is re-checked on the next try instead of being applied twice: an insert that
finds its row, or a compare-and-set that finds the values it was setting, counts as
done. PostgreSQL and SQLite share the path; SQLite's errors are never transient (a
locked file waits in ``busy_timeout``).
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

from rclaude.adapters import sql_schema as S
from rclaude.adapters.sql_retry import Retrying, detail
from rclaude.errors import BackendError, ConflictError, NotFoundError
from rclaude.model import Attempt, Task, TaskSpec, TaskState, WorkerInfo

_JSON_FIELDS = ("result",)

#: Seconds a PostgreSQL connection attempt may take (libpq waits forever by default, and
#: a failover can leave the old address silently dropping packets). A ``connect_timeout``
#: in the URL wins.
CONNECT_TIMEOUT = 10


def driver_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def make_engine(url: str):
    from sqlalchemy import create_engine, event

    url = driver_url(url)

    if url.startswith("sqlite"):
        # Unbounded pool: every thread keeps its writing connection (see SqlTaskStore).
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=0,
            max_overflow=-1,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            from rclaude.adapters.sqlite_db import mark_opened

            mark_opened()
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            # Reads take no write lock (WAL readers never block); writes queue for it.
            readonly = conn.get_execution_options().get("readonly", False)
            # Straight to the driver: a statement through SQLAlchemy costs more than
            # the BEGIN itself, inside the write lock.
            conn.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    connect_args = {}
    if "connect_timeout" not in url:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args
    )


class _Writer:
    """Holds a thread's writing connection; its finalizer closes it with the thread."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn) -> None:
        self.conn = conn


def _row_to_task(row) -> Task:
    m = row._mapping
    return Task(
        id=m["id"],
        spec=TaskSpec.from_dict(json.loads(m["spec"])),
        state=TaskState(m["state"]),
        attempt=m["attempt"],
        owner=m["owner"],
        exit_code=m["exit_code"],
        signal=m["signal"],
        reason=m["reason"],
        worker_id=m["worker_id"],
        created_at=m["created_at"],
        queued_at=m["queued_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        cancel_requested=bool(m["cancel_requested"]),
        result=json.loads(m["result"]) if m["result"] else None,
    )


def _task_not_found(ref: str) -> NotFoundError:
    return NotFoundError(
        f"no task named or with id '{ref}'",
        code="RC-TASK-001",
        hint="run `rclaude list` to see tasks",
    )


def _encode(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "state" in out and isinstance(out["state"], TaskState):
        out["state"] = out["state"].value
    for f in _JSON_FIELDS:
        if f in out and out[f] is not None:
            out[f] = json.dumps(out[f])
    if "spec" in out:
        out["spec"] = json.dumps(out["spec"].to_dict())
    return out


def _holds(row, values: dict[str, Any]) -> bool:
    """True if ``row`` already holds the encoded ``values``: a retried compare-and-set
    whose earlier try committed (or someone set the same values)."""
    m = row._mapping
    return all(m[k] == v for k, v in values.items())


class SqlTaskStore:
    def __init__(self, url: str, *, create: bool = True) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        self.url = url
        password: str | None = None
        try:
            self.engine = make_engine(url)
            password = self.engine.url.password
            self._retrying = Retrying(
                self.engine.url.render_as_string(hide_password=True), password
            )
            if create:  # a worker may open its store in the middle of an outage
                self._retrying(
                    lambda _retried: S.metadata.create_all(self.engine),
                    "create the tables of the task database",
                )
        except SQLAlchemyError as exc:
            raise BackendError(
                f"cannot open task database: {detail(exc, password)}",
                code="RC-DB-001",
                hint="check the 'database' setting and that the server is reachable",
            ) from None
        self._stmts: dict = {}
        self._write_lock = None
        self._local = threading.local()
        self._writers: list[weakref.finalize] = []
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (
            None,
            "",
            ":memory:",
        ):
            from rclaude.adapters.writelock import for_database

            self._write_lock = for_database(self.engine.url.database)
        self._prepare()

    def _prepare(self) -> None:
        from sqlalchemy import bindparam

        t, a = S.tasks, S.attempts
        self._get_stmt = t.select().where(t.c.id == bindparam("_id"))
        self._insert_task_stmt = t.insert()
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        ins = insert(a)
        self._upsert_attempt_stmt = ins.on_conflict_do_update(
            index_elements=[a.c.task_id, a.c.number],
            set_={
                c: ins.excluded[c]
                for c in (
                    "state",
                    "worker_id",
                    "started_at",
                    "finished_at",
                    "exit_code",
                    "signal",
                    "reason",
                )
            },
        )

    def _tx(self):
        if self._write_lock is None:
            return self.engine.begin()
        return self._locked_tx()

    def _writer(self):
        """This thread's writing connection (SQLite), opened on first use and closed
        when the thread goes away or the store closes."""
        holder = getattr(self._local, "writer", None)
        if holder is None:
            holder = _Writer(self.engine.connect())
            self._local.writer = holder
            # Threads come and go (a server's pool): forget the finalizers that ran.
            self._writers = [f for f in self._writers if f.alive]
            self._writers.append(weakref.finalize(holder, holder.conn.close))
        return holder.conn

    def driver_connection(self):
        """The sqlite3 connection under this thread's writer, for the embedded queue
        and log in the same file (``SqliteDB(connect=...)``)."""
        return self._writer().connection.driver_connection

    @contextmanager
    def _locked_tx(self):
        # SQLite: queue behind other writers in the kernel, not in SQLite's sleeping
        # busy handler (see adapters/writelock.py).
        from rclaude.adapters import sqlite_db

        c = self._writer()
        raw = c.connection.driver_connection
        if raw.in_transaction:  # inside atomic(): the outermost block commits
            if not c.in_transaction():
                raise RuntimeError("task-store writes can join only a transaction of atomic()")
            with self._write_lock:
                yield c
            return
        with self._write_lock:
            try:
                with c.begin():
                    yield c
            except BaseException:
                sqlite_db.rolled_back(raw)
                raise
        sqlite_db.committed(raw)

    @contextmanager
    def atomic(self):
        """One transaction for every write of this thread inside the block, including
        the embedded queue's and log's when they share the connection; on other
        databases, each write commits on its own."""
        if self._write_lock is None:
            yield
            return
        with self._locked_tx():
            yield

    def _read(self):
        return self.engine.connect().execution_options(readonly=True)

    def create(self, task: Task) -> Task:
        row = _encode(task.to_dict() | {"spec": task.spec})
        row["name"] = task.spec.name
        values = {col.name: row[col.name] for col in S.tasks.c if col.name in row}

        def insert(retried: bool) -> None:
            with self._tx() as c:
                # After a lost commit acknowledgement the row is there (ids are random).
                if retried and c.execute(self._get_stmt, {"_id": task.id}).first() is not None:
                    return
                c.execute(self._insert_task_stmt, values)

        self._retrying(insert, "create task %s", task.id)
        return task

    def get(self, task_id: str) -> Task:
        def read(_retried: bool):
            with self._read() as c:
                return c.execute(self._get_stmt, {"_id": task_id}).first()

        row = self._retrying(read, "read task %s", task_id)
        if row is None:
            raise _task_not_found(task_id)
        return _row_to_task(row)

    def resolve(self, ref: str, owner: str | None = None) -> Task:
        row = self._retrying(lambda _retried: self._resolve(ref, owner), "look up task %s", ref)
        if row is None:
            raise _task_not_found(ref)
        return _row_to_task(row)

    def _resolve(self, ref: str, owner: str | None):
        from sqlalchemy import select

        t = S.tasks
        with self._read() as c:
            q = select(t).where(t.c.id == ref)
            if owner is not None:
                q = q.where(t.c.owner == owner)
            row = c.execute(q).first()
            if row is None:
                q = select(t).where(t.c.name == ref).order_by(t.c.created_at.desc()).limit(1)
                if owner is not None:
                    q = q.where(t.c.owner == owner)
                row = c.execute(q).first()
            if row is None and len(ref) >= 4:
                q = (
                    select(t)
                    .where(t.c.id.like(ref.replace("%", "").replace("_", "") + "%"))
                    .limit(2)
                )
                if owner is not None:
                    q = q.where(t.c.owner == owner)
                rows = c.execute(q).all()
                if len(rows) > 1:
                    raise ConflictError(
                        f"task id prefix '{ref}' is ambiguous",
                        code="RC-TASK-002",
                        hint="give more characters of the id",
                    )
                row = rows[0] if rows else None
        return row

    def _update_stmt(
        self, names: tuple[str, ...], states: tuple[str, ...] | None, returning: bool = True
    ):
        """A prebuilt UPDATE … RETURNING for these columns and expected states, kept
        for reuse: the state sets are few and fixed, so they are part of the statement
        (an expanding IN parameter would be re-rendered on every call)."""
        from sqlalchemy import bindparam, literal, or_

        key = (names, states, returning)
        stmt = self._stmts.get(key)
        if stmt is None:
            t = S.tasks
            stmt = t.update().where(t.c.id == bindparam("_id"))
            if states is not None:
                stmt = stmt.where(or_(*(t.c.state == literal(v) for v in states)))
            stmt = stmt.values({n: bindparam(n) for n in names})
            if returning:
                stmt = stmt.returning(*t.c)
            self._stmts[key] = stmt
        return stmt

    def update(
        self, task_id: str, *, expect_states: Iterable[TaskState] | None = None, **fields: Any
    ) -> Task | None:
        def write(retried: bool):
            with self._tx() as c:
                return self._update(c, task_id, expect_states, fields, retried)

        row = self._retrying(write, "update task %s", task_id)
        return None if row is None else _row_to_task(row)  # decoded outside the lock

    def _execute_update(self, c, task_id, expect_states, fields, *, returning: bool):
        values = _encode(fields)
        names = tuple(sorted(values))
        states = None if expect_states is None else tuple(sorted(s.value for s in expect_states))
        stmt = self._update_stmt(names, states, returning=returning)
        return c.execute(stmt, dict(values, _id=task_id))

    def _update(self, c, task_id, expect_states, fields, retried: bool):
        row = self._execute_update(c, task_id, expect_states, fields, returning=True).first()
        if row is None:
            current = c.execute(self._get_stmt, {"_id": task_id}).first()
            if current is None:
                raise _task_not_found(task_id)
            if retried and _holds(current, _encode(fields)):
                return current  # the earlier try committed: the state moved on by our hand
        return row

    def finish(
        self,
        task_id: str,
        attempt: Attempt,
        *,
        expect_states: Iterable[TaskState] | None = None,
        **fields: Any,
    ) -> bool:
        """``update`` and ``upsert_attempt`` in one transaction (the worker's last write);
        True if the task was in an expected state and was updated."""

        def write(retried: bool) -> bool:
            with self._tx() as c:
                res = self._execute_update(c, task_id, expect_states, fields, returning=False)
                done = res.rowcount == 1
                if not done and retried:  # the earlier try may have committed
                    current = c.execute(self._get_stmt, {"_id": task_id}).first()
                    done = current is not None and _holds(current, _encode(fields))
                self._upsert_attempt(c, attempt)
            return done

        return self._retrying(write, "record the end of task %s", task_id)

    def list(
        self,
        *,
        owner: str | None = None,
        states: Iterable[TaskState] | None = None,
        limit: int = 100,
    ) -> list[Task]:
        t = S.tasks
        q = t.select().order_by(t.c.created_at.desc()).limit(limit)
        if owner is not None:
            q = q.where(t.c.owner == owner)
        if states is not None:
            q = q.where(t.c.state.in_([s.value for s in states]))

        def read(_retried: bool):
            with self._read() as c:
                return c.execute(q).all()

        return [_row_to_task(r) for r in self._retrying(read, "list tasks")]

    def upsert_attempt(self, attempt: Attempt) -> None:
        def write(_retried: bool) -> None:  # an upsert: applying it twice is harmless
            with self._tx() as c:
                self._upsert_attempt(c, attempt)

        self._retrying(write, "record attempt %s of task %s", attempt.number, attempt.task_id)

    def _upsert_attempt(self, c, attempt: Attempt) -> None:
        values = {f: getattr(attempt, f) for f in Attempt.__dataclass_fields__}
        values["state"] = attempt.state.value
        c.execute(self._upsert_attempt_stmt, values)

    def attempts(self, task_id: str) -> list[Attempt]:
        a = S.attempts
        q = a.select().where(a.c.task_id == task_id).order_by(a.c.number)

        def read(_retried: bool):
            with self._read() as c:
                return c.execute(q).all()

        rows = self._retrying(read, "read the attempts of task %s", task_id)
        # The table's columns are the dataclass's fields.
        return [Attempt(**{**r._mapping, "state": TaskState(r.state)}) for r in rows]

    def register_worker(self, info: WorkerInfo) -> None:
        w = S.workers
        values = {f: getattr(info, f) for f in WorkerInfo.__dataclass_fields__}
        values["started_at"] = info.started_at or time.time()
        values["heartbeat_at"] = info.heartbeat_at or time.time()
        values["details"] = json.dumps(info.details)

        def write(_retried: bool) -> None:  # update-or-insert: a retry finds the row
            with self._tx() as c:
                res = c.execute(w.update().where(w.c.id == info.id).values(**values))
                if res.rowcount == 0:
                    c.execute(w.insert().values(**values))

        self._retrying(write, "register worker %s", info.id)

    def heartbeat_worker(self, worker_id: str, *, state: str, busy: int) -> None:
        """One try, no retry: the caller beats again soon, and its heartbeat thread
        also extends queue leases, which must not wait for the database."""
        w = S.workers

        def write(_retried: bool) -> None:
            with self._tx() as c:
                c.execute(
                    w.update()
                    .where(w.c.id == worker_id)
                    .values(state=state, busy=busy, heartbeat_at=time.time())
                )

        self._retrying(write, "record a heartbeat of worker %s", worker_id, retry=False)

    def workers(self, backend: str | None = None) -> list[WorkerInfo]:
        w = S.workers
        q = w.select().order_by(w.c.started_at)
        if backend is not None:
            q = q.where(w.c.backend == backend)

        def read(_retried: bool):
            with self._read() as c:
                return c.execute(q).all()

        rows = self._retrying(read, "list workers")
        return [
            WorkerInfo(**{**r._mapping, "details": json.loads(r.details) if r.details else {}})
            for r in rows
        ]

    def remove_worker(self, worker_id: str) -> None:
        w = S.workers

        def write(_retried: bool) -> None:
            with self._tx() as c:
                c.execute(w.delete().where(w.c.id == worker_id))

        self._retrying(write, "remove worker %s", worker_id)

    def close(self) -> None:
        for fin in self._writers:
            fin()
        self._writers.clear()
        self._local = threading.local()
        self.engine.dispose()
