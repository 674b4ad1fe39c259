"""Which project files belong in a snapshot: ``.gitignore`` and ``.rclaudeignore`` rules.

Both files are honoured in every directory, with git's semantics (a deeper file
overrides a shallower one; ``.rclaudeignore`` is read after ``.gitignore`` in the same
directory, so it can re-include with ``!pattern``). ``.git/`` is always left out. As in
git, a file inside an excluded directory cannot be re-included.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILES = (".gitignore", ".rclaudeignore")
ALWAYS_IGNORED = frozenset({".git"})


@dataclass
class _Rules:
    base: str  # "" for the root, else "sub/dir/"
    spec: object


def _load_rules(directory: Path, base: str) -> list[_Rules]:
    import pathspec

    rules = []
    for name in IGNORE_FILES:
        f = directory / name
        if f.is_file():
            try:
                lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            rules.append(_Rules(base, pathspec.GitIgnoreSpec.from_lines(lines)))
    return rules


def _ignored(rules: list[_Rules], rel: str) -> bool:
    verdict = False
    for r in rules:
        if not rel.startswith(r.base):
            continue
        res = r.spec.check_file(rel[len(r.base) :])
        if res.include is not None:
            verdict = res.include
    return verdict


def walk(root: Path) -> Iterator[tuple[str, os.DirEntry]]:
    """Yield ``(relative posix path, DirEntry)`` for every non-ignored file or symlink."""
    root = Path(root)

    def recurse(directory: Path, base: str, rules: list[_Rules]):
        rules = rules + _load_rules(directory, base)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except (PermissionError, FileNotFoundError):
            return
        for entry in entries:
            if entry.name in ALWAYS_IGNORED:
                continue
            rel = base + entry.name
            if entry.is_dir(follow_symlinks=False):
                if _ignored(rules, rel + "/"):
                    continue
                yield from recurse(Path(entry.path), rel + "/", rules)
            elif (entry.is_file(follow_symlinks=False) or entry.is_symlink()) and not _ignored(
                rules, rel
            ):
                yield rel, entry

    yield from recurse(root, "", [])
