"""Layered loading of the effective configuration, with the source of every value.

Layers, later wins (mappings deep-merge, anything else replaces):

1. built-in defaults (the schema),
2. the user file: ``$RCLAUDE_CONFIG`` if set, else ``<user config dir>/config.yaml``
   (platformdirs, so ``XDG_CONFIG_HOME`` is honoured),
3. the project file ``.rclaude.yaml``, the first found walking up from ``cwd``,
4. environment variables: legacy ``ECS_*`` names, then ``RCLAUDE_<KEY>`` with ``__``
   for nesting (``RCLAUDE_AWS__MODE=ecs``), values read as YAML scalars,
5. ``overrides`` from command-line flags (a nested dict; ``None`` = flag not given).

Each layer is validated on its own before merging, so an error names the file and line
(or variable, or flag) that holds the bad value even if a later layer overrides it.
Only pydantic, platformdirs and (for files) PyYAML are imported: this runs on every
CLI call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rclaude import yamlio
from rclaude.config import explain, keys, legacy
from rclaude.config.layers import Layer, Origin, merge_into, normalize, set_path
from rclaude.config.schema import Config
from rclaude.errors import ConfigError, Where

PROJECT_FILE = ".rclaude.yaml"
ENV_PREFIX = "RCLAUDE_"
#: RCLAUDE_* variables that are not configuration keys.
RESERVED_ENV = frozenset({"RCLAUDE_CONFIG", "RCLAUDE_DEBUG"})


@dataclass(frozen=True)
class LoadedConfig:
    """The effective configuration and how it was made.

    ``sources`` maps the dotted snake_case path of every leaf to where its value came
    from: ``default``, ``<file>:<line>``, ``env RCLAUDE_X`` or ``flag --x``.
    ``warnings`` are deprecations to show the user; ``files`` the files read, in order.
    """

    config: Config
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    """The user config file: ``$RCLAUDE_CONFIG`` or ``<user config dir>/config.yaml``."""
    env = os.environ if env is None else env
    explicit = env.get("RCLAUDE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("rclaude", appauthor=False)) / "config.yaml"


def project_config_path(cwd: Path | None = None) -> Path | None:
    """The nearest ``.rclaude.yaml`` in ``cwd`` or its parents (up to the root), or None."""
    start = Path.cwd() if cwd is None else Path(cwd).absolute()
    for directory in (start, *start.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class ConfigFile:
    """One config file rclaude looks at: its layer (``user`` or ``project``)."""

    layer: str
    path: Path
    exists: bool


def config_files(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> list[ConfigFile]:
    """The user file (even if missing) and the project file (if one is found)."""
    user = user_config_path(env)
    out = [ConfigFile("user", user, user.is_file())]
    project = project_config_path(cwd)
    if project is not None and not _same(project, user):
        out.append(ConfigFile("project", project, True))
    return out


def project_target(cwd: Path | None = None) -> Path:
    """Where ``--project`` edits go: the nearest ``.rclaude.yaml``, else one in ``cwd``."""
    found = project_config_path(cwd)
    return found or (Path.cwd() if cwd is None else Path(cwd).absolute()) / PROJECT_FILE


def load_config(
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: dict | None = None,
    user_file: Path | None = None,
) -> LoadedConfig:
    """Load and validate the effective configuration (see the module docstring).

    Raises ConfigError (exit 78) for broken YAML, unknown keys, invalid values and
    contradictions, naming file and line or the variable or flag. A missing user or
    project file is not an error: that layer is simply empty.
    """
    env = os.environ if env is None else env
    layers: list[Layer] = []
    files: list[Path] = []
    user = Path(user_file) if user_file is not None else user_config_path(env)
    project = project_config_path(cwd)
    for path in (user, project):
        if path is None or not path.exists() or any(_same(path, f) for f in files):
            continue
        layers.append(file_layer(path))
        files.append(path)
    layers.extend(env_layers(env))
    if overrides:
        layers.append(flags_layer(overrides))

    leaves = set(keys.leaf_keys())
    sources = dict.fromkeys(keys.leaf_keys(), "default")
    merged = Layer(label="effective")
    warnings: list[str] = []
    for layer in layers:
        explain.validate(layer)
        merge_into(merged.data, layer.data)
        merged.origins.update(layer.origins)
        sources.update((k, o.source) for k, o in layer.origins.items() if k in leaves)
        warnings.extend(layer.warnings)
    config = explain.validate(merged)
    warnings.extend(near_miss_env(env))
    return LoadedConfig(config=config, sources=sources, warnings=warnings, files=files)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def read_mapping(path: Path) -> tuple[dict, yamlio.LineMap]:
    """Parse a config file; its top level must be a mapping (an empty file is ``{}``)."""
    try:
        data, lines = yamlio.load(path, error_cls=ConfigError)
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror or exc}",
            code="RC-CONFIG-006",
            hint="check the file's permissions",
            where=Where(file=str(path)),
        ) from None
    if data is None:
        return {}, lines
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must be a mapping of keys to values, not a {_kind(data)}",
            code="RC-CONFIG-004",
            hint="start the file with keys such as 'backend: aws'",
            where=Where(file=str(path), line=1),
        )
    return data, lines


def _kind(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean"}.get(type(value), type(value).__name__)


def file_layer(path: Path) -> Layer:
    """A layer from one YAML file, every key blamed on ``file:line``."""
    data, lines = read_mapping(path)

    def origin(_path: tuple[str, ...], spelled: tuple[str, ...]) -> Origin:
        where = lines.where(spelled)
        return Origin(f"{path}:{where.line}" if where.line else str(path), where, "file")

    layer = normalize(data, origin, label=str(path))
    layer.locate = lines.where
    legacy.apply_to_layer(layer)
    return layer


def env_layers(env: Mapping[str, str]) -> list[Layer]:
    """One layer per configuration variable: legacy ``ECS_*`` first, then ``RCLAUDE_*``.

    A ``RCLAUDE_`` name with ``__`` is always a key path (unknown -> RC-CONFIG-001); a
    single-segment name that is no top-level key belongs to something else and is
    ignored (so ``RCLAUDE_CONFIG``, ``RCLAUDE_WEBHOOK_SECRET``… are not errors).
    """
    out: list[Layer] = []
    for name, dotted in legacy.LEGACY_ENV.items():
        if name in env:
            layer = _env_layer(name, dotted, env[name])
            layer.warnings.append(f"{name} is deprecated: use {legacy.env_name(dotted)}")
            out.append(layer)
    top = Config.model_fields
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        if "__" not in rest and rest not in top:
            continue
        out.append(_env_layer(name, rest.replace("__", "."), env[name]))
    return out


def near_miss_env(env: Mapping[str, str]) -> list[str]:
    """``RCLAUDE_*`` names that are ignored but look like a misspelled top-level key."""
    found = []
    for name in env:
        rest = name[len(ENV_PREFIX) :].lower() if name.startswith(ENV_PREFIX) else ""
        if (
            rest
            and "__" not in rest
            and rest not in Config.model_fields
            and name not in RESERVED_ENV
        ):
            import difflib

            near = difflib.get_close_matches(rest, list(Config.model_fields), n=1, cutoff=0.85)
            if near:
                found.append(f"{name} is ignored: did you mean {legacy.env_name(near[0])}?")
    return found


def _env_layer(name: str, dotted: str, raw: str) -> Layer:
    label = f"env {name}"
    path, model, leaf = keys.resolve(dotted, origin=label, env_style=True)
    value = keys.parse_text(raw, model, leaf, label=label)
    nested: dict[str, Any] = {}
    set_path(nested, path, value)

    def origin(norm: tuple[str, ...], spelled: tuple[str, ...]) -> Origin:
        return Origin(label, Where(key=".".join(spelled)), "env")

    layer = normalize(nested, origin, label=label)
    legacy.apply_to_layer(layer)
    return layer


def flags_layer(overrides: Mapping[str, Any]) -> Layer:
    """A layer from CLI flags: a nested dict; ``"a.b"`` keys nest; None values are dropped."""
    nested = _expand(overrides)

    def origin(norm: tuple[str, ...], spelled: tuple[str, ...]) -> Origin:
        flag = "--" + "-".join(_kebab(p) for p in spelled)
        return Origin(f"flag {flag}", Where(key=".".join(spelled)), "flag")

    layer = normalize(nested, origin, label="flags")
    legacy.apply_to_layer(layer)
    return layer


def _expand(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            value = _expand(value)
            if not value:
                continue
        parts = str(key).split(".")
        sub = {parts[-1]: value}
        for part in reversed(parts[:-1]):
            sub = {part: sub}
        merge_into(out, sub)
    return out


def _kebab(spelling: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"-\1", spelling).lower().replace("_", "-")
