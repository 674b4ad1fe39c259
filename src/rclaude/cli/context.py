"""Builds the Platform (or the server client) for a CLI command from layered config."""

from __future__ import annotations

from typing import Any

from rclaude.cli.render import warn


def load(overrides: dict[str, Any] | None = None):
    from rclaude.config import load_config

    loaded = load_config(overrides=overrides or None)
    for w in loaded.warnings:
        warn(w)
    return loaded.config


def platform(overrides: dict[str, Any] | None = None):
    from rclaude.platform import Platform

    return Platform(load(overrides))


def service(overrides: dict[str, Any] | None = None):
    """The TaskService, or its HTTP twin when ``server.url`` is configured."""
    cfg = load(overrides)
    if cfg.server.url:
        from rclaude.client import RemoteTaskService

        return RemoteTaskService(cfg)
    from rclaude.platform import Platform

    return Platform(cfg).service
