"""JSON Schema of ``config.yaml`` / ``.rclaude.yaml`` for editors (yaml-language-server).

Derived from the pydantic schema by alias (camelCase), then made friendlier:

- titles are readable ("Instance type", not pydantic's "Instancetype");
- descriptions come from the ``#:`` comments and docstrings in ``schema.py`` (so new
  fields document themselves), with a few written here for the main keys;
- the snake_case spelling of each key is accepted too (rclaude accepts both) but
  marked ``doNotSuggest`` so completion offers one spelling;
- legacy backend names validate, marked ``deprecated``.

Use it with ``# yaml-language-server: $schema=<path to rclaude-config.schema.json>``
as the first line of a config file (``rclaude config schema --out FILE`` writes it).
"""

from __future__ import annotations

import ast
import copy
import inspect
from typing import Any

from pydantic import BaseModel

from rclaude.config import backends, keys
from rclaude.config import schema as schema_module
from rclaude.config.schema import LEGACY_BACKENDS, Config

SCHEMA_ID = "urn:rclaude:schema:config:1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: Descriptions for keys whose meaning the schema's comments do not spell out.
DESCRIPTIONS: dict[str, str] = {
    "backend": "Where workers run: the provider (for aws, pick the mode under aws.mode).",
    "data_dir": "Directory for the embedded queue, store and logs (default: the user data dir).",
    "queue": "Task queue: the embedded SQLite file or Amazon SQS.",
    "storage": "Project snapshots: a directory on disk or Amazon S3.",
    "log": "Task output log: the embedded SQLite file or Redis Streams.",
    "aws.mode": "How AWS runs workers: "
    + "; ".join(f"{k} = {v}" for k, v in backends.MODE_INFO.items()),
    "aws.region": "AWS region for every AWS resource rclaude uses.",
    "aws.profile": "Named AWS profile (from ~/.aws/config); unset = the default chain.",
    "orchestrator.min_workers": "Workers kept running even with an empty queue.",
    "orchestrator.max_workers": "Upper bound on workers the orchestrator starts.",
    "orchestrator.messages_per_worker": "Queued tasks per worker when scaling up.",
}

#: Sections without a docstring in schema.py.
SECTION_DESCRIPTIONS: dict[str, str] = {
    "aws": "Amazon Web Services provider: mode, region and per-mode settings.",
    "fly": "Fly.io Machines provider.",
    "codespace": "GitHub Codespaces provider.",
    "tasks": "Defaults for every task: timeout, retries, lease.",
    "worker": "How a worker runs tasks and when it exits.",
    "orchestrator": "Autoscaling: desired = clamp(ceil(depth / messagesPerWorker), min, max).",
    "sqs": "Amazon SQS queue (queue: sqs).",
    "s3": "Amazon S3 object store (storage: s3).",
    "redis": "Redis Streams output log (log: redis).",
    "server": "The rclaude HTTP/WebSocket server.",
    "agent": "The coding agent run for prompt tasks.",
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`~rclaude.config.schema.Config`, by alias, with ``$id``."""
    base = Config.model_json_schema(by_alias=True, mode="validation")
    defs = base.pop("$defs", {})
    comments = _field_comments()
    _decorate(Config, base, defs, (), comments, set())
    out: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "rclaude configuration",
        "description": "rclaude's config.yaml and .rclaude.yaml (keys in camelCase or snake_case).",
    }
    out.update({k: v for k, v in base.items() if k not in ("title", "description")})
    out["$defs"] = defs
    _allow_legacy_backends(out["properties"]["backend"])
    return out


def _allow_legacy_backends(backend: dict[str, Any]) -> None:
    """backend: the providers (described for completion), or a deprecated legacy name."""
    modern = {"type": backend.pop("type", "string"), "enum": backend.pop("enum", [])}
    modern["enumDescriptions"] = [backends.PROVIDER_INFO.get(p, "") for p in modern["enum"]]
    legacy_names = {
        "type": "string",
        "enum": list(LEGACY_BACKENDS),
        "deprecated": True,
        "description": "Legacy name: run `rclaude migrate` ("
        + ", ".join(f"{old} -> {p}/{m}" for old, (p, m) in LEGACY_BACKENDS.items())
        + ").",
    }
    backend["anyOf"] = [modern, legacy_names]


def _decorate(
    model: type[BaseModel],
    node: dict,
    defs: dict,
    path: tuple[str, ...],
    comments: dict[tuple[str, str], str],
    seen: set[str],
) -> None:
    """Fix titles, add descriptions and snake_case twins to ``node`` (model's schema)."""
    props: dict[str, Any] = node.get("properties", {})
    doc = inspect.getdoc(model) if model.__doc__ else None
    node.setdefault("description", SECTION_DESCRIPTIONS.get(".".join(path), doc or ""))
    if not node["description"]:
        del node["description"]
    for name, info in model.model_fields.items():
        spelled = info.alias or name
        prop = props.get(spelled)
        if prop is None:
            continue
        dotted = ".".join((*path, name))
        prop["title"] = name.replace("_", " ").capitalize()
        text = DESCRIPTIONS.get(dotted) or comments.get((model.__name__, name))
        sub = keys.section(model, name)
        if sub is not None:
            text = text or SECTION_DESCRIPTIONS.get(dotted)
            target = defs.get(sub.__name__)
            if target is not None and sub.__name__ not in seen:
                seen.add(sub.__name__)
                _decorate(sub, target, defs, (*path, name), comments, seen)
        if text:
            prop["description"] = text
        if spelled != name:
            twin = copy.deepcopy(prop)
            twin["doNotSuggest"] = True
            props[name] = twin


def _field_comments() -> dict[tuple[str, str], str]:
    """``#:`` comments above fields in schema.py -> {(class name, field): text}."""
    try:
        source = inspect.getsource(schema_module)
    except OSError:  # pragma: no cover - no source (zipapp): titles only
        return {}
    lines = source.splitlines()
    out: dict[tuple[str, str], str] = {}
    for cls in ast.parse(source).body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for stmt in cls.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                texts = []
                i = stmt.lineno - 2
                while i >= 0 and lines[i].strip().startswith("#:"):
                    texts.insert(0, lines[i].strip()[2:].strip())
                    i -= 1
                if texts:
                    out[(cls.name, stmt.target.id)] = " ".join(texts).replace("``", "`")
    return out
