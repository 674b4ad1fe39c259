"""Validate a layer against the schema and explain failures as ``ConfigError``.

pydantic reports a location in field names (``('aws', 'mode')``); the layer knows where
each key came from, so the error names the file and line (or the environment variable
or flag), the key as the user spelled it, the valid choices of a Literal field and the
closest one. The first problem is the error; up to four more are listed in its message.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from rclaude.config import keys
from rclaude.config.layers import Layer
from rclaude.config.masking import mask
from rclaude.config.schema import LEGACY_BACKENDS, Config
from rclaude.errors import ConfigError, Where, closest

MAX_LISTED = 4


def validate(layer: Layer) -> Config:
    """``Config`` from the layer's data, or ConfigError blaming the layer's origins."""
    try:
        return Config.model_validate(layer.data)
    except PydanticError as exc:
        raise explain(exc, layer) from None


def explain(exc: PydanticError, layer: Layer) -> ConfigError:
    errors = exc.errors(include_url=False)
    first = _one(errors[0], layer)
    if len(errors) > 1:
        more = [_one(e, layer) for e in errors[1 : 1 + MAX_LISTED]]
        lines = [f"  also: {m.message}" + (f" ({m.where})" if m.where else "") for m in more]
        if len(errors) > 1 + MAX_LISTED:
            lines.append(f"  … and {len(errors) - 1 - MAX_LISTED} more")
        first.message += "\n" + "\n".join(lines)
    return first


def _field(loc: tuple) -> tuple[type[BaseModel] | None, str | None, tuple[str, ...]]:
    """(model, field) of the deepest schema field in a pydantic ``loc``, and the path.

    The path is in field names as far as the schema goes; list indexes and unknown
    keys are kept as they are.
    """
    model: type[BaseModel] | None = Config
    parent: type[BaseModel] | None = None
    name: str | None = None
    path: list[str] = []
    for part in loc:
        found = keys.field_name(model, part) if model is not None else None
        if found is None:
            path.append(str(part))
            model = None
            continue
        path.append(found)
        parent, name = model, found
        model = keys.section(model, found)
    return parent, name, tuple(path)


def _one(err: dict[str, Any], layer: Layer) -> ConfigError:
    loc = tuple(err["loc"])
    parent, name, path = _field(loc)
    dotted = ".".join(path)
    origin = layer.origin(dotted)
    where = origin.where if origin else Where(key=dotted)
    if origin and origin.kind == "file" and where.key:
        # Say the key as the file spells it, down to list indexes, on its own line.
        extra = path[len(where.key.split(".")) :]
        spelled = (*where.key.split("."), *extra)
        where = (
            layer.locate(spelled)
            if layer.locate
            else Where(file=where.file, line=where.line, key=".".join(spelled))
        )
    shown = where.key or dotted
    suffix = f" (from {origin.source})" if origin and origin.kind != "file" else ""
    value = err.get("input")
    shown_value = _short(mask(dotted, value))
    kind = err["type"]

    if kind == "extra_forbidden":
        model = keys.section(parent, name) if parent and name else Config
        return keys.unknown_key_error(
            model or Config,
            path[-1],
            tuple(path[:-1]),
            where,
            origin=origin.source if origin and origin.kind != "file" else None,
        )
    if kind in ("literal_error", "enum") and parent is not None and name is not None:
        valid = keys.choices(parent, name) or ()
        listed = ", ".join(valid)
        near = closest(str(value), valid) if valid else None
        extra = ""
        if dotted == "backend":
            extra = f" (old names {', '.join(LEGACY_BACKENDS)} are still accepted)"
        hint = (f"did you mean '{near}'? " if near else "") + f"valid choices: {listed}{extra}"
        return ConfigError(
            f"invalid value {shown_value} for '{shown}'{suffix}; valid choices: {listed}",
            code="RC-CONFIG-002",
            hint=hint,
            where=where,
        )
    return ConfigError(
        f"invalid value {shown_value} for '{shown}'{suffix}: {err['msg']}",
        code="RC-CONFIG-002",
        hint=_fix_hint(origin),
        where=where,
    )


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fix_hint(origin: Any) -> str:
    if origin is None:
        return "fix the value"
    if origin.kind == "file":
        return f"fix the value at {origin.source}"
    if origin.kind == "env":
        return f"fix or unset {origin.source.removeprefix('env ')}"
    return f"fix the value of {origin.source.removeprefix('flag ')}"
