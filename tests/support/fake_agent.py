#!/usr/bin/env python3
"""A stand-in coding agent that speaks Claude Code's headless stream-json format.

Usage (like ``claude``): ``fake_agent.py -p PROMPT --output-format stream-json --verbose``.
It prints init, assistant text, a tool call (Write), its tool result, an event type the
parser does not know, and a final result with usage and cost — one JSON object per line,
one of them written in two pieces with a flush between. It really writes the file it
"edits" (``$FAKE_AGENT_FILE`` or ``AGENT_NOTES.md`` in the cwd) so git workflows see a
change. ``FAKE_AGENT_FAIL=1`` ends with an error result and exit status 1.
"""

from __future__ import annotations

import json
import os
import sys
import time


def emit(obj: dict, *, split: bool = False) -> None:
    line = json.dumps(obj) + "\n"
    if split:
        half = len(line) // 2
        sys.stdout.write(line[:half])
        sys.stdout.flush()
        time.sleep(0.01)
        line = line[half:]
    sys.stdout.write(line)
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    prompt = argv[argv.index("-p") + 1] if "-p" in argv else sys.stdin.read()
    if "--output-format" in argv and argv[argv.index("--output-format") + 1] != "stream-json":
        print(f"fake agent: {prompt}")
        return 0
    sid = "5f8c0d1e-0000-4000-8000-000000000001"
    failing = os.environ.get("FAKE_AGENT_FAIL") == "1"
    target = os.environ.get("FAKE_AGENT_FILE", "AGENT_NOTES.md")
    emit(
        {
            "type": "system",
            "subtype": "init",
            "session_id": sid,
            "cwd": os.getcwd(),
            "model": "claude-sonnet-4-5",
            "tools": ["Bash", "Read", "Write"],
            "permissionMode": "default",
            "apiKeySource": "ANTHROPIC_API_KEY",
        }
    )
    emit(
        {
            "type": "assistant",
            "session_id": sid,
            "parent_tool_use_id": None,
            "message": {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": f"I will work on: {prompt}"}],
                "usage": {"input_tokens": 120, "output_tokens": 12},
            },
        }
    )
    tool_id = "toolu_01ABC"
    emit(
        {
            "type": "assistant",
            "session_id": sid,
            "parent_tool_use_id": None,
            "message": {
                "id": "msg_02",
                "type": "message",
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": tool_id,
                        "name": "Write",
                        "input": {"file_path": target, "content": prompt},
                    }
                ],
                "usage": {"input_tokens": 140, "output_tokens": 30},
            },
        },
        split=True,
    )
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(prompt + "\n")
    emit(
        {
            "type": "user",
            "session_id": sid,
            "parent_tool_use_id": None,
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": tool_id,
                        "is_error": False,
                        "content": [{"type": "text", "text": f"File created at {target}"}],
                    }
                ],
            },
        }
    )
    emit({"type": "stream_event", "session_id": sid, "event": {"type": "ping"}})
    usage = {
        "input_tokens": 260,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1000,
        "output_tokens": 42,
    }
    emit(
        {
            "type": "result",
            "subtype": "error_during_execution" if failing else "success",
            "is_error": failing,
            "duration_ms": 1234,
            "duration_api_ms": 1000,
            "num_turns": 2,
            "result": "failed" if failing else f"Wrote {target}",
            "session_id": sid,
            "total_cost_usd": 0.0123,
            "usage": usage,
        }
    )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
