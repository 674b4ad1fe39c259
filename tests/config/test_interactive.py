"""The interactive backend picker, driven through a real pseudo-terminal (pexpect)."""

from __future__ import annotations

import os
import sys

import pexpect

from rclaude import yamlio


def _spawn(sandbox, *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "rclaude.cli.main", "config", "backend", *args],
        cwd=str(sandbox.project),
        env={**os.environ, "TERM": "dumb"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
    )


def test_picker_chooses_aws_then_ecs(sandbox):
    child = _spawn(sandbox)
    child.expect("Where should workers run")
    child.expect("codespace")  # every provider is offered with a description
    child.expect("your AWS account")
    child.expect(r"Provider \[1-4\]: ")
    child.sendline("2")  # aws
    child.expect("How should AWS run them")
    child.expect("serverless containers")
    child.expect(r"Mode \[1-4\]: ")
    child.sendline("nonsense")  # rejected, asked again
    child.expect("choose a number")
    child.expect(r"Mode \[1-4\]: ")
    child.sendline("ecs")
    child.expect("Backend: aws / mode: ecs")
    child.expect("Next:")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert yamlio.load(sandbox.user_file)[0] == {"backend": "aws", "aws": {"mode": "ecs"}}


def test_picker_non_aws_provider_asks_no_mode(sandbox):
    child = _spawn(sandbox, "--project")
    child.expect(r"Provider \[1-4\]: ")
    child.sendline("fly")
    child.expect("Backend: fly")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert yamlio.load(sandbox.project_file)[0] == {"backend": "fly"}
