"""Choosing a backend: provider first, then (for aws) the mode.

The one-line descriptions here feed the interactive picker of ``rclaude config
backend``, its non-interactive error message and the JSON Schema, so they are written
once. :func:`choose` checks a provider/mode pair (legacy names included) without
touching any file.
"""

from __future__ import annotations

from dataclasses import dataclass

from rclaude.config import legacy
from rclaude.config.schema import LEGACY_BACKENDS
from rclaude.errors import UsageError, closest

#: Providers in the order the picker offers them, with a one-line description.
PROVIDER_INFO: dict[str, str] = {
    "codespace": "GitHub Codespaces: a cloud dev environment per worker",
    "aws": "your AWS account: EC2, ECS or Fargate workers (then pick a mode)",
    "fly": "Fly.io Machines: fast-booting micro-VMs",
    "local": "processes on this machine (no cloud account needed)",
}

#: AWS modes with a one-line description.
MODE_INFO: dict[str, str] = {
    "ec2": "spot/on-demand instance per worker",
    "ecs": "ECS on EC2: containers on a cluster of instances",
    "shared": "multi-tenant instances: several workers per instance",
    "fargate": "serverless containers: no instances to manage",
}

#: What to do after choosing a provider.
NEXT_STEP: dict[str, str] = {
    "aws": "run `rclaude init-deployment` to create the AWS resources, then `rclaude run`",
    "fly": "set the app with `rclaude config set fly.app NAME` and export FLY_API_TOKEN",
    "codespace": "set the repository with `rclaude config set codespace.repo OWNER/NAME` "
    "and export GITHUB_TOKEN",
    "local": "run a task: `rclaude run -- echo hello`",
}


@dataclass(frozen=True)
class BackendChoice:
    """A checked provider and mode; ``warning`` is set when a legacy name was used."""

    provider: str
    mode: str | None = None
    warning: str | None = None

    @property
    def summary(self) -> str:
        return f"Backend: {self.provider}" + (f" / mode: {self.mode}" if self.mode else "")

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.provider]


def choices_text() -> str:
    """Providers and modes with their descriptions, one per line (for usage errors)."""
    lines = [f"  {name:<10} {text}" for name, text in PROVIDER_INFO.items()]
    lines += [f"  aws --mode {name:<8} {text}" for name, text in MODE_INFO.items()]
    return "\n".join(lines)


def choose(provider: str, mode: str | None = None) -> BackendChoice:
    """Check ``provider`` (or a legacy backend name) and ``mode``.

    Raises UsageError (exit 64): unknown provider or mode (listing the choices), a mode
    with a provider other than aws, or a legacy name with a different mode.
    """
    warning = None
    if provider in LEGACY_BACKENDS:
        implied = LEGACY_BACKENDS[provider][1]
        if mode is not None and mode != implied:
            raise UsageError(
                f"'{provider}' means aws mode '{implied}', but --mode is '{mode}'",
                code="RC-CONFIG-009",
                hint=f"use: rclaude config backend aws --mode {mode}",
            )
        warning = (
            f"backend '{provider}' is deprecated: use {legacy.new_form(provider)} "
            f"(written in the new form)"
        )
        provider, mode = LEGACY_BACKENDS[provider]
    if provider not in PROVIDER_INFO:
        near = closest(provider, list(PROVIDER_INFO) + list(LEGACY_BACKENDS))
        raise UsageError(
            f"unknown provider '{provider}'; valid choices: {', '.join(PROVIDER_INFO)}",
            code="RC-CONFIG-008",
            hint=(f"did you mean '{near}'? " if near else "")
            + f"old names {', '.join(LEGACY_BACKENDS)} are accepted too",
        )
    if mode is not None and provider != "aws":
        raise UsageError(
            f"--mode applies to the aws provider only, not to '{provider}'",
            code="RC-CONFIG-009",
            hint=f"drop --mode, or use: rclaude config backend aws --mode {mode}",
        )
    if mode is not None and mode not in MODE_INFO:
        near = closest(mode, list(MODE_INFO))
        raise UsageError(
            f"unknown aws mode '{mode}'; valid choices: {', '.join(MODE_INFO)}",
            code="RC-CONFIG-008",
            hint=(f"did you mean '{near}'? " if near else "") + f"modes: {', '.join(MODE_INFO)}",
        )
    return BackendChoice(provider=provider, mode=mode, warning=warning)
