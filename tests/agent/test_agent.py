"""Agent command building and the stream-json parser, driven by a real agent process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rclaude.agent import AgentEvent, build_command, parse_stream, summarize
from rclaude.agent.events import StreamParser
from rclaude.config.schema import AgentSettings
from rclaude.errors import ConfigError, ValidationError

FAKE_AGENT = Path(__file__).resolve().parents[1] / "support" / "fake_agent.py"


def agent_settings() -> AgentSettings:
    return AgentSettings(
        command=[
            sys.executable,
            str(FAKE_AGENT),
            "-p",
            "{prompt}",
            "--output-format",
            "stream-json",
            "--verbose",
        ]
    )


def run_agent(prompt: str, cwd: Path, env=None, chunk: int = 7) -> tuple[list[AgentEvent], int]:
    """Run the agent and feed its stdout to the parser in small, arbitrary chunks."""
    argv = build_command(agent_settings(), prompt)
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, env=env)

    def chunks():
        while data := proc.stdout.read(chunk):
            yield data

    events = list(parse_stream(chunks()))
    return events, proc.wait()


def test_default_command_is_claude_headless_stream_json():
    argv = build_command(AgentSettings(), "fix the tests")
    assert argv == ["claude", "-p", "fix the tests", "--output-format", "stream-json", "--verbose"]


def test_prompt_is_one_argument_and_its_braces_are_kept():
    prompt = 'say "{prompt}" and {x}; rm -rf / $(whoami)'
    argv = build_command(AgentSettings(command=["agent", "--task={prompt}"]), prompt)
    assert argv == ["agent", f"--task={prompt}"]


@pytest.mark.parametrize("command", [[], ["claude", "-p"]])
def test_command_without_placeholder_is_config_error(command):
    with pytest.raises(ConfigError) as err:
        build_command(AgentSettings(command=command), "hi")
    assert err.value.where.key == "agent.command"


def test_empty_prompt_rejected():
    with pytest.raises(ValidationError):
        build_command(AgentSettings(), "   ")


def test_fake_agent_stream_parsed_into_events(tmp_path):
    events, status = run_agent("add a README", tmp_path)
    assert status == 0
    kinds = [e.kind for e in events]
    assert kinds == ["init", "text", "tool_call", "tool_result", "other", "result"]
    init, text, call, result_ev, other, final = events
    assert init.session_id and init.model == "claude-sonnet-4-5"
    assert text.text == "I will work on: add a README"
    assert call.tool == "Write" and call.input["content"] == "add a README"
    assert result_ev.tool_id == call.tool_id and result_ev.is_error is False
    assert "File created" in result_ev.text
    assert other.raw_type == "stream_event"
    assert final.subtype == "success" and final.cost_usd == pytest.approx(0.0123)
    assert final.usage == {
        "input_tokens": 260,
        "output_tokens": 42,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1000,
    }
    assert (tmp_path / "AGENT_NOTES.md").read_text() == "add a README\n"
    summary = summarize(events)
    assert summary["tool_calls"] == 1 and summary["is_error"] is False
    assert summary["tokens"]["output_tokens"] == 42 and summary["result"] == "Wrote AGENT_NOTES.md"


def test_failing_agent_reports_error_result(tmp_path):
    import os

    events, status = run_agent("x", tmp_path, env={**os.environ, "FAKE_AGENT_FAIL": "1"})
    assert status == 1
    assert events[-1].kind == "result" and events[-1].is_error is True
    assert events[-1].subtype == "error_during_execution"


def test_events_serialise_to_json(tmp_path):
    events, _ = run_agent("p", tmp_path, chunk=4096)
    for e in events:
        d = e.to_dict()
        assert json.loads(json.dumps(d))["kind"] == e.kind
        assert None not in d.values()
        assert e.render()
    assert events[-1].render().startswith("■ done (success): 1302 tokens, $0.0123")


def test_malformed_and_partial_lines_are_tolerated():
    lines = [
        "plain log line from a wrapper\n",
        '{"type": "assistant", "message": {"content": [{"type": "text", "text": "hi"}]}}\n',
        '{"type": "assistant", "message": {"content": [{"type": "tex',  # cut mid-line...
        't", "text": "joined"}]}}\n',  # ...and continued
        "\n",
        '{"broken json\n',
        "[1, 2]\n",
        '{"type": "brand_new_event", "x": 1}\n',
        '{"type": "assistant", "message": {"content": [{"type": "image", "source": {}}]}}\n',
        '{"type": "assistant", "message": "not a dict"}\n',
        '{"type": "result", "subtype": "success", "usage": "n/a", "total_cost_usd": "free"}',
    ]
    events = list(parse_stream(lines))
    assert [e.kind for e in events] == [
        "raw",
        "text",
        "text",
        "raw",
        "other",
        "other",
        "other",
        "other",
        "result",
    ]
    assert events[0].text == "plain log line from a wrapper"
    assert events[2].text == "joined"
    assert events[3].text == '{"broken json'
    assert events[5].raw_type == "brand_new_event"
    assert events[6].raw_type == "assistant.image"
    assert events[-1].usage is None and events[-1].cost_usd is None


def test_utf8_split_across_byte_chunks():
    line = (
        json.dumps(
            {
                "type": "assistant",
                "message": {"content": [{"type": "text", "text": "héllo → 世界"}]},
            },
            ensure_ascii=False,
        ).encode()
        + b"\n"
    )
    pieces = [line[i : i + 1] for i in range(len(line))]
    (event,) = list(parse_stream(pieces))
    assert event.text == "héllo → 世界"


def test_truncated_last_line_becomes_raw():
    parser = StreamParser()
    assert parser.feed(b'{"type": "result", "subtype": "succ') == []
    (event,) = parser.finish()
    assert event.kind == "raw" and event.text.startswith('{"type": "result"')


@pytest.mark.parametrize(
    "command",
    [
        ["claude", "-p", "{prompt}", "--api-key", "x"],
        ["agent", "--key=sk-ant-api03-abcdefghijklmnop1234", "{prompt}"],
    ],
)
def test_api_key_on_the_command_line_is_refused(command):
    with pytest.raises(ConfigError) as err:
        build_command(AgentSettings(command=command), "hi")
    assert err.value.code == "RC-AGENT-005"
