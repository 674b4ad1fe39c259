"""Secrets for workers: env first, then Secrets Manager by ARN (moto), never the config."""

from __future__ import annotations

import json

import boto3
import pytest

from rclaude.config.schema import Config
from rclaude.platform import worker_env
from rclaude.secretstore import read_secret, with_password


def test_env_wins_then_secrets_manager_plain_and_json(aws):
    sm = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=aws)
    plain = sm.create_secret(Name="redis-auth", SecretString="s3cr3t-token")["ARN"]
    as_json = sm.create_secret(
        Name="db", SecretString=json.dumps({"username": "u", "password": "p@ss"})
    )["ARN"]
    kw = {"region": "us-east-1", "endpoint_url": aws}
    assert (
        read_secret(env_name="X_PW", secret_arn=plain, env={"X_PW": "from-env"}, **kw) == "from-env"
    )
    assert read_secret(env_name="X_PW", secret_arn=plain, env={}, **kw) == "s3cr3t-token"
    assert read_secret(env_name="X_PW", secret_arn=as_json, env={}, **kw) == "p@ss"
    assert read_secret(env_name="X_PW", secret_arn=None, env={}, **kw) is None


def test_missing_secret_is_a_clear_error(aws):
    from rclaude.errors import RclaudeError

    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    with pytest.raises(RclaudeError) as e:
        read_secret(env_name="X_PW", secret_arn=arn, env={}, region="us-east-1", endpoint_url=aws)
    assert e.value.code.startswith("RC-AWS")


def test_with_password_quotes_and_keeps_existing():
    assert (
        with_password("postgresql://app@db:5432/x", "p@ss/w")
        == "postgresql://app:p%40ss%2Fw@db:5432/x"
    )
    assert with_password("redis://:old@h:6379/0", "new") == "redis://:old@h:6379/0"
    assert with_password("redis://h:6379/0", None) == "redis://h:6379/0"


def test_worker_env_carries_secret_arns_not_secrets():
    cfg = Config.model_validate(
        {
            "redis": {"url": "redis://:hunter2@cache:6379/0"},
            "aws": {"stack": {"redisSecretArn": "arn:aws:secretsmanager:x:1:secret:r"}},
        }
    )
    env = worker_env(cfg)
    assert env["RCLAUDE_AWS__STACK__REDIS_SECRET_ARN"] == "arn:aws:secretsmanager:x:1:secret:r"
    assert not any("hunter2" in v for v in env.values())
