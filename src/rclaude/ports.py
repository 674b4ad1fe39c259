"""The seams. Each port is a small Protocol whose docstring is its contract.

Embedded implementations (SQLite, a directory, local processes) are the default; the
production ones (SQS, S3, Redis Streams, PostgreSQL, cloud compute) are selected by
config. ``tests/contract`` runs one suite per port over every implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Protocol, runtime_checkable

from rclaude.model import (
    Attempt,
    Chunk,
    InputEvent,
    InputKind,
    Lease,
    QueueMessage,
    Task,
    TaskState,
    WorkerInfo,
)


@runtime_checkable
class Queue(Protocol):
    """A work queue with leases (SQS semantics).

    - ``send`` makes a message visible. Delivery is at least once.
    - ``receive`` leases up to ``max_messages`` visible messages for ``visibility_timeout``
      seconds, waiting up to ``wait_seconds`` for one to arrive (long polling: it returns as
      soon as a message is available, it does not sleep-poll). Each delivery increments
      the message's receive count; the lease carries it (= the attempt number).
    - A message whose lease expires becomes visible again. A message that has been
      delivered ``max_attempts`` times and expires again is moved to the dead-letter
      queue instead of being delivered once more.
    - ``extend`` pushes a lease's deadline to now + ``visibility_timeout``; it raises
      ``LeaseLostError`` if the lease is no longer held.
    - ``ack`` deletes the message for good; acking a lost lease raises ``LeaseLostError``.
    - ``release`` makes a leased message visible again at once (used when draining).
    - ``depth`` = visible + in-flight messages (what the autoscaler scales on).
    - A delivered message that cannot be decoded (not JSON, missing fields, or a newer
      schema version) is logged once (``RC-QUEUE-014``) and moved to the dead-letter
      queue; the other messages of the same receive are leased as usual.
    - ``receive_dead_letters`` leases dead letters as ``receive`` leases messages: one
      reaper handles a dead letter at a time, and one whose lease expires is handed out
      again. ``ack_dead_letter`` deletes it for good (once its task's final state is
      recorded), so the dead-letter queue drains; acking a lost lease may raise
      ``LeaseLostError``. A dead letter that cannot be decoded is never returned: a
      malformed one is logged and deleted (``RC-QUEUE-015``); one of a newer schema
      version is logged once (``RC-QUEUE-016``) and left, leased, for a newer reaper.
    - ``dead_letters`` peeks at the dead-letter queue without consuming it: for
      inspection only, it may return a sample (on SQS at most one batch).
    """

    def send(self, message: QueueMessage) -> None: ...
    def receive(
        self, max_messages: int = 1, *, visibility_timeout: float = 30.0, wait_seconds: float = 0.0
    ) -> list[Lease]: ...
    def extend(self, lease: Lease, visibility_timeout: float) -> Lease: ...
    def ack(self, lease: Lease) -> None: ...
    def release(self, lease: Lease) -> None: ...
    def depth(self) -> int: ...
    def receive_dead_letters(
        self, max_messages: int = 10, *, visibility_timeout: float = 60.0
    ) -> list[Lease]: ...
    def ack_dead_letter(self, lease: Lease) -> None: ...
    def dead_letters(self, limit: int = 100) -> list[QueueMessage]: ...
    def close(self) -> None: ...


@runtime_checkable
class ObjectStore(Protocol):
    """A flat key → bytes store (S3 semantics, keys use '/' separators).

    - ``put`` is atomic: readers see the old object, or the new one, never a part.
    - ``get`` raises ``NotFoundError`` for a missing key.
    - ``put_file``/``get_file`` stream large objects without holding them in memory.
    - ``list`` yields keys under a prefix in lexical order.
    - ``presign`` returns a short-lived URL for GET or PUT, or None if the store has
      no such notion (the embedded directory store).
    """

    def put(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, path: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def get_file(self, key: str, path: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str = "") -> Iterator[str]: ...
    def delete(self, key: str) -> None: ...
    def presign(self, key: str, method: str = "GET", expires: int = 300) -> str | None: ...
    def close(self) -> None: ...


class InputListener(Protocol):
    def fileno(self) -> int: ...
    def drain(self) -> bool: ...
    def close(self) -> None: ...


@runtime_checkable
class OutputLog(Protocol):
    """A durable, ordered output log per (task, attempt), plus an input channel per task.

    Output:
    - ``append`` adds a chunk and returns its ``seq``; seqs start at 1 and have no gaps.
    - ``close`` appends the FINAL chunk (JSON: state, exit_code, signal, reason); nothing
      may be appended after it.
    - ``read`` returns chunks with ``seq > after_seq`` in order (at most ``limit``).
    - ``wait`` blocks until a chunk with ``seq > after_seq`` exists, or ``timeout``
      passes; it returns True when there is something to read. It wakes on arrival, it
      does not sleep between polls.
    - ``follow`` yields every chunk after ``after_seq`` until the FINAL chunk (included),
      or until ``idle_timeout`` passes with nothing new (then it returns).
    - ``attempts`` lists the attempt numbers that have a log.

    Input (keystrokes, resize, signals, cancel) for the running attempt:
    - ``send_input`` appends an event and returns its seq (from 1).
    - ``read_input`` returns events after ``after_seq``; ``wait_input`` blocks like ``wait``.
    - ``last_input_seq`` is the newest input seq (0 if none).
    - ``input_listener`` returns an object with ``fileno()`` that becomes readable when
      input arrives for the task (the worker selects on it next to the PTY), ``drain()``
      and ``close()``.
    """

    def append(self, task_id: str, attempt: int, data: bytes, kind: str = "out") -> int: ...
    def close(self, task_id: str, attempt: int, final: dict[str, Any]) -> int: ...
    def read(
        self, task_id: str, attempt: int, after_seq: int = 0, limit: int = 1000
    ) -> list[Chunk]: ...
    def wait(self, task_id: str, attempt: int, after_seq: int, timeout: float) -> bool: ...
    def follow(
        self, task_id: str, attempt: int, after_seq: int = 0, idle_timeout: float | None = None
    ) -> Iterator[Chunk]: ...
    def attempts(self, task_id: str) -> list[int]: ...
    def send_input(
        self, task_id: str, kind: InputKind, data: bytes = b"", cols: int = 0, rows: int = 0
    ) -> int: ...
    def read_input(
        self, task_id: str, after_seq: int = 0, limit: int = 1000
    ) -> list[InputEvent]: ...
    def wait_input(self, task_id: str, after_seq: int, timeout: float) -> bool: ...
    def last_input_seq(self, task_id: str) -> int: ...
    def input_listener(self, task_id: str) -> InputListener: ...
    def delete(self, task_id: str) -> None: ...
    def close_log(self) -> None: ...


@runtime_checkable
class TaskStore(Protocol):
    """Durable task records, attempts and the worker registry.

    - ``create`` inserts a new task; ids are unique.
    - ``get`` raises ``NotFoundError``; ``resolve`` accepts an id, a unique id prefix
      (4+ chars) or a name (the newest task with that name) and raises ``NotFoundError``
      or ``ConflictError`` (ambiguous prefix).
    - ``update`` changes fields; with ``expect_states`` it is a compare-and-set and
      returns None if the task is not in one of those states.
    - ``list`` returns newest first.
    - ``upsert_attempt``/``attempts`` record each attempt's outcome; ``finish`` is
      ``update`` plus ``upsert_attempt`` in one transaction (True if it updated).
    - ``register_worker``/``heartbeat_worker``/``workers``/``remove_worker`` keep the
      worker registry the orchestrator reads.
    """

    def create(self, task: Task) -> Task: ...
    def get(self, task_id: str) -> Task: ...
    def resolve(self, ref: str, owner: str | None = None) -> Task: ...
    def update(
        self, task_id: str, *, expect_states: Iterable[TaskState] | None = None, **fields: Any
    ) -> Task | None: ...
    def list(
        self,
        *,
        owner: str | None = None,
        states: Iterable[TaskState] | None = None,
        limit: int = 100,
    ) -> list[Task]: ...
    def upsert_attempt(self, attempt: Attempt) -> None: ...
    def finish(
        self,
        task_id: str,
        attempt: Attempt,
        *,
        expect_states: Iterable[TaskState] | None = None,
        **fields: Any,
    ) -> bool: ...
    def attempts(self, task_id: str) -> list[Attempt]: ...
    def register_worker(self, info: WorkerInfo) -> None: ...
    def heartbeat_worker(self, worker_id: str, *, state: str, busy: int) -> None: ...
    def workers(self, backend: str | None = None) -> list[WorkerInfo]: ...
    def remove_worker(self, worker_id: str) -> None: ...
    def close(self) -> None: ...


@runtime_checkable
class Compute(Protocol):
    """Starts and stops *workers* (never runs a task's command itself).

    - ``launch(n)`` starts ``n`` workers configured to reach this platform's queue,
      store and log; it is idempotent per ``token`` (a retry with the same token does
      not start more); returns what it started.
    - ``list`` returns the workers that exist now, from the backend's own source of
      truth (process table, AWS tags, Fly metadata, ...).
    - ``stop(ids)`` stops only the given workers that are idle; returns the ids stopped.
    - ``describe`` returns a short human description of the backend and its settings.
    """

    name: str

    def launch(self, n: int, *, token: str | None = None) -> list[WorkerInfo]: ...
    def list(self) -> list[WorkerInfo]: ...
    def stop(self, worker_ids: Iterable[str]) -> list[str]: ...
    def describe(self) -> dict[str, Any]: ...


@runtime_checkable
class Mailer(Protocol):
    """Sends mail (magic links, notifications). Must never log message bodies that
    contain secrets except to the dev outbox the user asked for."""

    def send(self, to: str, subject: str, body: str) -> None: ...


BinaryIO = BinaryIO  # re-exported for adapters' type hints
