"""Embedded ``Queue`` on SQLite, with SQS semantics (see ``rclaude.ports.Queue``).

A lease is a random receipt plus a ``visible_at`` deadline. ``receive`` takes visible
messages in one ``BEGIN IMMEDIATE`` transaction, so two workers never lease the same
message. Messages delivered ``max_attempts`` times whose lease expires again are moved
to the dead-letter table at the next receive. Waiting receivers are woken by a
doorbell ring on ``send`` and on ``release``, not by polling.

Dead letters are leased like messages (``visible_at`` and ``receipt`` on the dead-letter
table) and deleted by ``ack_dead_letter``. A message that cannot be decoded is moved to
the dead-letter table instead of being leased (``RC-QUEUE-014``); there a malformed one
is deleted (``RC-QUEUE-015``) and one of a newer schema version is left, leased, for a
newer reaper (``RC-QUEUE-016``), as on SQS.
"""

from __future__ import annotations

import os
import time

from rclaude.adapters import poison
from rclaude.adapters.sqlite_db import SqliteDB
from rclaude.doorbell import Doorbells
from rclaude.errors import LeaseLostError, ValidationError
from rclaude.model import Lease, QueueMessage

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_messages (
  id TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  body TEXT NOT NULL,
  visible_at REAL NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  max_receives INTEGER NOT NULL,
  receipt TEXT
);
CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages(queue, visible_at);
CREATE TABLE IF NOT EXISTS queue_dead_letters (
  id TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  body TEXT NOT NULL,
  receive_count INTEGER NOT NULL,
  moved_at REAL NOT NULL,
  visible_at REAL NOT NULL DEFAULT 0,
  receipt TEXT
);
"""

TOPIC = "q"


class SqliteQueue:
    def __init__(self, db: SqliteDB, bells: Doorbells, name: str = "tasks") -> None:
        self.db = db
        self.bells = bells
        self.name = name
        self._newer = poison.NewerDeadLetters()
        db.create_schema(SCHEMA)
        self._add_lease_columns()

    def _add_lease_columns(self) -> None:
        """Dead-letter tables made before dead letters were leased lack two columns."""
        with self.db.write() as c:
            cols = {row[1] for row in c.execute("PRAGMA table_info(queue_dead_letters)")}
            if "visible_at" not in cols:
                c.execute(
                    "ALTER TABLE queue_dead_letters ADD COLUMN visible_at REAL NOT NULL DEFAULT 0"
                )
            if "receipt" not in cols:
                c.execute("ALTER TABLE queue_dead_letters ADD COLUMN receipt TEXT")

    def send(self, message: QueueMessage) -> None:
        self.db.execute_write(
            "INSERT INTO queue_messages(id, queue, body, visible_at, max_receives) VALUES (?,?,?,?,?)",
            (message.id, self.name, message.encode(), time.time(), message.max_attempts),
        )
        self.db.after_commit(lambda: self.bells.ring(TOPIC))

    def receive(
        self, max_messages: int = 1, *, visibility_timeout: float = 30.0, wait_seconds: float = 0.0
    ) -> list[Lease]:
        leases = self._take(max_messages, visibility_timeout)
        if leases or wait_seconds <= 0:
            return leases
        deadline = time.monotonic() + wait_seconds
        with self.bells.listen(TOPIC) as bell:
            while True:
                leases = self._take(max_messages, visibility_timeout)
                left = deadline - time.monotonic()
                if leases or left <= 0:
                    return leases
                # Wake on a ring, or when the earliest in-flight lease expires.
                bell.wait(min(left, self._next_visible_in(), 1.0))

    def _next_visible_in(self) -> float:
        row = (
            self.db.conn()
            .execute("SELECT MIN(visible_at) FROM queue_messages WHERE queue=?", (self.name,))
            .fetchone()
        )
        if row[0] is None:
            return 1.0
        return max(0.005, row[0] - time.time())

    def _take(self, max_messages: int, visibility_timeout: float) -> list[Lease]:
        # Rows moved to the dead letters are not an empty queue (a burst worker would
        # stop): when a pass leased nothing but moved some, look again.
        for _ in range(10):
            out, moved = self._take_once(max_messages, visibility_timeout)
            if out or not moved:
                break
        return out

    def _take_once(self, max_messages: int, visibility_timeout: float) -> tuple[list[Lease], int]:
        now = time.time()
        out: list[Lease] = []
        moved = 0
        with self.db.write() as c:
            rows = c.execute(
                "SELECT id, body, receive_count, max_receives FROM queue_messages "
                "WHERE queue=? AND visible_at<=? ORDER BY visible_at, rowid LIMIT ?",
                (self.name, now, max_messages * 4),
            ).fetchall()
            for mid, body, count, max_receives in rows:
                if count >= max_receives:
                    self._dead_letter(c, mid, body, count, now)
                    moved += 1
                    continue
                if len(out) >= max_messages:
                    break
                try:
                    message = QueueMessage.decode(body)
                except ValidationError as exc:
                    self._dead_letter(c, mid, body, count, now)
                    moved += 1
                    poison.set_aside(
                        f"queue message {mid} in {self.db.path}",
                        exc,
                        body,
                        "moved it to the dead letters",
                        "only rclaude should write to this database",
                    )
                    continue
                receipt = os.urandom(12).hex()
                deadline = now + visibility_timeout
                c.execute(
                    "UPDATE queue_messages SET receive_count=receive_count+1, visible_at=?, receipt=? "
                    "WHERE id=?",
                    (deadline, receipt, mid),
                )
                out.append(Lease(message, receipt, count + 1, deadline))
        return out, moved

    def _dead_letter(self, c, mid: str, body: str, count: int, now: float) -> None:
        c.execute("DELETE FROM queue_messages WHERE id=?", (mid,))
        c.execute(
            "INSERT OR REPLACE INTO queue_dead_letters(id, queue, body, receive_count, moved_at)"
            " VALUES (?,?,?,?,?)",
            (mid, self.name, body, count, now),
        )

    def extend(self, lease: Lease, visibility_timeout: float) -> Lease:
        deadline = time.time() + visibility_timeout
        cur = self.db.execute_write(
            "UPDATE queue_messages SET visible_at=? WHERE id=? AND receipt=?",
            (deadline, lease.message.id, lease.receipt),
        )
        if cur.rowcount != 1:
            raise LeaseLostError(f"lease on message {lease.message.id} is no longer held")
        return Lease(lease.message, lease.receipt, lease.receive_count, deadline)

    def ack(self, lease: Lease) -> None:
        cur = self.db.execute_write(
            "DELETE FROM queue_messages WHERE id=? AND receipt=?", (lease.message.id, lease.receipt)
        )
        if cur.rowcount != 1:
            raise LeaseLostError(f"lease on message {lease.message.id} is no longer held")

    def release(self, lease: Lease) -> None:
        self.db.execute_write(
            "UPDATE queue_messages SET visible_at=?, receipt=NULL WHERE id=? AND receipt=?",
            (time.time(), lease.message.id, lease.receipt),
        )
        self.db.after_commit(lambda: self.bells.ring(TOPIC))

    def depth(self) -> int:
        return (
            self.db.conn()
            .execute("SELECT COUNT(*) FROM queue_messages WHERE queue=?", (self.name,))
            .fetchone()[0]
        )

    def receive_dead_letters(
        self, max_messages: int = 10, *, visibility_timeout: float = 60.0
    ) -> list[Lease]:
        now = time.time()
        deadline = now + visibility_timeout
        out: list[Lease] = []
        with self.db.write() as c:
            rows = c.execute(
                "SELECT id, body, receive_count FROM queue_dead_letters "
                "WHERE queue=? AND visible_at<=? ORDER BY moved_at, rowid LIMIT ?",
                (self.name, now, max(1, max_messages) * 4),
            ).fetchall()
            for mid, body, count in rows:
                if len(out) >= max_messages:
                    break
                try:
                    message = QueueMessage.decode(body)
                except ValidationError as exc:
                    self._undecodable_dead_letter(c, mid, body, exc, deadline)
                    continue
                receipt = os.urandom(12).hex()
                c.execute(
                    "UPDATE queue_dead_letters SET visible_at=?, receipt=? WHERE id=?",
                    (deadline, receipt, mid),
                )
                out.append(Lease(message, receipt, count, deadline))
        return out

    def _undecodable_dead_letter(self, c, mid, body, exc: ValidationError, deadline) -> None:
        where = f"dead letter {mid} in {self.db.path}"
        if exc.code == "RC-QUEUE-004":  # a newer rclaude can reap it: leave it leased
            c.execute("UPDATE queue_dead_letters SET visible_at=? WHERE id=?", (deadline, mid))
            self._newer.report(
                mid, where, exc, body, "upgrade rclaude everywhere this database is used"
            )
            return
        c.execute("DELETE FROM queue_dead_letters WHERE id=?", (mid,))
        poison.dropped(
            where,
            exc,
            body,
            "deleted it (no reaper can ever read it)",
            "only rclaude should write to this database",
        )

    def ack_dead_letter(self, lease: Lease) -> None:
        cur = self.db.execute_write(
            "DELETE FROM queue_dead_letters WHERE id=? AND receipt=?",
            (lease.message.id, lease.receipt),
        )
        if cur.rowcount != 1:
            raise LeaseLostError(f"lease on dead letter {lease.message.id} is no longer held")

    def dead_letters(self, limit: int = 100) -> list[QueueMessage]:
        rows = (
            self.db.conn()
            .execute(
                "SELECT body FROM queue_dead_letters WHERE queue=? ORDER BY moved_at LIMIT ?",
                (self.name, limit),
            )
            .fetchall()
        )
        out = []
        for (body,) in rows:
            try:
                out.append(QueueMessage.decode(body))
            except ValidationError:
                continue  # a peek changes nothing: the reaper reports and removes it
        return out

    def close(self) -> None:
        pass
