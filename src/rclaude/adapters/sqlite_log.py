"""Embedded ``OutputLog`` on SQLite (see ``rclaude.ports.OutputLog``).

Chunks are rows keyed by (task, attempt, seq). A small ``output_heads`` row per attempt
holds the last seq and whether the FINAL chunk was written, so an append is O(1) and
nothing can be appended after FINAL. Followers sleep on the task's doorbell topic and
wake as soon as a chunk lands.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from rclaude.adapters.sqlite_db import SqliteDB
from rclaude.doorbell import Doorbells
from rclaude.errors import ConflictError
from rclaude.model import Chunk, ChunkKind, InputEvent, InputKind

SCHEMA = """
CREATE TABLE IF NOT EXISTS output_heads (
  task_id TEXT NOT NULL, attempt INTEGER NOT NULL,
  last_seq INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (task_id, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS output_chunks (
  task_id TEXT NOT NULL, attempt INTEGER NOT NULL, seq INTEGER NOT NULL,
  kind TEXT NOT NULL, data BLOB NOT NULL, ts REAL NOT NULL,
  PRIMARY KEY (task_id, attempt, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS input_events (
  task_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
  data BLOB NOT NULL, cols INTEGER NOT NULL, rows INTEGER NOT NULL,
  PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;
"""

#: Upper bound on one chunk; writers split larger payloads.
MAX_CHUNK = 1024 * 1024


def out_topic(task_id: str) -> str:
    return f"o.{task_id}"


def in_topic(task_id: str) -> str:
    return f"i.{task_id}"


class SqliteOutputLog:
    def __init__(self, db: SqliteDB, bells: Doorbells) -> None:
        self.db = db
        self.bells = bells
        db.create_schema(SCHEMA)

    # -- output ---------------------------------------------------------------
    def append(self, task_id: str, attempt: int, data: bytes, kind: str = "out") -> int:
        seq = 0
        for start in range(0, max(len(data), 1), MAX_CHUNK):
            seq = self._append_one(task_id, attempt, data[start : start + MAX_CHUNK], kind)
        self.db.after_commit(lambda: self.bells.ring(out_topic(task_id)))
        return seq

    def _append_one(self, task_id: str, attempt: int, data: bytes, kind: str) -> int:
        final = int(kind == ChunkKind.FINAL.value)
        with self.db.write() as c:
            # One statement: create the head at seq 1, or bump it unless it is closed.
            row = c.execute(
                "INSERT INTO output_heads(task_id, attempt, last_seq, closed) VALUES (?,?,1,?) "
                "ON CONFLICT(task_id, attempt) DO UPDATE SET last_seq = last_seq + 1, "
                "closed = excluded.closed WHERE closed = 0 RETURNING last_seq",
                (task_id, attempt, final),
            ).fetchone()
            if row is None:
                raise ConflictError(
                    f"output log of task {task_id} attempt {attempt} is closed",
                    code="RC-LOG-001",
                )
            c.execute(
                "INSERT INTO output_chunks(task_id, attempt, seq, kind, data, ts) VALUES (?,?,?,?,?,?)",
                (task_id, attempt, row[0], kind, data, time.time()),
            )
        return row[0]

    def close(self, task_id: str, attempt: int, final: dict[str, Any]) -> int:
        return self.append(task_id, attempt, json.dumps(final).encode(), kind=ChunkKind.FINAL.value)

    def read(
        self, task_id: str, attempt: int, after_seq: int = 0, limit: int = 1000
    ) -> list[Chunk]:
        rows = (
            self.db.conn()
            .execute(
                "SELECT seq, kind, data, ts FROM output_chunks WHERE task_id=? AND attempt=? AND seq>? "
                "ORDER BY seq LIMIT ?",
                (task_id, attempt, after_seq, limit),
            )
            .fetchall()
        )
        return [Chunk(seq, ChunkKind(kind), bytes(data), ts) for seq, kind, data, ts in rows]

    def _last_seq(self, task_id: str, attempt: int) -> int:
        row = (
            self.db.conn()
            .execute(
                "SELECT last_seq FROM output_heads WHERE task_id=? AND attempt=?",
                (task_id, attempt),
            )
            .fetchone()
        )
        return row[0] if row else 0

    def wait(self, task_id: str, attempt: int, after_seq: int, timeout: float) -> bool:
        if self._last_seq(task_id, attempt) > after_seq:
            return True
        deadline = time.monotonic() + timeout
        with self.bells.listen(out_topic(task_id)) as bell:
            while True:
                if self._last_seq(task_id, attempt) > after_seq:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                bell.wait(min(left, 1.0))

    def follow(
        self, task_id: str, attempt: int, after_seq: int = 0, idle_timeout: float | None = None
    ) -> Iterator[Chunk]:
        with self.bells.listen(out_topic(task_id)) as bell:
            idle_since = time.monotonic()
            while True:
                chunks = self.read(task_id, attempt, after_seq)
                for ch in chunks:
                    yield ch
                    after_seq = ch.seq
                    if ch.kind is ChunkKind.FINAL:
                        return
                if chunks:
                    idle_since = time.monotonic()
                    continue
                wait = 1.0
                if idle_timeout is not None:
                    left = idle_timeout - (time.monotonic() - idle_since)
                    if left <= 0:
                        return
                    wait = min(wait, left)
                bell.wait(wait)

    def attempts(self, task_id: str) -> list[int]:
        rows = (
            self.db.conn()
            .execute(
                "SELECT attempt FROM output_heads WHERE task_id=? ORDER BY attempt", (task_id,)
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    # -- input ----------------------------------------------------------------
    def send_input(
        self, task_id: str, kind: InputKind, data: bytes = b"", cols: int = 0, rows: int = 0
    ) -> int:
        with self.db.write() as c:
            (seq,) = c.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM input_events WHERE task_id=?", (task_id,)
            ).fetchone()
            c.execute(
                "INSERT INTO input_events(task_id, seq, kind, data, cols, rows) VALUES (?,?,?,?,?,?)",
                (task_id, seq, InputKind(kind).value, data, cols, rows),
            )
        self.db.after_commit(lambda: self.bells.ring(in_topic(task_id)))
        return seq

    def read_input(self, task_id: str, after_seq: int = 0, limit: int = 1000) -> list[InputEvent]:
        rows = (
            self.db.conn()
            .execute(
                "SELECT seq, kind, data, cols, rows FROM input_events WHERE task_id=? AND seq>? "
                "ORDER BY seq LIMIT ?",
                (task_id, after_seq, limit),
            )
            .fetchall()
        )
        return [InputEvent(s, InputKind(k), bytes(d), c, r) for s, k, d, c, r in rows]

    def last_input_seq(self, task_id: str) -> int:
        return (
            self.db.conn()
            .execute("SELECT COALESCE(MAX(seq), 0) FROM input_events WHERE task_id=?", (task_id,))
            .fetchone()[0]
        )

    def wait_input(self, task_id: str, after_seq: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.bells.listen(in_topic(task_id)) as bell:
            while True:
                if self.last_input_seq(task_id) > after_seq:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                bell.wait(min(left, 1.0))

    def input_listener(self, task_id: str):
        """A doorbell listener for this task's input (the worker selects on it)."""
        return self.bells.listen(in_topic(task_id))

    def delete(self, task_id: str) -> None:
        with self.db.write() as c:
            for table in ("output_chunks", "output_heads", "input_events"):
                c.execute(f"DELETE FROM {table} WHERE task_id=?", (task_id,))

    def close_log(self) -> None:
        pass
