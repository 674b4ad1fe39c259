"""One rooted exception tree for the whole project.

Every error carries a stable ``code`` (``RC-AREA-NNN``), a message that says what was
wrong and where, an optional ``where`` (file, line, key) and a ``hint`` that says how to
fix it. The CLI maps the class to an exit code (sysexits-style) and prints no traceback
unless ``--debug`` is given. Library errors from cloud SDKs are translated at the adapter
boundary into this tree, so callers only ever catch :class:`RclaudeError`.

    RclaudeError
    ├── UsageError          (64)  bad command-line use: missing command, bad flag value
    ├── ValidationError     (65)  bad input data: manifests, archives, paths, checksums
    │   └── ConfigError     (78)  config files, env vars, unknown keys, wrong modes
    ├── NotFoundError       (66)  unknown task, snapshot, deployment
    ├── ConflictError       (73)  state does not allow the operation
    ├── AuthError           (77)  missing or insufficient credentials / permissions
    ├── BackendError        (69)  a service or cloud API failed or is unreachable
    │   └── LeaseLostError  (75)  a queue lease expired and was taken by someone else
    └── InternalError       (70)  a bug: please report it
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Where:
    """A location in user input: a file, a line (1-based) and a dotted key path."""

    file: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file + (f":{self.line}" if self.line else ""))
        elif self.line:
            parts.append(f"line {self.line}")
        if self.key:
            parts.append(f"key '{self.key}'")
        return ", ".join(parts)


class RclaudeError(Exception):
    """Root of every error raised on purpose by rclaude."""

    exit_code = 1
    default_code = "RC-GENERAL-001"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        where: Where | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint
        self.where = where

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.where and str(self.where):
            text += f" ({self.where})"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "where": None
            if self.where is None
            else {"file": self.where.file, "line": self.where.line, "key": self.where.key},
        }


class UsageError(RclaudeError):
    exit_code = 64
    default_code = "RC-USAGE-001"


class ValidationError(RclaudeError):
    exit_code = 65
    default_code = "RC-INPUT-001"


class ConfigError(ValidationError):
    exit_code = 78
    default_code = "RC-CONFIG-001"


class NotFoundError(RclaudeError):
    exit_code = 66
    default_code = "RC-NOTFOUND-001"


class ConflictError(RclaudeError):
    exit_code = 73
    default_code = "RC-CONFLICT-001"


class AuthError(RclaudeError):
    exit_code = 77
    default_code = "RC-AUTH-001"


class BackendError(RclaudeError):
    exit_code = 69
    default_code = "RC-BACKEND-001"


class LeaseLostError(BackendError):
    exit_code = 75
    default_code = "RC-QUEUE-002"


class InternalError(RclaudeError):
    exit_code = 70
    default_code = "RC-INTERNAL-001"


def closest(name: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The choice closest to ``name`` (for "did you mean" hints), or None."""
    import difflib

    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    if not found:
        lowered = {c.lower().replace("_", "").replace("-", ""): c for c in choices}
        key = name.lower().replace("_", "").replace("-", "")
        return lowered.get(key)
    return found[0]
