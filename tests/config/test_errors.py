"""Strict errors: unknown keys, invalid values, broken YAML — with file, line and hint."""

from __future__ import annotations

import pytest

from rclaude.config import load_config
from rclaude.errors import ConfigError


def _error(sandbox, text: str | None = None, **kw) -> ConfigError:
    if text is not None:
        sandbox.write_project(text)
    with pytest.raises(ConfigError) as info:
        load_config(cwd=sandbox.project, env=kw.pop("env", {}), **kw)
    return info.value


def test_unknown_key_names_key_file_line_and_closest_camel_case(sandbox):
    err = _error(sandbox, "backend: aws\naws:\n  ec2:\n    instance_typ: t3.small\n")
    assert err.code == "RC-CONFIG-001"
    assert (err.where.file, err.where.line, err.where.key) == (
        str(sandbox.project_file),
        4,
        "aws.ec2.instance_typ",
    )
    assert "unknown key 'instance_typ'" in err.message and "aws.ec2" in err.message
    assert err.hint == "did you mean 'instanceType'?"
    assert err.exit_code == 78


def test_unknown_top_level_key_suggests_closest(sandbox):
    err = _error(sandbox, "bakend: aws\n")
    assert (err.code, err.where.line, err.hint) == ("RC-CONFIG-001", 1, "did you mean 'backend'?")


def test_unknown_key_with_nothing_close_lists_valid_keys(sandbox):
    err = _error(sandbox, "aws:\n  shared:\n    zzzzzz: 1\n")
    assert "instanceType" in err.hint and "maxTasksPerInstance" in err.hint


def test_wrong_aws_mode_lists_valid_modes(sandbox):
    err = _error(sandbox, "backend: aws\naws:\n  mode: ecx\n")
    assert err.code == "RC-CONFIG-002"
    assert (err.where.file, err.where.line, err.where.key) == (
        str(sandbox.project_file),
        3,
        "aws.mode",
    )
    assert "ec2, ecs, shared, fargate" in err.message
    assert "did you mean 'ecs'?" in err.hint


def test_wrong_backend_lists_providers(sandbox):
    err = _error(sandbox, "backend: gcp\n")
    assert err.code == "RC-CONFIG-002"
    assert "local, codespace, aws, fly" in err.message
    assert "ecs-ec2" in err.hint  # legacy names are mentioned as still accepted


def test_out_of_range_value_names_line_and_constraint(sandbox):
    err = _error(sandbox, "tasks:\n  maxAttempts: 0\n")
    assert (err.code, err.where.line, err.where.key) == ("RC-CONFIG-002", 2, "tasks.maxAttempts")
    assert "greater than or equal to 1" in err.message
    assert f"{sandbox.project_file}:2" in err.hint


def test_bad_list_item_points_at_its_line(sandbox):
    err = _error(sandbox, "aws:\n  ec2:\n    subnetIds:\n      - subnet-a\n      - 42\n")
    assert (err.where.line, err.where.key) == (5, "aws.ec2.subnetIds.1")


def test_section_given_a_scalar(sandbox):
    err = _error(sandbox, "aws: 5\n")
    assert (err.code, err.where.line) == ("RC-CONFIG-002", 1)


def test_several_problems_are_listed(sandbox):
    err = _error(sandbox, "backend: nope\ntasks:\n  maxAttempts: 0\n")
    assert "also:" in err.message and "maxAttempts" in err.message


def test_bad_value_in_overridden_user_file_is_still_reported(sandbox):
    sandbox.write_user("aws:\n  mode: ecx\n")
    err = _error(sandbox, "aws:\n  mode: ecs\n")
    assert (err.where.file, err.where.line) == (str(sandbox.user_file), 2)


def test_broken_yaml_reports_line(sandbox):
    err = _error(sandbox, "backend: aws\naws:\n  mode: [ecs\n  region: x\n")
    assert isinstance(err, ConfigError) and err.code == "RC-YAML-001"
    assert err.where.file == str(sandbox.project_file) and err.where.line in (4, 5)


def test_tab_indentation_is_broken_yaml_with_line(sandbox):
    err = _error(sandbox, "aws:\n\tmode: ecs\n")
    assert err.code == "RC-YAML-001" and err.where.line == 2


def test_top_level_must_be_a_mapping(sandbox):
    err = _error(sandbox, "- backend\n- aws\n")
    assert err.code == "RC-CONFIG-004" and "mapping" in err.message and "list" in err.message


def test_invalid_env_value_names_the_variable(sandbox):
    err = _error(sandbox, env={"RCLAUDE_AWS__MODE": "ecx"})
    assert err.code == "RC-CONFIG-002"
    assert (
        "(from env RCLAUDE_AWS__MODE)" in err.message and "ec2, ecs, shared, fargate" in err.message
    )


def test_invalid_flag_value_names_the_flag(sandbox):
    err = _error(sandbox, overrides={"tasks": {"maxAttempts": 0}})
    assert "flag --tasks-max-attempts" in err.message


def test_unknown_flag_key(sandbox):
    err = _error(sandbox, overrides={"aws": {"mdoe": "ecs"}})
    assert err.code == "RC-CONFIG-001" and err.hint == "did you mean 'mode'?"
