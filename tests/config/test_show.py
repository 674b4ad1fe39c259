"""`config show` rows: every leaf with its source, secrets masked."""

from __future__ import annotations

import pytest

from rclaude.config import load_config
from rclaude.config.masking import is_secret_key, mask
from rclaude.config.show import as_json, rows
from rclaude.errors import ConfigError


def test_rows_have_every_leaf_with_source(sandbox):
    sandbox.write_project("backend: aws\naws:\n  mode: ecs\n")
    loaded = load_config(cwd=sandbox.project, env={"RCLAUDE_AWS__REGION": "eu-west-1"})
    by_key = {r.key: r for r in rows(loaded)}
    assert set(by_key) == set(loaded.sources)
    assert (by_key["aws.mode"].value, by_key["aws.mode"].source) == (
        "ecs",
        f"{sandbox.project_file}:3",
    )
    assert by_key["aws.region"].source == "env RCLAUDE_AWS__REGION"
    assert by_key["agent.command"].value[0] == "claude"
    doc = as_json(loaded)
    assert doc["files"] == [str(sandbox.project_file)]
    assert doc["values"]["backend"] == {"value": "aws", "source": f"{sandbox.project_file}:1"}


def test_secret_looking_keys_and_url_passwords_are_masked():
    assert is_secret_key("notify.slack_webhook_url") and is_secret_key("x.api_token")
    assert not is_secret_key("notify.webhook_secret_env")  # holds a variable NAME
    assert mask("notify.slack_webhook_url", "https://hooks.example/T0/B0/xyz") == "***"
    assert mask("redis.url", "redis://:hunter2@cache:6379/0") == "redis://:***@cache:6379/0"
    assert mask("database", "postgresql://app:pw@db/rc") == "postgresql://app:***@db/rc"
    assert mask("redis.url", "redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert mask("notify.webhook_url", None) is None


def test_masked_values_in_rows(sandbox):
    sandbox.write_project("redis:\n  url: redis://:hunter2@cache:6379/0\n")
    loaded = load_config(cwd=sandbox.project, env={})
    assert "hunter2" not in str(as_json(loaded))


def test_secret_values_are_masked_in_error_messages(sandbox):
    sandbox.write_project("notify:\n  slackWebhookUrl: [https://hooks.example/T0/B0/s3cr3t]\n")
    with pytest.raises(ConfigError) as info:
        load_config(cwd=sandbox.project, env={})
    assert "s3cr3t" not in str(info.value) and "***" in info.value.message
