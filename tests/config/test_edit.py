"""`set_value` / `set_backend`: validated whole-file edits written atomically, 0600."""

from __future__ import annotations

import os

import pytest

from rclaude import yamlio
from rclaude.config import load_config, set_backend, set_value
from rclaude.errors import ConfigError, UsageError


def _data(path):
    return yamlio.load(path)[0]


def test_set_creates_the_file_0600_with_camel_case_keys(sandbox):
    path = sandbox.user_file
    set_value(path, "aws.ec2.instance_type", "c5.xlarge")
    assert _data(path) == {"aws": {"ec2": {"instanceType": "c5.xlarge"}}}
    assert os.stat(path).st_mode & 0o777 == 0o600
    loaded = load_config(cwd=sandbox.project, env={})
    assert loaded.config.aws.ec2.instance_type == "c5.xlarge"
    assert loaded.sources["aws.ec2.instance_type"] == f"{path}:3"


def test_set_reuses_the_spelling_already_in_the_file(sandbox):
    path = sandbox.write_user("aws:\n  ec2:\n    instance_type: t3.small\n")
    set_value(path, "aws.ec2.instanceType", "t3.large")
    assert _data(path) == {"aws": {"ec2": {"instance_type": "t3.large"}}}


def test_set_parses_values_by_the_schema(sandbox):
    path = sandbox.user_file
    set_value(path, "tasks.maxAttempts", "5")
    set_value(path, "tasks.pty", "false")
    set_value(path, "aws.profile", "123")
    set_value(path, "aws.ec2.subnetIds", "[subnet-a, subnet-b]")
    cfg = load_config(cwd=sandbox.project, env={}).config
    assert cfg.tasks.max_attempts == 5 and cfg.tasks.pty is False
    assert cfg.aws.profile == "123"
    assert cfg.aws.ec2.subnet_ids == ["subnet-a", "subnet-b"]


def test_set_replaces_the_file_atomically_keeping_other_keys(sandbox):
    path = sandbox.write_user("backend: fly\nfly:\n  app: my-app\n")
    inode = os.stat(path).st_ino
    set_value(path, "fly.region", "cdg")
    assert _data(path) == {"backend": "fly", "fly": {"app": "my-app", "region": "cdg"}}
    assert os.stat(path).st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.yaml"]  # no temp left


@pytest.mark.parametrize(
    "key,value,code",
    [
        ("aws.mode", "ecx", "RC-CONFIG-002"),
        ("tasks.maxAttempts", "0", "RC-CONFIG-002"),
        ("aws.ec2.instanceTyp", "x", "RC-CONFIG-001"),
        ("aws.ec2", "x", "RC-CONFIG-002"),
        ("backend.x", "y", "RC-CONFIG-001"),
        ("agent.command", "[a, b", "RC-YAML-001"),
    ],
)
def test_invalid_set_leaves_the_file_byte_identical(sandbox, key, value, code):
    original = b"# keep me\nbackend: aws\naws:\n  mode: ecs\n"
    path = sandbox.user_file
    path.parent.mkdir(parents=True)
    path.write_bytes(original)
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError) as info:
        set_value(path, key, value)
    assert info.value.code == code
    assert path.read_bytes() == original and os.stat(path).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.yaml"]


def test_unknown_key_in_set_names_file_and_closest(sandbox):
    with pytest.raises(ConfigError) as info:
        set_value(sandbox.user_file, "aws.ec2.instanceTyp", "x")
    err = info.value
    assert err.where.file == str(sandbox.user_file) and err.hint == "did you mean 'instanceType'?"
    assert not sandbox.user_file.exists()


def test_set_validates_the_whole_file_not_just_the_new_key(sandbox):
    original = "tasks:\n  maxAttempts: 0\n"
    path = sandbox.write_user(original)
    with pytest.raises(ConfigError) as info:
        set_value(path, "aws.region", "eu-west-1")
    assert info.value.where.line == 2 and path.read_text() == original


def test_any_edit_rewrites_a_legacy_backend_without_losing_its_mode(sandbox):
    path = sandbox.write_user("backend: ecs-ec2\n")
    set_value(path, "aws.region", "eu-west-1")
    assert _data(path) == {"backend": "aws", "aws": {"mode": "ecs", "region": "eu-west-1"}}


def test_set_backend_to_a_legacy_name_writes_the_new_form(sandbox):
    set_value(sandbox.user_file, "backend", "ec2-shared")
    assert _data(sandbox.user_file) == {"backend": "aws", "aws": {"mode": "shared"}}


def test_set_backend_writes_provider_and_mode(sandbox):
    path = sandbox.write_user("backend: local\naws:\n  region: eu-west-1\n")
    choice = set_backend(path, "aws", "fargate")
    assert (choice.provider, choice.mode, choice.warning) == ("aws", "fargate", None)
    assert choice.summary == "Backend: aws / mode: fargate"
    assert _data(path) == {"backend": "aws", "aws": {"region": "eu-west-1", "mode": "fargate"}}


def test_set_backend_legacy_provider(sandbox):
    choice = set_backend(sandbox.user_file, "ecs-ec2")
    assert (choice.provider, choice.mode) == ("aws", "ecs")
    assert "deprecated" in choice.warning and "backend: aws with aws.mode: ecs" in choice.warning


@pytest.mark.parametrize(
    "provider,mode,code",
    [
        ("fly", "ecs", "RC-CONFIG-009"),
        ("gcp", None, "RC-CONFIG-008"),
        ("aws", "lambda", "RC-CONFIG-008"),
        ("ecs-ec2", "fargate", "RC-CONFIG-009"),
    ],
)
def test_set_backend_rejects_bad_choices_before_writing(sandbox, provider, mode, code):
    with pytest.raises(UsageError) as info:
        set_backend(sandbox.user_file, provider, mode)
    assert info.value.code == code and info.value.exit_code == 64
    assert not sandbox.user_file.exists()
