"""Per-invocation CLI state shared by the entry point and the commands."""

from __future__ import annotations

#: ``debug``: show tracebacks; ``command``: the words after ``--`` for ``run``.
STATE: dict = {"debug": False, "command": None}
