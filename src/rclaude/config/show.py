"""The effective configuration as rows of (key, value, source), secrets masked.

What ``rclaude config show`` prints; :mod:`.masking` decides what is a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rclaude.config import keys
from rclaude.config.loader import LoadedConfig
from rclaude.config.masking import mask


@dataclass(frozen=True)
class Row:
    key: str
    value: Any
    source: str


def rows(loaded: LoadedConfig) -> list[Row]:
    """Every leaf of the effective config in schema order, masked, with its source."""
    data = loaded.config.model_dump(mode="json")
    out = []
    for dotted in keys.leaf_keys():
        value: Any = data
        for part in dotted.split("."):
            value = value[part]
        out.append(Row(dotted, mask(dotted, value), loaded.sources.get(dotted, "default")))
    return out


def as_json(loaded: LoadedConfig) -> dict[str, Any]:
    """The ``config show --json`` document."""
    return {
        "values": {r.key: {"value": r.value, "source": r.source} for r in rows(loaded)},
        "files": [str(p) for p in loaded.files],
        "warnings": list(loaded.warnings),
    }
