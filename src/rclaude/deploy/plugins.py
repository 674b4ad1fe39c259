"""Extension points, discovered through entry points.

- ``rclaude.deploy.generators``: callables ``(cloud_config, project) -> None`` that add
  packages, files or boot phases to every generated :class:`CloudConfig`;
- ``rclaude.deploy.file_handlers``: callables ``(path: Path) -> bytes | None`` that may
  transform a file before it enters the bundle (None = leave it alone).

A failing plugin is reported as a ``ValidationError`` naming it, never swallowed.
"""

from __future__ import annotations

from functools import cache

from rclaude.errors import ValidationError

GENERATORS = "rclaude.deploy.generators"
FILE_HANDLERS = "rclaude.deploy.file_handlers"


@cache
def _load(group: str) -> tuple:
    from importlib.metadata import entry_points

    return tuple((ep.name, ep.load()) for ep in entry_points(group=group))


def generators() -> tuple:
    return _load(GENERATORS)


def apply_generators(cfg, project, extra: tuple = ()) -> None:
    """Run every registered generator (then ``extra``) on ``cfg``."""
    for name, fn in (*generators(), *extra):
        try:
            fn(cfg, project)
        except Exception as exc:
            raise ValidationError(
                f"cloud-init generator plugin '{name}' failed: {exc}", code="RC-DEPLOY-080"
            ) from exc


def file_handlers() -> tuple:
    return _load(FILE_HANDLERS)


def transform_file(path, data: bytes, handlers: tuple | None = None) -> bytes:
    """Pass ``data`` (the content of ``path``) through every file handler in turn."""
    for name, fn in file_handlers() if handlers is None else handlers:
        try:
            out = fn(path)
        except Exception as exc:
            raise ValidationError(
                f"file handler plugin '{name}' failed on {path}: {exc}", code="RC-DEPLOY-081"
            ) from exc
        if out is not None:
            data = out
    return data
