"""Structured events parsed from a coding agent's ``stream-json`` output.

Claude Code in headless mode (``claude -p PROMPT --output-format stream-json --verbose``)
writes one JSON object per line:

- ``{"type": "system", "subtype": "init", "session_id", "model", "tools", "cwd", …}``
- ``{"type": "assistant", "message": {"content": [{"type": "text", "text"} |
  {"type": "tool_use", "id", "name", "input"} | {"type": "thinking", "thinking"}], "usage"}}``
- ``{"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id",
  "content", "is_error"}]}}``
- ``{"type": "result", "subtype": "success" | "error_max_turns" | "error_during_execution",
  "is_error", "result", "total_cost_usd", "usage", "duration_ms", "num_turns", "session_id"}``

The parser is tolerant: unknown event or content types become ``other`` events (their
type kept), lines that are not JSON become ``raw`` events (text kept), a line split across
reads is joined before parsing, and bytes split inside a UTF-8 character are decoded
correctly. It never raises on input.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

#: Lines longer than this without a newline are emitted as truncated raw events.
MAX_LINE = 8 * 1024 * 1024
TOKEN_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


@dataclass(frozen=True)
class AgentEvent:
    """One thing the agent did or said. ``kind`` is one of:
    init, text, thinking, tool_call, tool_result, result, raw, other."""

    kind: str
    text: str | None = None
    tool: str | None = None
    tool_id: str | None = None
    input: dict[str, Any] | None = None
    is_error: bool | None = None
    session_id: str | None = None
    model: str | None = None
    subtype: str | None = None
    usage: dict[str, int] | None = None
    cost_usd: float | None = None
    duration_ms: int | None = None
    num_turns: int | None = None
    raw_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict without empty fields."""
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, "")}

    def render(self, width: int = 200) -> str:
        """One human line for ``logs`` / ``attach``."""

        def cut(s: str) -> str:
            s = " ".join(s.split())
            return s if len(s) <= width else s[: width - 1] + "…"

        if self.kind == "init":
            return f"● session {self.session_id or '?'} ({self.model or 'agent'})"
        if self.kind == "text":
            return cut(self.text or "")
        if self.kind == "thinking":
            return "… " + cut(self.text or "")
        if self.kind == "tool_call":
            args = json.dumps(self.input or {}, ensure_ascii=False)
            return f"→ {self.tool}({cut(args)})"
        if self.kind == "tool_result":
            mark = "✗" if self.is_error else "←"
            return f"{mark} {cut(self.text or '')}"
        if self.kind == "result":
            tokens = sum((self.usage or {}).get(k, 0) for k in TOKEN_KEYS)
            cost = f"${self.cost_usd:.4f}" if self.cost_usd is not None else "?"
            status = "error" if self.is_error else "done"
            return f"■ {status} ({self.subtype}): {tokens} tokens, {cost}"
        if self.kind == "raw":
            return cut(self.text or "")
        return f"[{self.raw_type}]"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif isinstance(block, str):
                parts.append(block)
        return "\n".join(parts)
    return "" if content is None else json.dumps(content)


def _usage(obj: Any) -> dict[str, int] | None:
    if not isinstance(obj, dict):
        return None
    out = {k: int(obj[k]) for k in TOKEN_KEYS if isinstance(obj.get(k), int | float)}
    return out or None


def events_from_object(obj: Any) -> list[AgentEvent]:
    """Events for one decoded JSON line."""
    if not isinstance(obj, dict):
        return [AgentEvent("other", raw_type=type(obj).__name__, extra={"value": obj})]
    etype = obj.get("type")
    sid = obj.get("session_id")
    if etype == "system":
        if obj.get("subtype") == "init":
            return [
                AgentEvent(
                    "init",
                    session_id=sid,
                    model=obj.get("model"),
                    subtype="init",
                    extra={"cwd": obj.get("cwd"), "tools": obj.get("tools") or []},
                )
            ]
        return [AgentEvent("other", raw_type="system", subtype=obj.get("subtype"), session_id=sid)]
    if etype in ("assistant", "user"):
        message = obj.get("message") if isinstance(obj.get("message"), dict) else {}
        content = message.get("content")
        if isinstance(content, str):
            kind = "text" if etype == "assistant" else "other"
            return [AgentEvent(kind, text=content, session_id=sid, raw_type=etype)]
        events = []
        for block in content if isinstance(content, list) else []:
            btype = block.get("type") if isinstance(block, dict) else None
            if btype == "text":
                events.append(AgentEvent("text", text=str(block.get("text", "")), session_id=sid))
            elif btype == "thinking":
                events.append(
                    AgentEvent("thinking", text=str(block.get("thinking", "")), session_id=sid)
                )
            elif btype == "tool_use":
                events.append(
                    AgentEvent(
                        "tool_call",
                        tool=block.get("name"),
                        tool_id=block.get("id"),
                        input=block.get("input") if isinstance(block.get("input"), dict) else {},
                        session_id=sid,
                    )
                )
            elif btype == "tool_result":
                events.append(
                    AgentEvent(
                        "tool_result",
                        tool_id=block.get("tool_use_id"),
                        text=_text_of(block.get("content")),
                        is_error=bool(block.get("is_error", False)),
                        session_id=sid,
                    )
                )
            else:
                events.append(AgentEvent("other", raw_type=f"{etype}.{btype}", session_id=sid))
        if events and etype == "assistant" and message.get("usage"):
            last = events[-1]
            events[-1] = AgentEvent(**{**last.__dict__, "usage": _usage(message["usage"])})
        return events or [AgentEvent("other", raw_type=etype, session_id=sid)]
    if etype == "result":
        cost = obj.get("total_cost_usd", obj.get("cost_usd"))
        return [
            AgentEvent(
                "result",
                text=obj.get("result") if isinstance(obj.get("result"), str) else None,
                is_error=bool(obj.get("is_error", False)),
                session_id=sid,
                subtype=obj.get("subtype"),
                usage=_usage(obj.get("usage")),
                cost_usd=float(cost) if isinstance(cost, int | float) else None,
                duration_ms=obj.get("duration_ms")
                if isinstance(obj.get("duration_ms"), int)
                else None,
                num_turns=obj.get("num_turns") if isinstance(obj.get("num_turns"), int) else None,
            )
        ]
    return [AgentEvent("other", raw_type=str(etype), session_id=sid)]


def parse_line(line: str) -> list[AgentEvent]:
    stripped = line.strip()
    if not stripped:
        return []
    if stripped[0] in "{[":
        try:
            return events_from_object(json.loads(stripped))
        except ValueError:
            pass
    return [AgentEvent("raw", text=stripped)]


class StreamParser:
    """Incremental parser: ``feed`` bytes or text in any pieces, ``finish`` at the end."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""

    def feed(self, data: str | bytes) -> list[AgentEvent]:
        text = self._decoder.decode(data) if isinstance(data, bytes | bytearray) else data
        self._buf += text
        out: list[AgentEvent] = []
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            out.extend(parse_line(line))
        if len(self._buf) > MAX_LINE:
            out.append(AgentEvent("raw", text=self._buf[:1000], extra={"truncated": True}))
            self._buf = ""
        return out

    def finish(self) -> list[AgentEvent]:
        """Parse what is left (a last line without newline, possibly cut short)."""
        self._buf += self._decoder.decode(b"", final=True)
        rest, self._buf = self._buf, ""
        return parse_line(rest)


def parse_stream(chunks: Iterable[str | bytes]) -> Iterator[AgentEvent]:
    """Events from lines or arbitrary chunks of an agent's stdout."""
    parser = StreamParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.finish()


def summarize(events: Iterable[AgentEvent]) -> dict[str, Any]:
    """Totals for a task's result: tool calls, tokens, cost, final text, error flag."""
    summary: dict[str, Any] = {"tool_calls": 0, "tokens": {}, "cost_usd": None, "result": None}
    for ev in events:
        if ev.kind == "tool_call":
            summary["tool_calls"] += 1
        elif ev.kind == "init":
            summary["session_id"] = ev.session_id
            summary["model"] = ev.model
        elif ev.kind == "result":
            summary.update(
                result=ev.text,
                is_error=ev.is_error,
                subtype=ev.subtype,
                cost_usd=ev.cost_usd,
                tokens=dict(ev.usage or {}),
                num_turns=ev.num_turns,
                duration_ms=ev.duration_ms,
            )
    return summary
