"""Fixtures for end-to-end tests through the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class Cli:
    root: Path
    project: Path
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "rclaude.cli", *args]

    def __call__(
        self,
        *args: str,
        input: bytes | None = None,
        timeout: float = 60,
        check: bool = False,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            self.argv(*args),
            input=input,
            capture_output=True,
            timeout=timeout,
            env=self.env,
            cwd=cwd or self.project,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{args} exited {proc.returncode}: {proc.stderr.decode()}")
        return proc

    def json(self, *args: str) -> object:
        return json.loads(self(*args, check=True).stdout)

    def worker_pids(self) -> list[int]:
        out = self("workers", "list", "--json")
        return [w["pid"] for w in json.loads(out.stdout or "[]") if w.get("pid")]


@pytest.fixture
def cli(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLAUDE_")}
    env.update(
        {
            "RCLAUDE_DATA_DIR": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "RCLAUDE_WORKER__IDLE_TIMEOUT": "20",
            "PYTHONUNBUFFERED": "1",
        }
    )
    c = Cli(tmp_path, project, env)
    yield c
    for pid in c.worker_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
