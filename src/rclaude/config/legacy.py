"""Old spellings that still work: legacy backend names and legacy environment variables.

Before providers and modes, a backend was one flat name. These names are accepted in
every layer and mapped to the new form with a deprecation warning that names it:

    ec2         -> backend: aws, aws.mode: ec2
    ecs-ec2     -> backend: aws, aws.mode: ecs
    ec2-shared  -> backend: aws, aws.mode: shared

The old autoscaling variables ``ECS_MIN_TASKS``, ``ECS_MAX_TASKS`` and
``ECS_MESSAGES_PER_TASK`` set ``orchestrator.minWorkers``, ``maxWorkers`` and
``messagesPerWorker`` (a ``RCLAUDE_ORCHESTRATOR__*`` variable wins over them).
``rclaude migrate`` rewrites legacy backend names in files (:mod:`.migrate`).
"""

from __future__ import annotations

from typing import Any

from rclaude.config.layers import Layer
from rclaude.config.schema import LEGACY_BACKENDS
from rclaude.errors import ConfigError

#: Legacy environment variable -> dotted key it sets.
LEGACY_ENV = {
    "ECS_MIN_TASKS": "orchestrator.min_workers",
    "ECS_MAX_TASKS": "orchestrator.max_workers",
    "ECS_MESSAGES_PER_TASK": "orchestrator.messages_per_worker",
}


def env_name(dotted: str) -> str:
    """The ``RCLAUDE_*`` variable that sets ``dotted`` (snake_case path)."""
    return "RCLAUDE_" + dotted.replace(".", "__").upper()


def is_legacy_backend(value: object) -> bool:
    return isinstance(value, str) and value in LEGACY_BACKENDS


def new_form(old: str) -> str:
    provider, mode = LEGACY_BACKENDS[old]
    return f"backend: {provider} with aws.mode: {mode}"


def backend_warning(old: str, *, kind: str, source: str = "", file: str | None = None) -> str:
    """The deprecation message for legacy backend ``old`` found in a ``kind`` of layer."""
    provider, mode = LEGACY_BACKENDS[old]
    if kind == "file":
        how = f"run `rclaude migrate` to rewrite {file}"
    elif kind == "env":
        how = f"set RCLAUDE_BACKEND={provider} and RCLAUDE_AWS__MODE={mode}"
    else:
        how = f"given as {source}" if source else "given on the command line"
    return f"backend '{old}' is deprecated: use {new_form(old)} ({how})"


def apply_to_layer(layer: Layer) -> None:
    """Map a legacy backend name in ``layer`` to provider + mode, adding a warning.

    The mapped ``aws.mode`` is blamed on the ``backend`` key. A layer that also sets a
    different ``aws.mode`` is contradictory: RC-CONFIG-003.
    """
    old = layer.data.get("backend")
    if not is_legacy_backend(old):
        return
    provider, mode = LEGACY_BACKENDS[old]
    origin = layer.origins["backend"]
    aws = layer.data.setdefault("aws", {})
    layer.origins.setdefault("aws", origin)
    if isinstance(aws, dict):
        current = aws.get("mode")
        if current is not None and current != mode:
            clash = layer.origins.get("aws.mode", origin)
            raise ConfigError(
                f"backend '{old}' means aws.mode '{mode}', but aws.mode is '{current}'",
                code="RC-CONFIG-003",
                hint=f"write backend: {provider} and keep the aws.mode you want",
                where=clash.where,
            )
        aws["mode"] = mode
        layer.origins.setdefault("aws.mode", origin)
    layer.data["backend"] = provider
    layer.warnings.append(
        backend_warning(old, kind=origin.kind, source=origin.source, file=origin.where.file)
    )


def rewrite_backend(raw: dict[str, Any]) -> list[str]:
    """Rewrite a legacy backend name in raw file data (keys as spelled), in place.

    Returns the changes made, as sentences (empty if the data was up to date). A new
    ``aws`` section is placed right after ``backend`` so the file reads naturally.
    """
    old = raw.get("backend")
    if not is_legacy_backend(old):
        return []
    provider, mode = LEGACY_BACKENDS[old]
    aws = raw.get("aws")
    if isinstance(aws, dict):
        current = aws.get("mode")
        if current is not None and current != mode:
            raise ConfigError(
                f"backend '{old}' means aws.mode '{mode}', but aws.mode is '{current}'",
                code="RC-CONFIG-003",
                hint=f"write backend: {provider} and keep the aws.mode you want",
            )
        rest = {k: v for k, v in aws.items() if k != "mode"}
        aws.clear()
        aws.update({"mode": mode, **rest})
        raw["backend"] = provider
    else:
        rebuilt: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "aws":
                continue
            rebuilt[key] = provider if key == "backend" else value
            if key == "backend":
                rebuilt["aws"] = {"mode": mode}
        raw.clear()
        raw.update(rebuilt)
    return [f"backend '{old}' -> {new_form(old)}"]
