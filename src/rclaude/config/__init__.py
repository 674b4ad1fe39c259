"""Configuration: the schema, layered loading, editing, migration and JSON Schema export.

Public API (imported lazily, so ``import rclaude.config`` costs nothing until used)::

    load_config(*, cwd=None, env=None, overrides=None, user_file=None) -> LoadedConfig
    user_config_path(env=None) -> Path
    project_config_path(cwd=None) -> Path | None
    set_value(path, dotted_key, raw_value) -> None
    set_backend(path, provider, mode=None) -> BackendChoice
    migrate_file(path, *, dry_run=False) -> MigrationReport
    json_schema() -> dict

Errors are :class:`rclaude.errors.ConfigError` (exit 78) with a stable code:
RC-CONFIG-001 unknown key, 002 invalid value, 003 contradiction or duplicate key,
004 top level not a mapping, 006 unreadable file; broken YAML keeps yamlio's RC-YAML-*.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "LoadedConfig": "rclaude.config.loader",
    "load_config": "rclaude.config.loader",
    "user_config_path": "rclaude.config.loader",
    "project_config_path": "rclaude.config.loader",
    "set_value": "rclaude.config.edit",
    "set_backend": "rclaude.config.edit",
    "migrate_file": "rclaude.config.migrate",
    "MigrationReport": "rclaude.config.migrate",
    "json_schema": "rclaude.config.schema_export",
    "BackendChoice": "rclaude.config.backends",
    "Config": "rclaude.config.schema",
}

__all__ = [
    "BackendChoice",
    "Config",
    "LoadedConfig",
    "MigrationReport",
    "json_schema",
    "load_config",
    "migrate_file",
    "project_config_path",
    "set_backend",
    "set_value",
    "user_config_path",
]

if TYPE_CHECKING:
    from rclaude.config.backends import BackendChoice
    from rclaude.config.edit import set_backend, set_value
    from rclaude.config.loader import (
        LoadedConfig,
        load_config,
        project_config_path,
        user_config_path,
    )
    from rclaude.config.migrate import MigrationReport, migrate_file
    from rclaude.config.schema import Config
    from rclaude.config.schema_export import json_schema


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rclaude.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
