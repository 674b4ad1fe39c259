"""The thin CLI over infra and the aws backend: `rclaude init-deployment`, `cost`,
`check`, `aws-workers`, run in-process against a moto server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rclaude import awsutil
from rclaude.cli.main import build_app
from rclaude.compute.aws import AwsCompute, tags
from rclaude.errors import UsageError

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "infra"


@pytest.fixture
def cli(aws, tmp_path, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "dataDir": str(tmp_path / "data"),
                "aws": {"region": "us-east-1", "endpointUrl": aws, "deployment": "cli"},
            }
        )
    )
    monkeypatch.setenv("RCLAUDE_CONFIG", str(cfg))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    app = build_app()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    run.config = cfg
    return run


def _cfn(aws):
    return awsutil.client("cloudformation", region="us-east-1", endpoint_url=aws)


def test_template_out_writes_the_golden_template(cli, tmp_path, aws):
    out = tmp_path / "footprint.json"
    result = cli("init-deployment", "--mode", "self-hosted", "--template-out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text() == (GOLDEN / "template-default.json").read_text()
    assert _cfn(aws).list_stacks()["StackSummaries"] == []


def test_dry_run_prints_template_and_changes_and_creates_nothing(cli, aws):
    result = cli("init-deployment", "--dry-run", "--json", "--with-redis")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert "Redis" in data["template"]["Resources"]
    assert data["plan"]["computed_locally"] is True
    assert {
        "action": "Add",
        "logical_id": "TaskQueue",
        "resource_type": "AWS::SQS::Queue",
        "replacement": None,
    } in data["plan"]["changes"]
    assert _cfn(aws).list_stacks()["StackSummaries"] == []


def test_bad_flags_are_clear(cli, aws):
    # CliRunner calls the app directly: the RclaudeError surfaces (run_app maps it to 64)
    with pytest.raises(UsageError) as info:
        cli("init-deployment", "--param", "Nope=1", "--dry-run")
    assert info.value.code == "RC-INFRA-011"
    with pytest.raises(UsageError):
        cli("init-deployment", "--param", "AllowedCidr")
    assert _cfn(aws).list_stacks()["StackSummaries"] == []


def test_destroy_without_stack(cli):
    result = cli("init-deployment", "--destroy", "--yes")
    assert result.exit_code == 0 and "no stack rclaude" in result.output


def test_cost_json(cli):
    result = cli("cost", "--json", "--offline")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert len(data["modes"]) == 4 and len(data["phases"]) == 4
    assert data["modes"][0]["price_source"] == "estimate"
    live = json.loads(cli("cost", "--json").output)  # the config points at moto
    assert live["modes"][0]["price_source"] == "spot price history"
    table = cli("cost")
    assert "4: planet" in table.output and "fargate" in table.output


def test_check_exit_status(cli):
    ok = cli("check", "--backend", "aws:ec2")
    assert ok.exit_code == 0 and "launch permission" in ok.output
    missing = cli("check", "--backend", "aws:fargate", "--json")
    assert missing.exit_code == 1
    assert any(not i["ok"] for i in json.loads(missing.output))


def test_aws_workers_list_and_gc(cli, aws):
    from rclaude.config import load_config

    cfg = load_config(user_file=cli.config).config
    awsutil.client("iam", region="us-east-1", endpoint_url=aws).create_instance_profile(
        InstanceProfileName="p"
    )
    cfg.aws.ec2.instance_profile = "p"
    compute = AwsCompute(cfg, {})
    (worker,) = compute.launch(1)
    listed = cli("aws-workers", "list", "--json")
    assert [w["id"] for w in json.loads(listed.output)] == [worker.id]

    preview = cli("aws-workers", "gc", "--dry-run")
    assert "would remove 0" in preview.output  # booting, not idle: kept
    compute.client("ec2").create_tags(
        Resources=[worker.id], Tags=[{"Key": tags.STATE, "Value": "idle"}]
    )
    swept = cli("aws-workers", "gc")
    assert f"removed {worker.id} (ec2): idle" in swept.output
    assert json.loads(cli("aws-workers", "list", "--json").output) == []


def test_gc_all_modes_survives_a_missing_cluster(cli):
    result = cli("aws-workers", "gc", "--all-modes", "--dry-run")
    assert result.exit_code == 0
    assert "would remove 0 orphaned worker(s)" in result.output
