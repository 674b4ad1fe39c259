"""Small filesystem primitives every room shares.

- :func:`atomic_write` replaces a file atomically (temp file in the same directory,
  fsync, ``os.replace``), so a crash never leaves a half-written state or config file.
- :func:`safe_join` joins an untrusted relative path under a root and refuses absolute
  paths, ``..`` components and anything that resolves outside the root.
- :func:`private_dir` creates a directory readable only by its owner.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from rclaude.errors import ValidationError


def atomic_write(path: str | os.PathLike, data: bytes | str, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically with permission bits ``mode``.

    The temporary file is created with ``mode`` already applied, so a secret written
    with ``mode=0o600`` is never readable by others, not even for an instant.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def check_relative(rel: str, *, what: str = "path") -> PurePosixPath:
    """Validate an untrusted relative POSIX path: no absolute path, no ``..``, no NUL."""
    if not rel or "\x00" in rel:
        raise ValidationError(f"invalid {what} {rel!r}", code="RC-PATH-001")
    p = PurePosixPath(rel)
    if p.is_absolute() or rel.startswith("/"):
        raise ValidationError(
            f"{what} {rel!r} is absolute",
            code="RC-PATH-002",
            hint="use a path relative to the project root",
        )
    if any(part == ".." for part in p.parts):
        raise ValidationError(
            f"{what} {rel!r} contains '..'",
            code="RC-PATH-003",
            hint="paths may not climb out of their root",
        )
    return p


def safe_join(root: str | os.PathLike, rel: str, *, what: str = "path") -> Path:
    """``root / rel`` for an untrusted ``rel``, guaranteed to stay inside ``root``.

    Symlinks already present under ``root`` are resolved, so a link pointing out of
    the root cannot be used to write outside it.
    """
    p = check_relative(rel, what=what)
    root_resolved = Path(root).resolve()
    target = (root_resolved / p).resolve()
    if target != root_resolved and root_resolved not in target.parents:
        raise ValidationError(
            f"{what} {rel!r} resolves outside {root}",
            code="RC-PATH-004",
            hint="remove symlinks that point out of the directory",
        )
    return root_resolved / p


def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) and make it 0700."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path
