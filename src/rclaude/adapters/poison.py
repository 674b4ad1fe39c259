"""Queue messages that cannot be decoded, reported the same way by every queue adapter.

- ``RC-QUEUE-014``: a delivered task message was set aside (moved to the dead letters).
- ``RC-QUEUE-015``: a malformed dead letter was deleted (nothing can ever reap it).
- ``RC-QUEUE-016``: a dead letter of a newer schema version was left for a newer reaper;
  reported once per process (:class:`NewerDeadLetters`).

Each log line says where the message is, what was wrong, what was done, the start of
its body, and what to do.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from rclaude.errors import ValidationError
from rclaude.model import QueueMessage

log = logging.getLogger("rclaude.queue")

#: How many newer-version dead letters' ids a process remembers (each is reported once).
MEMORY = 10_000


def set_aside(where: str, exc: ValidationError, body: str, done: str, hint: str) -> None:
    log.error(
        "%s",
        ValidationError(
            f"{where} cannot be decoded ({exc.code}: {exc.message}); {done}; "
            f"body: {QueueMessage.excerpt(body)}",
            code="RC-QUEUE-014",
            hint=exc.hint or hint,
        ),
    )


def dropped(where: str, exc: ValidationError, body: str, done: str, hint: str) -> None:
    log.error(
        "%s",
        ValidationError(
            f"{where} cannot be decoded ({exc.code}: {exc.message}); {done}; "
            f"body: {QueueMessage.excerpt(body)}",
            code="RC-QUEUE-015",
            hint=f"{hint}; if the body names a task, end it with 'rclaude stop <task>'",
        ),
    )


class NewerDeadLetters:
    """Reports each dead letter of a newer schema version once per process."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def report(self, key: str, where: str, exc: ValidationError, body: str, hint: str) -> None:
        with self._lock:
            if key in self._seen:
                return
            self._seen[key] = None
            while len(self._seen) > MEMORY:
                self._seen.popitem(last=False)
        log.warning(
            "%s",
            ValidationError(
                f"{where} has a newer schema ({exc.message}); left it for a newer "
                f"reaper; body: {QueueMessage.excerpt(body)}",
                code="RC-QUEUE-016",
                hint=hint,
            ),
        )
