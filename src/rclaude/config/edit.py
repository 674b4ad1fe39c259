"""Changing a config file: ``config set`` and ``config backend``.

An edit reads the file (keys keep the spelling they have; new keys are written in
camelCase, as the seed documents and the JSON Schema spell them), applies the change,
validates the WHOLE resulting content against the schema and only then replaces the
file atomically with mode 0600 (config files may hold tokens). On any error nothing is
written. A legacy backend name in the file is rewritten to the new form by any edit,
so the mode it implied is never lost. The file is re-serialized: comments are lost
(``rclaude migrate`` keeps a backup for that reason; ``config set`` does not).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rclaude import fsutil, yamlio
from rclaude.config import backends, explain, keys, legacy
from rclaude.config.layers import Origin, normalize
from rclaude.config.schema import Config
from rclaude.errors import ConfigError, Where

#: Permission bits of every config file rclaude writes.
CONFIG_FILE_MODE = 0o600


def set_value(path: Path, dotted_key: str, raw_value: str) -> None:
    """Set ``dotted_key`` (camelCase or snake_case segments) to ``raw_value`` in ``path``.

    ``raw_value`` is read as a YAML scalar or flow list (``true``, ``3``, ``[a, b]``,
    ``null``); for text-only keys it stays text. The file is created if missing.
    Raises RC-CONFIG-001 for an unknown key (with the closest one), RC-CONFIG-002 for
    a section used as a value or an invalid value.
    """
    try:
        norm, model, leaf = keys.resolve(dotted_key)
    except ConfigError as exc:
        exc.where = Where(file=str(path), key=dotted_key)
        raise
    sub = keys.section(model, leaf)
    if sub is not None:
        listed = ", ".join(keys.camel(sub, n) for n in sub.model_fields)
        raise ConfigError(
            f"'{dotted_key}' is a section, not a value",
            code="RC-CONFIG-002",
            where=Where(file=str(path), key=dotted_key),
            hint=f"set one of its keys: {listed}",
        )
    value = keys.parse_text(raw_value, model, leaf, label=f"value of {dotted_key}")
    update(path, {norm: value})


def set_backend(path: Path, provider: str, mode: str | None = None) -> backends.BackendChoice:
    """Write ``backend`` (and ``aws.mode``) to ``path``; legacy names in the new form."""
    choice = backends.choose(provider, mode)
    updates: dict[tuple[str, ...], Any] = {("backend",): choice.provider}
    if choice.mode:
        updates[("aws", "mode")] = choice.mode
    update(path, updates)
    return choice


def update(path: Path, updates: Mapping[tuple[str, ...], Any]) -> None:
    """Apply ``{field-name path: value}`` to the file, validate it all, write atomically."""
    from rclaude.config.loader import read_mapping

    path = Path(path)
    if path.exists():
        raw, lines = read_mapping(path)
    else:
        raw, lines = {}, yamlio.LineMap(file=str(path))
    legacy.rewrite_backend(raw)
    for norm, value in updates.items():
        _assign(raw, norm, value)
    legacy.rewrite_backend(raw)
    check(raw, path, lines)
    fsutil.atomic_write(path, yamlio.dumps(raw), mode=CONFIG_FILE_MODE)


def check(raw: dict, path: Path, lines: yamlio.LineMap) -> Config:
    """Validate raw file data as the loader would, blaming ``path`` and its lines."""

    def origin(_norm: tuple[str, ...], spelled: tuple[str, ...]) -> Origin:
        where = Where(file=str(path), line=lines.where(spelled).line, key=".".join(spelled))
        return Origin(f"{path}:{where.line}" if where.line else str(path), where, "file")

    layer = normalize(raw, origin, label=str(path))
    layer.locate = lines.where
    legacy.apply_to_layer(layer)
    return explain.validate(layer)


def _assign(raw: dict, norm: tuple[str, ...], value: Any) -> None:
    """Set the key at field-name path ``norm``, reusing the spelling already in the file."""
    model = Config
    node = raw
    for i, name in enumerate(norm):
        spelled = next((k for k in node if keys.field_name(model, k) == name), None)
        spelled = spelled or keys.camel(model, name)
        if i == len(norm) - 1:
            node[spelled] = value
            return
        child = node.get(spelled)
        if not isinstance(child, dict):
            child = node[spelled] = {}
        node = child
        model = keys.section(model, name) or model
