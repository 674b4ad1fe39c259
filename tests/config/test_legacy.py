"""Legacy backend names (ec2, ecs-ec2, ec2-shared) and `migrate_file`."""

from __future__ import annotations

import os

import pytest

from rclaude.config import load_config, migrate_file
from rclaude.errors import ConfigError


@pytest.mark.parametrize("old,mode", [("ec2", "ec2"), ("ecs-ec2", "ecs"), ("ec2-shared", "shared")])
def test_legacy_name_in_file_maps_and_warns(sandbox, old, mode):
    path = sandbox.write_project(f"# team default\nbackend: {old}\n")
    loaded = load_config(cwd=sandbox.project, env={})
    assert (loaded.config.backend, loaded.config.aws.mode) == ("aws", mode)
    assert loaded.sources["aws.mode"] == loaded.sources["backend"] == f"{path}:2"
    assert loaded.warnings == [
        f"backend '{old}' is deprecated: use backend: aws with aws.mode: {mode} "
        f"(run `rclaude migrate` to rewrite {path})"
    ]


def test_legacy_name_in_env_and_flags(sandbox):
    loaded = load_config(cwd=sandbox.project, env={"RCLAUDE_BACKEND": "ec2-shared"})
    assert (loaded.config.backend, loaded.config.aws.mode) == ("aws", "shared")
    assert "RCLAUDE_BACKEND=aws and RCLAUDE_AWS__MODE=shared" in loaded.warnings[0]

    loaded = load_config(cwd=sandbox.project, env={}, overrides={"backend": "ecs-ec2"})
    assert (loaded.config.backend, loaded.config.aws.mode) == ("aws", "ecs")
    assert loaded.sources["aws.mode"] == "flag --backend"
    assert "use backend: aws with aws.mode: ecs" in loaded.warnings[0]


def test_legacy_name_with_a_different_mode_in_the_same_file_is_a_contradiction(sandbox):
    sandbox.write_project("backend: ecs-ec2\naws:\n  mode: fargate\n")
    with pytest.raises(ConfigError) as info:
        load_config(cwd=sandbox.project, env={})
    assert info.value.code == "RC-CONFIG-003" and info.value.where.line == 3


def test_legacy_name_with_the_same_mode_is_fine(sandbox):
    sandbox.write_project("backend: ecs-ec2\naws:\n  mode: ecs\n")
    loaded = load_config(cwd=sandbox.project, env={})
    assert loaded.config.aws.mode == "ecs"
    assert loaded.sources["aws.mode"] == f"{sandbox.project_file}:3"


def test_later_layer_mode_wins_over_legacy_mapping(sandbox):
    sandbox.write_user("backend: ecs-ec2\n")
    sandbox.write_project("aws:\n  mode: fargate\n")
    assert load_config(cwd=sandbox.project, env={}).config.aws.mode == "fargate"


def _listing(directory):
    return sorted(p.name for p in directory.iterdir())


def test_migrate_rewrites_keeps_backup_and_is_idempotent(sandbox):
    original = (
        "# team settings\nbackend: ecs-ec2\naws:\n  region: eu-west-1\n  ecs: {clusterName: c1}\n"
    )
    path = sandbox.write_project(original)
    before = load_config(cwd=sandbox.project, env={}).config

    report = migrate_file(path)
    assert report.changed and report.backup == path.with_name(".rclaude.yaml.bak")
    assert report.backup.read_text() == original  # comments live on in the backup
    assert "backend 'ecs-ec2' -> backend: aws with aws.mode: ecs" in report.summary
    after = load_config(cwd=sandbox.project, env={})
    assert after.warnings == [] and after.config == before
    assert path.read_text().startswith("backend: aws\naws:\n  mode: ecs\n")
    assert os.stat(path).st_mode & 0o777 == 0o600

    content, files = path.read_bytes(), _listing(sandbox.project)
    second = migrate_file(path)
    assert not second.changed and second.backup is None
    assert second.summary.endswith("already up to date")
    assert path.read_bytes() == content and _listing(sandbox.project) == files


def test_migrate_never_overwrites_an_existing_backup(sandbox):
    path = sandbox.write_project("backend: ec2\n")
    (sandbox.project / ".rclaude.yaml.bak").write_text("precious\n")
    (sandbox.project / ".rclaude.yaml.bak.1").write_text("also precious\n")
    report = migrate_file(path)
    assert report.backup == sandbox.project / ".rclaude.yaml.bak.2"
    assert (sandbox.project / ".rclaude.yaml.bak").read_text() == "precious\n"
    assert report.backup.read_text() == "backend: ec2\n"


def test_migrate_adds_aws_section_right_after_backend(sandbox):
    path = sandbox.write_project("backend: ec2-shared\nqueue: sqlite\n")
    migrate_file(path)
    assert path.read_text() == "backend: aws\naws:\n  mode: shared\nqueue: sqlite\n"


def test_migrate_dry_run_writes_nothing(sandbox):
    path = sandbox.write_project("backend: ec2\n")
    report = migrate_file(path, dry_run=True)
    assert report.changed and report.backup is None and "would migrate" in report.summary
    assert path.read_text() == "backend: ec2\n" and _listing(sandbox.project) == [".rclaude.yaml"]


def test_migrate_refuses_an_invalid_file_and_writes_nothing(sandbox):
    path = sandbox.write_project("backend: ec2\ntasks:\n  maxAttempts: 0\n")
    with pytest.raises(ConfigError) as info:
        migrate_file(path)
    assert info.value.where.line == 3
    assert path.read_text() == "backend: ec2\ntasks:\n  maxAttempts: 0\n"
    assert _listing(sandbox.project) == [".rclaude.yaml"]
