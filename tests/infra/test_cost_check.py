"""``rclaude cost`` figures and ``rclaude check`` against moto."""

from __future__ import annotations

import json

import pytest

from rclaude import awsutil
from rclaude.config.schema import Config
from rclaude.infra import cost
from rclaude.infra.check import check_backend


def _config(aws=None, **aws_settings) -> Config:
    settings = {"region": "us-east-1", "endpoint_url": aws, **aws_settings}
    return Config(backend="aws", aws=settings)


def test_mode_costs_from_price_table_offline():
    modes = {m.mode: m for m in cost.mode_costs(_config(), task_minutes=30)}
    assert set(modes) == {"ec2", "shared", "ecs", "fargate"}
    ec2 = modes["ec2"]
    assert ec2.price_source == "estimate"  # no AWS: spot = on-demand x default factor
    assert ec2.hourly == pytest.approx(0.0416 * 0.35, rel=1e-3)
    assert ec2.per_task == pytest.approx(ec2.hourly * 0.5, rel=1e-3)
    assert ec2.per_task_cold > ec2.per_task  # boot + idle timeout on a one-task worker
    shared = modes["shared"]
    assert shared.slots == 10 and shared.per_task < ec2.per_task  # packing pays
    fg = modes["fargate"]
    assert fg.hourly == pytest.approx((0.04048 + 2 * 0.004445) * 0.3, rel=1e-3)


def test_on_demand_when_spot_is_off():
    cfg = _config(ec2={"spot_instance": False, "instance_type": "m7g.large"})
    ec2 = cost.mode_costs(cfg)[0]
    assert ec2.hourly == 0.0816 and ec2.price_source == "price table"


def test_spot_price_history_used_when_reachable(aws):
    ec2 = awsutil.client("ec2", region="us-east-1", endpoint_url=aws)
    q = cost.quote("t3.medium", "us-east-1", ec2)
    assert q.spot_source == "spot price history"
    assert q.spot is not None and q.on_demand == 0.0416


def test_four_scale_phases_grow_monotonically():
    data = cost.report(_config(mode="shared"))
    phases = data["phases"]
    assert [p["users"] for p in phases] == [1_000, 100_000, 10_000_000, 1_000_000_000]
    totals = [p["total"] for p in phases]
    assert totals == sorted(totals) and totals[0] > 0
    assert data["phases_mode"] == "shared"
    assert phases[1]["workers"] == 10  # 100 concurrent tasks / 10 slots per instance
    json.dumps(data)  # --json output is plain data


def test_check_reports_credentials_and_dry_run_launch(aws):
    items = {i.name: i for i in check_backend(_config(aws), "aws:ec2")}
    assert items["credentials"].ok and "123456789012" in items["credentials"].detail
    assert items["instance types"].ok
    assert items["launch permission"].ok and "dry run" in items["launch permission"].detail
    assert (
        awsutil.client("ec2", region="us-east-1", endpoint_url=aws).describe_instances()[
            "Reservations"
        ]
        == []
    )  # a dry run launches nothing


def test_check_flags_missing_cluster_and_bad_settings(aws):
    items = check_backend(_config(aws), "aws:fargate")
    assert [i.name for i in items if not i.ok] == ["ecs cluster"]
    bad = check_backend(_config(aws, region="us-east-9"), "aws")
    assert not bad[0].ok and "RC-AWS-010" in bad[0].detail


def test_check_without_credentials(aws, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    items = check_backend(_config(aws), "aws")
    assert items[-1].name == "credentials" and not items[-1].ok
    assert "RC-AWS-001" in items[-1].detail


def test_check_without_launch_permission(aws, monkeypatch):
    from moto.core.authorization import enable_iam_authentication

    iam = awsutil.client("iam", region="us-east-1", endpoint_url=aws)
    iam.create_user(UserName="viewer")
    iam.put_user_policy(
        UserName="viewer",
        PolicyName="view",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Resource": "*",
            "Action": ["sts:GetCallerIdentity", "ec2:Describe*", "ssm:GetParameter"]}]}),
    )  # fmt: skip
    key = iam.create_access_key(UserName="viewer")["AccessKey"]
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    with enable_iam_authentication():
        items = {i.name: i for i in check_backend(_config(aws), "aws:ec2")}
    assert items["credentials"].ok
    assert not items["launch permission"].ok
    assert "RC-AWS-002" in items["launch permission"].detail
