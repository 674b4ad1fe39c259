"""Fixtures for the config room: an isolated HOME, XDG config dir, project and env."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from rclaude.config.legacy import LEGACY_ENV

#: The configuration block of DESIGN.md, verbatim.
SEED_YAML = """\
backend: aws
aws:
  mode: ec2            # ec2 | ecs | shared | fargate
  region: us-east-1
  ec2: {instanceType: t3.medium, spotInstance: true}
  ecs: {clusterName: remote-claude, instanceType: t3.medium}
  shared: {instanceType: t3.large, maxTasksPerInstance: 10}
"""


@dataclass
class Sandbox:
    home: Path
    xdg: Path
    project: Path

    @property
    def user_file(self) -> Path:
        return self.xdg / "rclaude" / "config.yaml"

    @property
    def project_file(self) -> Path:
        return self.project / ".rclaude.yaml"

    def write_user(self, text: str) -> Path:
        self.user_file.parent.mkdir(parents=True, exist_ok=True)
        self.user_file.write_text(text)
        return self.user_file

    def write_project(self, text: str) -> Path:
        self.project_file.write_text(text)
        return self.project_file

    def cli(
        self, *args: str, env: dict | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess:
        """Run the real CLI in a subprocess, stdin not a terminal."""
        return subprocess.run(
            [sys.executable, "-m", "rclaude.cli.main", *args],
            cwd=cwd or self.project,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def sandbox(tmp_path, monkeypatch) -> Sandbox:
    """HOME, XDG_CONFIG_HOME and cwd under tmp_path; no RCLAUDE_*/ECS_* variables."""
    box = Sandbox(home=tmp_path / "home", xdg=tmp_path / "xdg", project=tmp_path / "proj")
    for d in (box.home, box.xdg, box.project):
        d.mkdir()
    monkeypatch.setenv("HOME", str(box.home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(box.xdg))
    monkeypatch.setenv("COLUMNS", "200")
    for name in list(os.environ):
        if name.startswith("RCLAUDE_") or name in LEGACY_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(box.project)
    return box
