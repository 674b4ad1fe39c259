"""Retrying task-store transactions while the database is unreachable.

A PostgreSQL restart, an RDS reboot or a Multi-AZ failover takes one to two minutes.
:class:`Retrying` runs one whole transaction, and runs it again with backoff while the
error says the server is unreachable (:func:`is_transient`), for up to ``RETRY_FOR``
seconds; then it raises ``RC-DB-003``. Messages carry the driver's text on one line,
with no SQL, no parameters and no password.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from rclaude.errors import BackendError

log = logging.getLogger("rclaude.store")

T = TypeVar("T")

#: Seconds an operation keeps retrying while the database is unreachable before it fails
#: with RC-DB-003: longer than a PostgreSQL restart or an RDS reboot/failover.
RETRY_FOR = 180.0
#: First pause between tries; it doubles up to ``RETRY_MAX_PAUSE``.
RETRY_FIRST_PAUSE = 0.1
RETRY_MAX_PAUSE = 2.0
#: SQLSTATEs of a server that is going away or not there yet: class 08 (connection
#: exception), admin_shutdown, crash_shutdown, cannot_connect_now (starting up or
#: shutting down).
_TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03")

#: The password of a URL quoted in a message (e.g. one SQLAlchemy cannot parse).
_URL_PASSWORD = re.compile(r"(://[^/:@\s]*:)[^@\s]*@")


def is_transient(exc: BaseException) -> bool:
    """True for a database error that says the server is unreachable, restarting or
    dropped the connection: worth retrying the whole transaction. Constraint
    violations, programming errors, timeouts and SQLite errors are not."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if not isinstance(exc, DBAPIError):
        return False
    # PostgreSQL drivers carry a SQLSTATE (None for a client-side connection failure,
    # such as "connection refused"); sqlite3 errors have none.
    if not hasattr(exc.orig, "sqlstate"):
        return False
    if exc.connection_invalidated:  # SQLAlchemy's dialect recognised a disconnect
        return True
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    state = exc.orig.sqlstate
    return state is None or state.startswith(_TRANSIENT_SQLSTATES)


def detail(exc: BaseException, password: str | None = None) -> str:
    """The driver's message on one line: no SQL, no parameters, no password."""
    err = getattr(exc, "orig", None) or exc
    text = _URL_PASSWORD.sub(r"\1***@", " ".join(str(err).split()))
    if password:
        text = text.replace(password, "***")
    return f"{type(err).__name__}: {text}"


class Retrying:
    """Runs a task-store operation, retried while the database at ``where`` (a URL with
    its password hidden) is unreachable."""

    def __init__(self, where: str, password: str | None) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        self.where = where
        self._password = password
        self._sa_error = SQLAlchemyError

    def __call__(self, unit: Callable[[bool], T], what: str, *args: Any, retry: bool = True) -> T:
        """``unit(retried)``, one whole transaction, tried again with backoff while the
        database is unreachable for up to ``RETRY_FOR`` seconds, then (or at once,
        without ``retry``) ``RC-DB-003``. ``retried`` tells a write that an earlier try
        may have committed. ``what % args`` names the operation.

        A try joined to an enclosing ``atomic()`` block would not be a whole transaction;
        that happens on SQLite only, whose errors are never transient."""
        retried = False
        first = deadline = pause = 0.0
        while True:
            try:
                result = unit(retried)
            except self._sa_error as exc:
                if not is_transient(exc):
                    raise
                now = time.monotonic()
                if not retried:
                    first, pause = now, RETRY_FIRST_PAUSE
                    deadline = now + (RETRY_FOR if retry else 0.0)
                if now >= deadline:
                    raise self._unreachable(exc, what % args, now - first) from None
                if not retried:
                    log.warning(
                        "task database %s unreachable (%s); retrying for up to %gs",
                        self.where,
                        detail(exc, self._password),
                        RETRY_FOR,
                    )
                time.sleep(min(pause, deadline - now))
                pause = min(pause * 2, RETRY_MAX_PAUSE)
                retried = True
                continue
            if retried:
                log.info("task database reachable again after %.1fs", time.monotonic() - first)
            return result

    def _unreachable(self, exc: BaseException, what: str, waited: float) -> BackendError:
        retried = f", still after {waited:.0f}s of retries" if waited >= 1 else ""
        return BackendError(
            f"cannot {what}: the task database {self.where} is unreachable "
            f"({detail(exc, self._password)}{retried})",
            code="RC-DB-003",
            hint="check that PostgreSQL is running and reachable from this host (on RDS: "
            "the instance status, a failover in progress, the security group); the "
            "operation is safe to repeat once it is back",
        )
