"""``rclaude migrate``: rewrite legacy spellings in a config file, keeping a backup.

What is rewritten: legacy backend names (``ec2``, ``ecs-ec2``, ``ec2-shared``) become
``backend: aws`` plus ``aws.mode``. Nothing else is legacy: camelCase and snake_case
keys are both first-class and left as written. Before writing, the migrated content
is validated like any config file; on error nothing is written.

The original bytes are kept as ``<name>.bak`` (``.bak.1``, ``.bak.2``… if taken: an
older backup is never overwritten). The file is re-serialized, so comments are lost;
the backup keeps them. Migration is idempotent: an up-to-date file is not touched and
gets no backup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rclaude import fsutil, yamlio
from rclaude.config import legacy
from rclaude.config.edit import CONFIG_FILE_MODE, check


@dataclass(frozen=True)
class MigrationReport:
    """What :func:`migrate_file` did (or would do, with ``dry_run``) to one file."""

    path: Path
    changes: list[str] = field(default_factory=list)
    backup: Path | None = None
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def summary(self) -> str:
        if not self.changes:
            return f"{self.path}: already up to date"
        verb = "would migrate" if self.dry_run else "migrated"
        text = f"{self.path}: {verb}: " + "; ".join(self.changes)
        if self.backup:
            text += f" (backup: {self.backup})"
        return text


def backup_path(path: Path) -> Path:
    """The first free name among ``<name>.bak``, ``<name>.bak.1``, ``<name>.bak.2``…"""
    candidate = path.with_name(path.name + ".bak")
    n = 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak.{n}")
    return candidate


def migrate_file(path: Path, *, dry_run: bool = False) -> MigrationReport:
    """Rewrite legacy spellings in ``path`` in place (see the module docstring)."""
    from rclaude.config.loader import read_mapping

    path = Path(path)
    raw, lines = read_mapping(path)
    changes = legacy.rewrite_backend(raw)
    if not changes:
        return MigrationReport(path=path, dry_run=dry_run)
    check(raw, path, lines)
    if dry_run:
        return MigrationReport(path=path, changes=changes, dry_run=True)
    original = path.read_bytes()
    backup = backup_path(path)
    fsutil.atomic_write(backup, original, mode=CONFIG_FILE_MODE)
    fsutil.atomic_write(path, yamlio.dumps(raw), mode=CONFIG_FILE_MODE)
    return MigrationReport(path=path, changes=changes, backup=backup)
