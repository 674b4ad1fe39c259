"""Layering, key spellings, provenance and environment parsing of load_config."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from rclaude.config import load_config, project_config_path, user_config_path
from rclaude.errors import ConfigError
from tests.config.conftest import SEED_YAML

LAYERS = ("user", "project", "env", "flag")


@pytest.mark.parametrize(
    "present",
    [c for n in range(len(LAYERS) + 1) for c in itertools.combinations(LAYERS, n)],
    ids=lambda c: "+".join(c) or "defaults",
)
def test_precedence_later_layer_wins(sandbox, present):
    env: dict[str, str] = {}
    overrides = None
    expected = ("us-east-1", "default")
    if "user" in present:
        sandbox.write_user("aws:\n  region: from-user\n")
        expected = ("from-user", f"{sandbox.user_file}:2")
    if "project" in present:
        sandbox.write_project("# project\naws:\n  region: from-project\n")
        expected = ("from-project", f"{sandbox.project_file}:3")
    if "env" in present:
        env["RCLAUDE_AWS__REGION"] = "from-env"
        expected = ("from-env", "env RCLAUDE_AWS__REGION")
    if "flag" in present:
        overrides = {"aws": {"region": "from-flag"}}
        expected = ("from-flag", "flag --aws-region")

    loaded = load_config(cwd=sandbox.project, env=env, overrides=overrides)

    assert (loaded.config.aws.region, loaded.sources["aws.region"]) == expected
    files = [
        p
        for p, layer in ((sandbox.user_file, "user"), (sandbox.project_file, "project"))
        if layer in present
    ]
    assert loaded.files == files


def test_dicts_deep_merge_across_layers(sandbox):
    sandbox.write_user("aws:\n  ec2:\n    instanceType: c5.large\n  region: eu-west-1\n")
    sandbox.write_project("aws:\n  mode: ecs\n")
    cfg = load_config(cwd=sandbox.project, env={}).config
    assert (cfg.aws.ec2.instance_type, cfg.aws.region, cfg.aws.mode) == (
        "c5.large",
        "eu-west-1",
        "ecs",
    )
    assert cfg.aws.ec2.spot_instance is True  # untouched default survives the merge


@pytest.mark.parametrize(
    "user_key,project_key", [("instanceType", "instance_type"), ("instance_type", "instanceType")]
)
def test_camel_and_snake_case_are_the_same_key(sandbox, user_key, project_key):
    sandbox.write_user(f"aws:\n  ec2:\n    {user_key}: from-user\n")
    sandbox.write_project(f"aws:\n  ec2:\n    {project_key}: from-project\n")
    loaded = load_config(cwd=sandbox.project, env={})
    assert loaded.config.aws.ec2.instance_type == "from-project"
    assert loaded.sources["aws.ec2.instance_type"] == f"{sandbox.project_file}:3"


def test_both_spellings_in_one_mapping_is_an_error(sandbox):
    path = sandbox.write_project("aws:\n  ec2:\n    instanceType: a\n    instance_type: b\n")
    with pytest.raises(ConfigError) as info:
        load_config(cwd=sandbox.project, env={})
    assert info.value.code == "RC-CONFIG-003"
    assert (info.value.where.file, info.value.where.line) == (str(path), 4)


def test_seed_yaml_from_design_is_accepted_as_written(sandbox):
    sandbox.write_user(SEED_YAML)
    loaded = load_config(cwd=sandbox.project, env={})
    cfg = loaded.config
    assert cfg.backend == "aws" and cfg.aws.mode == "ec2" and cfg.aws.region == "us-east-1"
    assert cfg.aws.ecs.cluster_name == "remote-claude"
    assert cfg.aws.shared.instance_type == "t3.large"
    assert cfg.aws.shared.max_tasks_per_instance == 10
    assert loaded.warnings == []
    assert loaded.sources["aws.mode"] == f"{sandbox.user_file}:3"
    assert loaded.sources["aws.shared.max_tasks_per_instance"] == f"{sandbox.user_file}:7"
    assert loaded.sources["aws.fargate.cpu"] == "default"


def test_sources_cover_every_leaf(sandbox):
    loaded = load_config(cwd=sandbox.project, env={})
    assert set(loaded.sources.values()) == {"default"}
    assert {"backend", "aws.ec2.instance_type", "agent.command"} <= set(loaded.sources)
    assert "aws" not in loaded.sources and "aws.ec2" not in loaded.sources


def test_project_file_found_walking_up_nearest_wins(sandbox):
    deep = sandbox.project / "a" / "b"
    deep.mkdir(parents=True)
    sandbox.write_project("backend: fly\n")
    assert project_config_path(deep) == sandbox.project_file
    assert load_config(cwd=deep, env={}).config.backend == "fly"
    (sandbox.project / "a" / ".rclaude.yaml").write_text("backend: codespace\n")
    assert load_config(cwd=deep, env={}).config.backend == "codespace"


def test_user_file_honours_xdg_and_rclaude_config(sandbox, tmp_path):
    assert user_config_path({}) == sandbox.xdg / "rclaude" / "config.yaml"
    other = tmp_path / "elsewhere.yaml"
    other.write_text("backend: fly\n")
    assert user_config_path({"RCLAUDE_CONFIG": str(other)}) == other
    loaded = load_config(cwd=sandbox.project, env={"RCLAUDE_CONFIG": str(other)})
    assert loaded.config.backend == "fly" and loaded.files == [other]


def test_missing_files_are_empty_layers(sandbox, tmp_path):
    loaded = load_config(cwd=sandbox.project, env={}, user_file=tmp_path / "none.yaml")
    assert loaded.files == [] and loaded.config.backend == "local"


def test_empty_file_is_an_empty_layer(sandbox):
    sandbox.write_user("# nothing yet\n")
    assert load_config(cwd=sandbox.project, env={}).config.backend == "local"


def test_env_values_are_yaml_scalars_shaped_by_the_schema(sandbox):
    env = {
        "RCLAUDE_BACKEND": "aws",
        "RCLAUDE_AWS__MODE": "ecs",
        "RCLAUDE_DATA_DIR": "/x",
        "RCLAUDE_TASKS__VISIBILITY_TIMEOUT": "2",
        "RCLAUDE_TASKS__PTY": "false",
        "RCLAUDE_AWS__PROFILE": "123",  # text-only key: stays text
        "RCLAUDE_AWS__EC2__SUBNET_IDS": "[subnet-a, subnet-b]",
        "RCLAUDE_AWS__EC2__SPOT_MAX_PRICE": "null",
    }
    loaded = load_config(cwd=sandbox.project, env=env)
    cfg = loaded.config
    assert (cfg.backend, cfg.aws.mode, cfg.data_dir) == ("aws", "ecs", Path("/x"))
    assert cfg.tasks.visibility_timeout == 2.0 and cfg.tasks.pty is False
    assert cfg.aws.profile == "123"
    assert cfg.aws.ec2.subnet_ids == ["subnet-a", "subnet-b"]
    assert cfg.aws.ec2.spot_max_price is None
    assert loaded.sources["data_dir"] == "env RCLAUDE_DATA_DIR"
    assert loaded.sources["aws.ec2.subnet_ids"] == "env RCLAUDE_AWS__EC2__SUBNET_IDS"


def test_env_names_that_are_not_keys_are_ignored(sandbox):
    env = {
        "RCLAUDE_CONFIG": "",
        "RCLAUDE_DEBUG": "1",
        "RCLAUDE_WEBHOOK_SECRET": "s3cr3t",
        "RCLAUDE_WORKER_ID": "w-1",
    }
    loaded = load_config(cwd=sandbox.project, env=env)
    assert set(loaded.sources.values()) == {"default"} and loaded.warnings == []


def test_env_near_miss_of_a_top_level_key_warns(sandbox):
    loaded = load_config(cwd=sandbox.project, env={"RCLAUDE_BAKEND": "aws"})
    assert loaded.config.backend == "local"
    assert loaded.warnings == ["RCLAUDE_BAKEND is ignored: did you mean RCLAUDE_BACKEND?"]


def test_env_unknown_nested_key_is_an_error_with_the_env_spelling(sandbox):
    with pytest.raises(ConfigError) as info:
        load_config(cwd=sandbox.project, env={"RCLAUDE_AWS__MDOE": "ecs"})
    err = info.value
    assert err.code == "RC-CONFIG-001"
    assert "RCLAUDE_AWS__MDOE" in err.message and "RCLAUDE_AWS__MODE" in err.hint


def test_legacy_env_names_set_orchestrator_and_warn(sandbox):
    env = {"ECS_MIN_TASKS": "1", "ECS_MAX_TASKS": "8", "ECS_MESSAGES_PER_TASK": "3"}
    loaded = load_config(cwd=sandbox.project, env=env)
    o = loaded.config.orchestrator
    assert (o.min_workers, o.max_workers, o.messages_per_worker) == (1, 8, 3)
    assert loaded.sources["orchestrator.max_workers"] == "env ECS_MAX_TASKS"
    assert "ECS_MAX_TASKS is deprecated: use RCLAUDE_ORCHESTRATOR__MAX_WORKERS" in loaded.warnings


def test_rclaude_env_wins_over_legacy_env(sandbox):
    env = {"ECS_MAX_TASKS": "8", "RCLAUDE_ORCHESTRATOR__MAX_WORKERS": "2"}
    loaded = load_config(cwd=sandbox.project, env=env)
    assert loaded.config.orchestrator.max_workers == 2
    assert loaded.sources["orchestrator.max_workers"] == "env RCLAUDE_ORCHESTRATOR__MAX_WORKERS"


def test_overrides_accept_dotted_keys_any_spelling_and_skip_none(sandbox):
    sandbox.write_user("aws:\n  region: eu-west-1\n")
    overrides = {
        "aws.mode": "fargate",
        "aws": {"region": None, "ec2": {"instanceType": "m5.large"}},
        "tasks": {"timeout": None},
    }
    loaded = load_config(cwd=sandbox.project, env={}, overrides=overrides)
    cfg = loaded.config
    assert (cfg.aws.mode, cfg.aws.region, cfg.aws.ec2.instance_type) == (
        "fargate",
        "eu-west-1",
        "m5.large",
    )
    assert loaded.sources["aws.mode"] == "flag --aws-mode"
    assert loaded.sources["aws.ec2.instance_type"] == "flag --aws-ec2-instance-type"
    assert loaded.sources["tasks.timeout"] == "default"


def test_loading_imports_nothing_heavy(sandbox):
    code = (
        "import sys\n"
        "import rclaude.config\n"
        "lazy = 'pydantic' not in sys.modules\n"
        "from rclaude.config import load_config\n"
        "load_config()\n"
        "heavy = sorted(m for m in ('boto3', 'botocore', 'httpx', 'typer', 'rich', 'sqlalchemy')"
        " if m in sys.modules)\n"
        "print(lazy, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True []"
