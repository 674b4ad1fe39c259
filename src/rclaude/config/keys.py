"""What the schema says about keys: spellings, sections, leaves, choices.

Every layer may spell a key in camelCase (the alias, as the seed documents write it) or
snake_case (the field name). This module maps a spelling to its field name, tells
sections (nested models) from leaves, lists the valid spellings of a section for "did
you mean" hints, and turns a text value (from an environment variable or ``config
set``) into data of the right shape. It only reads the schema, so it works for fields
that other rooms add to ``schema.py``.
"""

from __future__ import annotations

import types
import typing
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from rclaude.config.schema import Config
from rclaude.errors import ConfigError, Where, closest


@cache
def spellings(model: type[BaseModel]) -> dict[str, str]:
    """Every accepted spelling of ``model``'s keys -> the field name."""
    out: dict[str, str] = {}
    for name, info in model.model_fields.items():
        out[name] = name
        if info.alias:
            out[info.alias] = name
    return out


def field_name(model: type[BaseModel], spelling: object) -> str | None:
    """The field that ``spelling`` names in ``model``, or None if it names none."""
    return spellings(model).get(spelling) if isinstance(spelling, str) else None


def camel(model: type[BaseModel], name: str) -> str:
    """The camelCase spelling (the alias) of field ``name``."""
    return model.model_fields[name].alias or name


@cache
def section(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The nested model of field ``name`` if it is a section, else None (a leaf)."""
    ann = model.model_fields[name].annotation
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    return None


@cache
def leaf_keys(model: type[BaseModel] = Config) -> tuple[str, ...]:
    """Dotted snake_case paths of every leaf under ``model``, in schema order."""
    out: list[str] = []
    for name in model.model_fields:
        sub = section(model, name)
        if sub is None:
            out.append(name)
        else:
            out.extend(f"{name}.{leaf}" for leaf in leaf_keys(sub))
    return tuple(out)


def suggest(model: type[BaseModel], spelling: str) -> str | None:
    """The camelCase spelling of the key closest to ``spelling``, or None."""
    table = spellings(model)
    found = closest(spelling, sorted(table))
    return camel(model, table[found]) if found else None


def describe_section(path: tuple[str, ...] | list[str]) -> str:
    return f"section '{'.'.join(path)}'" if path else "the top level"


def unknown_key_error(
    model: type[BaseModel],
    spelling: str,
    parent: tuple[str, ...],
    where: Where,
    *,
    origin: str | None = None,
    env_style: bool = False,
) -> ConfigError:
    """RC-CONFIG-001 for ``spelling`` not being a key of ``model`` (under ``parent``)."""
    near = suggest(model, str(spelling))
    if near and env_style:
        near = "RCLAUDE_" + "__".join((*parent, field_name(model, near) or near)).upper()
    valid = ", ".join(camel(model, n) for n in model.model_fields)
    hint = (
        f"did you mean '{near}'?" if near else f"valid keys in {describe_section(parent)}: {valid}"
    )
    suffix = f" (from {origin})" if origin else ""
    return ConfigError(
        f"unknown key '{spelling}' in {describe_section(parent)}{suffix}",
        code="RC-CONFIG-001",
        hint=hint,
        where=where,
    )


def resolve(
    dotted: str, *, origin: str | None = None, env_style: bool = False
) -> tuple[tuple[str, ...], type[BaseModel], str]:
    """Resolve a dotted key (any spelling) to (field-name path, parent model, field).

    Raises RC-CONFIG-001 naming the first unknown segment and the closest valid key.
    """
    parts = dotted.split(".")
    model: type[BaseModel] = Config
    path: list[str] = []
    for i, part in enumerate(parts):
        name = field_name(model, part)
        if name is None:
            raise unknown_key_error(
                model, part, tuple(path), Where(key=dotted), origin=origin, env_style=env_style
            )
        path.append(name)
        sub = section(model, name)
        if i < len(parts) - 1:
            if sub is None:
                raise ConfigError(
                    f"'{'.'.join(path)}' is a value, not a section: it has no key '{parts[i + 1]}'",
                    code="RC-CONFIG-001",
                    where=Where(key=dotted),
                    hint=f"use '{'.'.join(path)}' itself",
                )
            model = sub
    return tuple(path), model, path[-1]


def _flatten(ann: Any) -> list[Any]:
    """The alternatives of a union/Optional annotation (one element if not a union)."""
    origin = typing.get_origin(ann)
    if origin is typing.Union or origin is types.UnionType:
        return [a for arg in typing.get_args(ann) for a in _flatten(arg)]
    return [ann]


def choices(model: type[BaseModel], name: str) -> tuple[str, ...] | None:
    """The allowed values of a Literal field (also inside Optional or list), else None."""
    for alt in _flatten(model.model_fields[name].annotation):
        origin = typing.get_origin(alt)
        if origin is Literal:
            return tuple(str(a) for a in typing.get_args(alt))
        if origin is list:
            inner = typing.get_args(alt)
            if inner and typing.get_origin(inner[0]) is Literal:
                return tuple(str(a) for a in typing.get_args(inner[0]))
    return None


def _takes_only_text(model: type[BaseModel], name: str) -> bool:
    """True if the field takes text (str, Path, Literal of str, maybe None) and nothing else."""
    text = False
    for alt in _flatten(model.model_fields[name].annotation):
        if alt is type(None):
            continue
        if alt in (str, Path) or (
            typing.get_origin(alt) is Literal
            and all(isinstance(a, str) for a in typing.get_args(alt))
        ):
            text = True
        else:
            return False
    return text


def parse_text(raw: str, model: type[BaseModel], name: str, *, label: str) -> Any:
    """Turn a text value into data for field ``name`` of ``model``.

    The text is read as a YAML scalar or flow list/mapping (``2`` -> 2, ``true`` ->
    True, ``[a, b]`` -> list, ``null`` -> None). For fields that only take text, a
    value YAML would read as a number, boolean or date stays the text as written, so
    ``RCLAUDE_AWS__PROFILE=123`` or ``region: no`` in ``config set`` do what was meant.
    """
    from rclaude import yamlio

    text_only = _takes_only_text(model, name)
    try:
        value, _ = yamlio.loads(raw, file=label, error_cls=ConfigError)
    except ConfigError:
        if text_only:
            return raw
        raise
    if text_only and value is not None and not isinstance(value, str):
        return raw
    return value
