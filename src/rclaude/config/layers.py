"""One configuration layer: data with canonical keys, plus where each key came from.

A layer is built from raw data (a YAML file, environment variables, CLI flags): keys
are normalized to the schema's field names, unknown keys are rejected right away with
the origin of the key, and every key (sections and leaves) remembers its
:class:`Origin`. Layers are then validated one by one (so a bad value is blamed on the
layer that wrote it, even when a later layer overrides it) and deep-merged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from rclaude.config import keys
from rclaude.config.schema import Config
from rclaude.errors import ConfigError, Where


@dataclass(frozen=True)
class Origin:
    """Where one key's value came from.

    ``source`` is what ``config show`` prints (``/p/.rclaude.yaml:3``, ``env
    RCLAUDE_AWS__MODE``, ``flag --aws-mode``, ``default``); ``where`` locates it for
    error messages; ``kind`` is ``file``, ``env``, ``flag`` or ``default``.
    """

    source: str
    where: Where
    kind: str


#: Maps (field-name path, path as spelled in the input) to the origin of that key.
OriginFn = Callable[[tuple[str, ...], tuple[str, ...]], Origin]


@dataclass
class Layer:
    """Normalized data of one layer and the origin of every key it sets."""

    label: str
    data: dict[str, Any] = field(default_factory=dict)
    #: dotted field-name path (sections and leaves) -> origin
    origins: dict[str, Origin] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: For file layers: spelled key path -> Where (finds lines of list items too).
    locate: Callable[[tuple[str, ...]], Where] | None = None

    def origin(self, dotted: str) -> Origin | None:
        """The origin of ``dotted`` or of its closest ancestor that has one."""
        probe = dotted
        while True:
            if probe in self.origins:
                return self.origins[probe]
            if "." not in probe:
                return None
            probe = probe.rsplit(".", 1)[0]


def normalize(raw: dict, origin: OriginFn, *, label: str) -> Layer:
    """Build a :class:`Layer` from ``raw`` (a mapping with keys in any spelling).

    Raises RC-CONFIG-001 for an unknown key (with the closest valid key) and
    RC-CONFIG-003 when one mapping spells the same key twice (``instanceType`` and
    ``instance_type``).
    """
    layer = Layer(label=label)
    env_style = label.startswith("env")
    layer.data = _normalize(raw, Config, (), (), origin, layer, env_style)
    return layer


def _normalize(
    raw: dict,
    model: type[BaseModel],
    path: tuple[str, ...],
    spelled: tuple[str, ...],
    origin: OriginFn,
    layer: Layer,
    env_style: bool,
) -> dict:
    out: dict[str, Any] = {}
    first_spelling: dict[str, str] = {}
    for key, value in raw.items():
        name = keys.field_name(model, key)
        sub_spelled = (*spelled, str(key))
        if name is None:
            org = origin(path, sub_spelled)
            raise keys.unknown_key_error(
                model,
                str(key),
                path,
                org.where,
                origin=None if org.kind == "file" else org.source,
                env_style=env_style,
            )
        sub_path = (*path, name)
        org = origin(sub_path, sub_spelled)
        if name in first_spelling:
            raise ConfigError(
                f"key '{key}' repeats '{first_spelling[name]}' (the same key spelled twice)",
                code="RC-CONFIG-003",
                hint="keep one of the two spellings",
                where=org.where,
            )
        first_spelling[name] = str(key)
        layer.origins[".".join(sub_path)] = org
        sub = keys.section(model, name)
        if sub is not None and isinstance(value, dict):
            out[name] = _normalize(value, sub, sub_path, sub_spelled, origin, layer, env_style)
        else:
            out[name] = value
    return out


def merge_into(base: dict, over: dict) -> dict:
    """Deep-merge ``over`` into ``base`` (in place): mappings merge, anything else replaces."""
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_into(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def set_path(data: dict, path: tuple[str, ...], value: Any) -> None:
    """Set ``data[path[0]][path[1]]… = value``, creating mappings on the way."""
    for part in path[:-1]:
        nxt = data.get(part)
        if not isinstance(nxt, dict):
            nxt = data[part] = {}
        data = nxt
    data[path[-1]] = value
