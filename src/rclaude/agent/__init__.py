"""Coding-agent tasks: the command line to run and the events in its output.

- :func:`build_command` turns ``agent.command`` (a list with a ``{prompt}`` placeholder)
  and a prompt into an argv. The prompt is substituted as one argument, never through a
  shell, and its own braces are left alone. API keys are not part of the command: they
  reach the agent through its environment (the worker's secret store).
- :func:`parse_stream` turns the agent's stream-json stdout into :class:`AgentEvent` s.
"""

from __future__ import annotations

import re

from rclaude.agent.events import AgentEvent, StreamParser, parse_stream, summarize
from rclaude.errors import ConfigError, ValidationError, Where

PLACEHOLDER = "{prompt}"
#: Arguments that look like credentials (Anthropic/OpenAI keys, --api-key flags).
_KEY_LIKE = re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}|--api[-_]key\b", re.IGNORECASE)

__all__ = ["AgentEvent", "StreamParser", "build_command", "parse_stream", "summarize"]


def build_command(agent_settings, prompt: str) -> list[str]:
    """The agent's argv for ``prompt``; ConfigError if ``agent.command`` has no placeholder."""
    template = list(agent_settings.command)
    if not template:
        raise ConfigError(
            "agent.command is empty",
            code="RC-AGENT-001",
            where=Where(key="agent.command"),
            hint='e.g. ["claude", "-p", "{prompt}", "--output-format", "stream-json", "--verbose"]',
        )
    if not any(PLACEHOLDER in arg for arg in template):
        raise ConfigError(
            "agent.command has no {prompt} placeholder",
            code="RC-AGENT-002",
            where=Where(key="agent.command"),
            hint='put {prompt} where the prompt goes, e.g. ["claude", "-p", "{prompt}"]',
        )
    for arg in template:
        if _KEY_LIKE.search(arg):
            raise ConfigError(
                "agent.command appears to contain an API key",
                code="RC-AGENT-005",
                where=Where(key="agent.command"),
                hint="remove it; store the key as a secret (e.g. ANTHROPIC_API_KEY) and the "
                "worker passes it in the agent's environment",
            )
    if not prompt or not prompt.strip():
        raise ValidationError(
            "the prompt is empty", code="RC-AGENT-003", hint='give --prompt "what to do"'
        )
    if "\x00" in prompt:
        raise ValidationError("the prompt contains a NUL byte", code="RC-AGENT-004")
    return [arg.replace(PLACEHOLDER, prompt) for arg in template]
