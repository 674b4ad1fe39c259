"""Domain objects: what a task is, its states, and the message that travels on the queue.

Delivery is *at least once*: a task's command may run more than once (one run per
attempt) when a worker dies or a lease expires. Each attempt has its own output log.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from rclaude.errors import ValidationError


class TaskState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    LOST = "lost"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    def __str__(self) -> str:
        return self.value


TERMINAL_STATES = frozenset(
    {
        TaskState.SUCCEEDED,
        TaskState.FAILED,
        TaskState.CANCELLED,
        TaskState.TIMED_OUT,
        TaskState.LOST,
    }
)
ACTIVE_STATES = frozenset(set(TaskState) - TERMINAL_STATES)

#: Exit status reported for a task killed by its timeout (as coreutils ``timeout``).
TIMEOUT_EXIT_CODE = 124

_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_id(nbytes: int = 8) -> str:
    """A random, URL-safe, case-insensitive identifier (13 chars for 8 bytes)."""
    n = int.from_bytes(secrets.token_bytes(nbytes), "big")
    out = []
    for _ in range((nbytes * 8 + 4) // 5):
        out.append(_ID_ALPHABET[n & 31])
        n >>= 5
    return "".join(out)


def validate_name(name: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", name):
        raise ValidationError(
            f"invalid task name {name!r}",
            code="RC-TASK-004",
            hint="use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


@dataclass(frozen=True)
class TaskSpec:
    """What to run. Immutable once submitted."""

    command: tuple[str, ...] = ()
    name: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    pty: bool = True
    cols: int = 80
    rows: int = 24
    max_attempts: int = 3
    snapshot_id: str | None = None
    backend: str = "local"
    aws_mode: str | None = None
    prompt: str | None = None
    repo: str | None = None
    branch: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.command and not self.prompt:
            raise ValidationError(
                "no command given",
                code="RC-USAGE-002",
                hint="put the command after '--', e.g. rclaude run -- make test",
            )
        if self.timeout is not None and self.timeout <= 0:
            raise ValidationError("timeout must be positive", code="RC-TASK-005")
        if self.max_attempts < 1:
            raise ValidationError("max_attempts must be at least 1", code="RC-TASK-006")
        if self.name is not None:
            validate_name(self.name)

    def to_dict(self) -> dict[str, Any]:
        # Shallow copies, not dataclasses.asdict (its deep copies cost more than the
        # rest of a submit): every field is a scalar, a tuple of str or a flat dict.
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["command"] = list(self.command)
        for f in ("env", "labels", "extra"):
            d[f] = dict(d[f])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskSpec:
        d = dict(d)
        d["command"] = tuple(d.get("command") or ())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class Task:
    """A submitted task and where it stands. ``attempt`` is 0 until first leased."""

    id: str
    spec: TaskSpec
    state: TaskState = TaskState.PENDING
    attempt: int = 0
    owner: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    reason: str | None = None
    worker_id: str | None = None
    created_at: float = 0.0
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    cancel_requested: bool = False
    result: dict[str, Any] | None = None

    @property
    def name(self) -> str | None:
        return self.spec.name

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at

    def evolve(self, **changes: Any) -> Task:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["state"] = self.state.value
        d["spec"] = self.spec.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Task:
        d = dict(d)
        d["spec"] = TaskSpec.from_dict(d["spec"])
        d["state"] = TaskState(d["state"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class Attempt:
    """One run of a task's command by one worker."""

    task_id: str
    number: int
    state: TaskState
    worker_id: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    signal: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class QueueMessage:
    """The versioned message on the queue. Encoded once, as compact JSON."""

    task_id: str
    id: str = field(default_factory=new_id)
    schema_version: int = 1
    enqueued_at: float = field(default_factory=time.time)
    max_attempts: int = 3

    SCHEMA_VERSION = 1

    def encode(self) -> str:
        return json.dumps(
            {
                "v": self.schema_version,
                "id": self.id,
                "task_id": self.task_id,
                "enqueued_at": self.enqueued_at,
                "max_attempts": self.max_attempts,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, raw: str | bytes) -> QueueMessage:
        try:
            d = json.loads(raw)
            version = int(d["v"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValidationError(
                f"undecodable queue message: {exc}", code="RC-QUEUE-003"
            ) from None
        if version > cls.SCHEMA_VERSION:
            raise ValidationError(
                f"queue message schema v{version} is newer than this worker understands "
                f"(v{cls.SCHEMA_VERSION})",
                code="RC-QUEUE-004",
                hint="upgrade rclaude on the workers",
            )
        try:
            return cls(
                task_id=str(d["task_id"]),
                id=str(d["id"]),
                schema_version=version,
                enqueued_at=float(d.get("enqueued_at", 0.0)),
                max_attempts=int(d.get("max_attempts", 3)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"undecodable queue message: {exc!r}", code="RC-QUEUE-003"
            ) from None

    @staticmethod
    def excerpt(raw: str, size: int = 200) -> str:
        """The start of a message body, for a log line about a message that is set aside."""
        return repr(raw if len(raw) <= size else raw[:size] + "...")


@dataclass(frozen=True)
class Lease:
    """A received message, invisible to others until ``deadline`` unless extended.

    ``receive_count`` is how many times the message has been delivered, this time
    included: it is the attempt number.
    """

    message: QueueMessage
    receipt: str
    receive_count: int
    deadline: float


class ChunkKind(StrEnum):
    OUTPUT = "out"
    FINAL = "final"
    EVENT = "event"


@dataclass(frozen=True)
class Chunk:
    """One entry of an attempt's output log. ``seq`` starts at 1 and has no gaps."""

    seq: int
    kind: ChunkKind
    data: bytes
    ts: float = 0.0

    def final_info(self) -> dict[str, Any]:
        return json.loads(self.data) if self.kind is ChunkKind.FINAL else {}


class InputKind(StrEnum):
    DATA = "data"
    RESIZE = "resize"
    SIGNAL = "signal"
    CANCEL = "cancel"


@dataclass(frozen=True)
class InputEvent:
    """A keystroke batch, a resize or a control request sent to a running task."""

    seq: int
    kind: InputKind
    data: bytes = b""
    cols: int = 0
    rows: int = 0


@dataclass(frozen=True)
class WorkerInfo:
    """A worker as seen by a compute backend and the orchestrator."""

    id: str
    backend: str
    state: str = "starting"  # starting | idle | busy | stopping | gone
    slots: int = 1
    busy: int = 0
    host: str | None = None
    pid: int | None = None
    started_at: float | None = None
    heartbeat_at: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def idle(self) -> bool:
        """Reported idle by the worker itself. A worker still starting is not idle:
        scale-down must not stop a worker that is about to take work."""
        return self.busy == 0 and self.state == "idle"
