"""Secrets for workers: env first, then Secrets Manager by ARN (moto), never the config."""

from __future__ import annotations

import json

import boto3
import pytest

from rclaude.config.schema import Config
from rclaude.errors import ValidationError
from rclaude.platform import worker_env
from rclaude.secretstore import read_secret, url_has_password, with_password, without_password


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


def test_with_password_keeps_ipv6_hosts_and_sees_query_passwords():
    assert with_password("redis://[::1]:6379/0", "pw") == "redis://:pw@[::1]:6379/0"
    assert (
        with_password("postgresql://app@[fd00::5]:5432/x", "pw")
        == "postgresql://app:pw@[fd00::5]:5432/x"
    )
    assert with_password("redis://h/0?password=old", "new") == "redis://h/0?password=old"


def test_passwords_are_found_and_removed_in_user_part_and_query():
    assert url_has_password("redis://:s3cret@h:6379/0")
    assert url_has_password("rediss://h:6379/0?ssl_cert_reqs=none&password=s3cret")
    assert url_has_password("postgresql://app@db/x?PASSWORD=s3cret")
    assert not url_has_password("rediss://default@h:6379/0")
    assert not url_has_password("redis://h:6379/0?db=1")
    assert without_password("rediss://default:s3cret@h:6379/0") == "rediss://default@h:6379/0"
    assert without_password("redis://:s3cret@[::1]:6379/0") == "redis://[::1]:6379/0"
    assert (
        without_password("redis://h:6379/0?password=s3cret&socket_timeout=5")
        == "redis://h:6379/0?socket_timeout=5"
    )


def test_worker_env_keeps_the_redis_host_but_never_its_password():
    """A user name alone is no secret: the worker must still reach the right Redis, and
    it adds the password from the stack's secret itself."""
    for url, want in (
        ("rediss://default@cache:6379/0", "rediss://default@cache:6379/0"),
        ("rediss://default:hunter2@cache:6379/0", "rediss://default@cache:6379/0"),
        ("rediss://cache:6379/0?password=hunter2", "rediss://cache:6379/0"),
    ):
        env = worker_env(Config.model_validate({"log": "redis", "redis": {"url": url}}))
        assert env["RCLAUDE_REDIS__URL"] == want
        assert not any("hunter2" in v for v in env.values())


def test_a_query_password_in_the_worker_env_is_refused():
    from rclaude.compute.aws.validate import check_worker_env

    with pytest.raises(ValidationError) as e:
        check_worker_env({"RCLAUDE_DATABASE": "postgresql://app@db/x?password=hunter2"})
    assert e.value.code == "RC-AWS-015" and "hunter2" not in str(e.value)
