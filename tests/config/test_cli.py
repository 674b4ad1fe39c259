"""The config commands through the real CLI (subprocesses) and typer's CliRunner."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from rclaude import yamlio
from rclaude.cli.main import build_app
from tests.config.conftest import SEED_YAML


def test_show_json_reports_file_line_provenance(sandbox):
    sandbox.write_user(SEED_YAML)
    sandbox.write_project("aws:\n  mode: ecs\n")
    r = sandbox.cli("config", "show", "--json", env={"RCLAUDE_TASKS__MAX_ATTEMPTS": "7"})
    assert r.returncode == 0, r.stderr
    values = json.loads(r.stdout)["values"]
    assert values["aws.mode"] == {"value": "ecs", "source": f"{sandbox.project_file}:2"}
    assert values["aws.ec2.instance_type"]["source"] == f"{sandbox.user_file}:5"
    assert values["tasks.max_attempts"] == {"value": 7, "source": "env RCLAUDE_TASKS__MAX_ATTEMPTS"}
    assert values["aws.fargate.cpu"]["source"] == "default"


def test_show_table_and_deprecation_warning(sandbox):
    sandbox.write_project("backend: ecs-ec2\n")
    r = sandbox.cli("config", "show")
    assert r.returncode == 0, r.stderr
    assert "backend 'ecs-ec2' is deprecated" in r.stderr and "rclaude migrate" in r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("aws.mode "))
    assert "ecs" in line and f"{sandbox.project_file}:1" in line


def test_config_error_exits_78_with_file_line_and_hint(sandbox):
    sandbox.write_project("aws:\n  ec2:\n    instanceTyp: t3.small\n")
    r = sandbox.cli("config", "show")
    assert r.returncode == 78
    assert "RC-CONFIG-001" in r.stderr and f"{sandbox.project_file}:3" in r.stderr
    assert "did you mean 'instanceType'?" in r.stderr


def test_broken_yaml_exits_78_with_line(sandbox):
    sandbox.write_project("aws:\n  mode: [ecs\n")
    r = sandbox.cli("config", "show")
    assert (
        r.returncode == 78 and "RC-YAML-001" in r.stderr and str(sandbox.project_file) in r.stderr
    )


def test_backend_non_interactive_writes_user_file(sandbox):
    r = sandbox.cli("config", "backend", "aws", "--mode", "ecs")
    assert r.returncode == 0, r.stderr
    assert "Backend: aws / mode: ecs" in r.stdout and "Next:" in r.stdout
    assert yamlio.load(sandbox.user_file)[0] == {"backend": "aws", "aws": {"mode": "ecs"}}
    assert os.stat(sandbox.user_file).st_mode & 0o777 == 0o600


def test_backend_project_flag_and_legacy_provider(sandbox):
    r = sandbox.cli("config", "backend", "ecs-ec2", "--project")
    assert r.returncode == 0, r.stderr
    assert "deprecated" in r.stderr and "backend: aws with aws.mode: ecs" in r.stderr
    assert yamlio.load(sandbox.project_file)[0] == {"backend": "aws", "aws": {"mode": "ecs"}}
    assert not sandbox.user_file.exists()


def test_backend_without_provider_and_no_tty_is_a_usage_error(sandbox):
    r = sandbox.cli("config", "backend")
    assert r.returncode == 64
    for word in ("codespace", "aws", "fly", "local", "fargate", "serverless containers"):
        assert word in r.stderr
    assert not sandbox.user_file.exists()


def test_backend_mode_with_non_aws_provider_is_an_error(sandbox):
    r = sandbox.cli("config", "backend", "fly", "--mode", "ecs")
    assert r.returncode == 64 and "aws provider only" in r.stderr
    assert not sandbox.user_file.exists()


def test_set_writes_and_invalid_set_leaves_file_identical(sandbox):
    r = sandbox.cli("config", "set", "aws.ec2.instanceType", "c5.large", "--project")
    assert r.returncode == 0, r.stderr
    before = sandbox.project_file.read_bytes()
    r = sandbox.cli("config", "set", "aws.mode", "ecx", "--project")
    assert r.returncode == 78 and "ec2, ecs, shared, fargate" in r.stderr
    assert sandbox.project_file.read_bytes() == before
    r = sandbox.cli("config", "set", "aws.ec2.instanceTyp", "x")
    assert r.returncode == 78 and "instanceType" in r.stderr


def test_schema_out_and_path(sandbox, tmp_path):
    out = tmp_path / "rclaude.schema.json"
    r = sandbox.cli("config", "schema", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["$id"].startswith("urn:rclaude:")
    sandbox.write_project("backend: local\n")
    r = sandbox.cli("config", "path")
    assert r.returncode == 0, r.stderr
    assert f"user     {sandbox.user_file}  (not found)" in r.stdout
    assert f"project  {sandbox.project_file}" in r.stdout


def test_migrate_command_backup_and_idempotent(sandbox):
    sandbox.write_user("backend: ec2\n")
    sandbox.write_project("# mine\nbackend: ecs-ec2\n")
    r = sandbox.cli("migrate", "--dry-run")
    assert r.returncode == 0 and r.stdout.count("would migrate") == 2
    assert sandbox.project_file.read_text() == "# mine\nbackend: ecs-ec2\n"
    r = sandbox.cli("migrate")
    assert r.returncode == 0 and r.stdout.count("migrated") == 2, r.stderr
    assert (sandbox.project / ".rclaude.yaml.bak").read_text() == "# mine\nbackend: ecs-ec2\n"
    content = sandbox.project_file.read_bytes()
    r = sandbox.cli("migrate", "--file", str(sandbox.project_file))
    assert r.returncode == 0 and "already up to date" in r.stdout
    assert sandbox.project_file.read_bytes() == content
    assert not (sandbox.project / ".rclaude.yaml.bak.1").exists()


def test_cli_runner_show_json_in_process(sandbox):
    sandbox.write_project("backend: fly\n")
    result = CliRunner().invoke(build_app(), ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)["values"]
    assert values["backend"] == {"value": "fly", "source": f"{sandbox.project_file}:1"}


def test_cli_runner_set_then_show(sandbox):
    runner, app = CliRunner(), build_app()
    assert runner.invoke(app, ["config", "set", "worker.concurrency", "4"]).exit_code == 0
    values = json.loads(runner.invoke(app, ["config", "show", "--json"]).stdout)["values"]
    assert values["worker.concurrency"] == {"value": 4, "source": f"{sandbox.user_file}:2"}


def test_bare_config_prints_help(sandbox):
    r = sandbox.cli("config")
    assert r.returncode == 0 and "backend" in r.stdout and "schema" in r.stdout
