"""Bad input fails clearly, before anything is created."""

from __future__ import annotations

import json

import pytest

from rclaude.compute.aws import AwsCompute
from rclaude.errors import AuthError, ConfigError, ValidationError
from tests.compute_aws.conftest import WORKER_ENV


def _no_instances(fp) -> bool:
    return fp.client("ec2").describe_instances()["Reservations"] == []


def test_unknown_mode_names_the_closest(footprint):
    with pytest.raises(ConfigError) as info:
        AwsCompute(footprint.config("ec2"), WORKER_ENV, mode="ecz")
    assert info.value.code == "RC-AWS-013"
    assert "'ecs'" in info.value.hint and info.value.where.key == "aws.mode"


def test_unknown_region(footprint):
    with pytest.raises(ConfigError) as info:
        AwsCompute(footprint.config("ec2", region="us-east-7"), WORKER_ENV)
    assert info.value.code == "RC-AWS-010" and "did you mean 'us-east-" in info.value.hint


def test_misspelt_instance_type(footprint):
    with pytest.raises(ConfigError) as info:
        AwsCompute(footprint.config("ec2", ec2={"instance_type": "t3.mediun"}), WORKER_ENV)
    assert info.value.code == "RC-AWS-011"
    assert "t3.medium" in info.value.hint and info.value.where.key == "aws.ec2.instanceType"


def test_instance_type_not_offered_in_region_fails_before_launch(footprint):
    cfg = footprint.config("ec2", ec2={"fallback_instance_types": ["t3.96xlarge"]})
    compute = AwsCompute(cfg, WORKER_ENV)
    with pytest.raises(ConfigError) as info:
        compute.launch(1)
    assert info.value.code == "RC-AWS-012"
    assert info.value.where.key == "aws.ec2.fallbackInstanceTypes[0]"
    assert _no_instances(footprint)


def test_secret_in_worker_env_is_refused(footprint):
    with pytest.raises(ValidationError) as info:
        AwsCompute(footprint.config("ec2"), {**WORKER_ENV, "RCLAUDE_REDIS_PASSWORD": "hunter2"})
    assert info.value.code == "RC-AWS-015"
    with pytest.raises(ValidationError):
        AwsCompute(footprint.config("ec2"), {"RCLAUDE_REDIS__URL": "redis://:pw@cache:6379/0"})


def test_missing_instance_profile(footprint):
    compute = AwsCompute(footprint.config("ec2", ec2={"instance_profile": None}), WORKER_ENV)
    with pytest.raises(ConfigError) as info:
        compute.launch(1)
    assert info.value.code == "RC-AWS-014" and _no_instances(footprint)


def test_missing_credentials(footprint, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    with pytest.raises(AuthError) as info:
        compute.launch(1)
    assert info.value.code == "RC-AWS-001" and "aws configure" in info.value.hint
    monkeypatch.undo()
    assert _no_instances(footprint)


def test_missing_permissions(footprint, monkeypatch):
    """moto's IAM enforcement (in-process server) denies RunInstances to a read-only user."""
    from moto.core.authorization import enable_iam_authentication

    iam = footprint.client("iam")
    iam.create_user(UserName="reader")
    iam.put_user_policy(
        UserName="reader",
        PolicyName="read-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["ec2:Describe*", "ssm:GetParameter"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    with enable_iam_authentication(), pytest.raises(AuthError) as info:
        compute.launch(1)
    assert info.value.code == "RC-AWS-002" and "RunInstances" in info.value.message
    monkeypatch.undo()
    assert _no_instances(footprint)
