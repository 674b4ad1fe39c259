"""init-deployment on a moto server: create, no-op rerun, dry run, config, destroy."""

from __future__ import annotations

import pytest
import yaml

from rclaude import awsutil
from rclaude.config.schema import Config
from rclaude.errors import AuthError, ConflictError, UsageError
from rclaude.infra.deploy import DeployRequest, destroy_deployment, init_deployment
from rclaude.infra.template import TemplateOptions
from tests.infra.conftest import MOTO_UNSUPPORTED, moto_variant


def _request(aws, tmp_path, **kw) -> DeployRequest:
    base = dict(
        stack_name="rclaude-test",
        region="us-east-1",
        endpoint_url=aws,
        deployment="test",
        config_path=tmp_path / "config.yaml",
        poll=0.05,
        transform=moto_variant,
    )
    base.update(kw)
    return DeployRequest(**base)


def _cfn(aws):
    return awsutil.client("cloudformation", region="us-east-1", endpoint_url=aws)


def test_variant_drops_only_what_moto_lacks():
    from rclaude.infra.template import build_template

    full = build_template(TemplateOptions(with_aurora=True, with_redis=True))
    variant = moto_variant(full)
    dropped = {r["Type"] for n, r in full["Resources"].items() if n not in variant["Resources"]}
    assert dropped == set(MOTO_UNSUPPORTED) | {"AWS::RDS::DBInstance"}


def test_deploy_writes_outputs_into_config_then_reruns_as_no_op(
    aws, tmp_path, moto_outputs, ecs_ami
):
    req = _request(aws, tmp_path)
    result = init_deployment(req)
    assert not result.plan.exists and len(result.plan.changes) > 30
    assert result.account == "123456789012"

    # everything the next `rclaude run` needs is in the user's config, atomically written
    path = tmp_path / "config.yaml"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    raw = yaml.safe_load(path.read_text())
    cfg = Config.model_validate(raw)
    assert cfg.backend == "aws" and cfg.queue == "sqs" and cfg.storage == "s3"
    assert cfg.sqs.queue_url == result.outputs["QueueUrl"]
    assert cfg.s3.bucket == result.outputs["BucketName"]
    assert len(cfg.aws.ec2.subnet_ids) == 2 and cfg.aws.ec2.instance_profile
    assert cfg.aws.fargate.subnet_ids == cfg.aws.ec2.subnet_ids
    assert cfg.aws.stack.name == "rclaude-test"

    # what was created is real: the queue redrives to its DLQ, the bucket blocks public access
    sqs = awsutil.client("sqs", region="us-east-1", endpoint_url=aws)
    attrs = sqs.get_queue_attributes(QueueUrl=cfg.sqs.queue_url, AttributeNames=["All"])
    assert "deadLetterTargetArn" in attrs["Attributes"]["RedrivePolicy"]
    s3 = awsutil.client("s3", region="us-east-1", endpoint_url=aws)
    enc = s3.get_bucket_encryption(Bucket=cfg.s3.bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # (moto's CloudFormation applies only encryption and tags to a bucket; the public
    # access block and lifecycle are asserted on the template in test_template.py)

    before = path.read_text()
    explicit_default = _request(aws, tmp_path, parameters={"MaxReceiveCount": "3"})
    assert init_deployment(explicit_default).plan.empty  # same as the template default
    again = init_deployment(req)
    assert again.plan.exists and again.plan.empty and again.plan.change_set is None
    sets = _cfn(aws).list_change_sets(StackName="rclaude-test")["Summaries"]
    assert len(sets) == 1  # only the first run's change set: the rerun created none
    assert path.read_text() == before


def test_dry_run_of_new_stack_creates_nothing(aws, tmp_path):
    result = init_deployment(_request(aws, tmp_path, dry_run=True))
    assert result.plan.local and result.plan.changes
    assert {c.action for c in result.plan.changes} == {"Add"}
    assert _cfn(aws).list_stacks()["StackSummaries"] == []
    assert not (tmp_path / "config.yaml").exists()


def test_dry_run_of_changed_stack_shows_changes_and_leaves_no_change_set(
    aws, tmp_path, moto_outputs, ecs_ami
):
    init_deployment(_request(aws, tmp_path))
    # (moto diffs templates only, not parameters: change the template)
    changed = _request(aws, tmp_path, dry_run=True, options=TemplateOptions(with_aurora=True))
    result = init_deployment(changed)
    assert result.plan.exists and not result.plan.local
    assert ("Add", "DatabaseSubnetGroup") in {(c.action, c.logical_id) for c in result.plan.changes}
    assert result.plan.change_set is None
    remaining = _cfn(aws).list_change_sets(StackName="rclaude-test")["Summaries"]
    assert all(s["ExecutionStatus"] == "EXECUTE_COMPLETE" for s in remaining), remaining


def test_destroy_deletes_the_stack(aws, tmp_path, moto_outputs, ecs_ami):
    req = _request(aws, tmp_path)
    init_deployment(req)
    assert destroy_deployment(req) is True
    live = [
        s
        for s in _cfn(aws).list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert live == []
    assert destroy_deployment(req) is False  # nothing left to delete


def test_stack_stuck_in_progress_is_a_conflict(aws, tmp_path):
    """A create that failed half-way leaves moto's stack CREATE_IN_PROGRESS: rclaude
    refuses to submit anything on top of it."""
    import json

    broken = {
        "Resources": {
            "S": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": "vpc-nope", "CidrBlock": "10.0.0.0/24"},
            }
        }
    }
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):  # moto's own InvalidVpcID.NotFound
        _cfn(aws).create_stack(StackName="rclaude-test", TemplateBody=json.dumps(broken))
    with pytest.raises(ConflictError) as info:
        init_deployment(_request(aws, tmp_path))
    assert info.value.code == "RC-INFRA-003" and "CREATE_IN_PROGRESS" in info.value.message
    assert _cfn(aws).list_change_sets(StackName="rclaude-test")["Summaries"] == []


def test_bad_input_fails_before_any_call(aws, tmp_path):
    with pytest.raises(UsageError) as info:
        init_deployment(_request(aws, tmp_path, mode="serverless"))
    assert info.value.code == "RC-INFRA-001"
    with pytest.raises(Exception) as info:
        init_deployment(_request(aws, tmp_path, region="eu-west-9"))
    assert info.value.code == "RC-AWS-010"
    with pytest.raises(UsageError) as info:
        init_deployment(_request(aws, tmp_path, stack_name="1bad_name"))
    assert info.value.code == "RC-INFRA-009"
    with pytest.raises(UsageError) as info:
        init_deployment(_request(aws, tmp_path, parameters={"AlowedCidr": "1.2.3.4/32"}))
    assert "AllowedCidr" in info.value.hint
    with pytest.raises(UsageError):
        init_deployment(_request(aws, tmp_path, parameters={"AllowedCidr": "everyone"}))
    with pytest.raises(Exception) as info:
        init_deployment(_request(aws, tmp_path, parameters={"EcsInstanceType": "t3.mediun"}))
    assert info.value.code == "RC-AWS-011"
    assert _cfn(aws).list_stacks()["StackSummaries"] == []


def test_missing_credentials_stop_before_anything_is_created(aws, tmp_path, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(AuthError) as info:
        init_deployment(_request(aws, tmp_path))
    assert info.value.code == "RC-AWS-001"
    monkeypatch.undo()
    assert _cfn(aws).list_stacks()["StackSummaries"] == []


def test_parameter_change_is_not_mistaken_for_no_change(aws, tmp_path, moto_outputs, ecs_ami):
    from rclaude.infra.stack import Stack
    from rclaude.infra.template import build_template
    from tests.compute_aws.faults import record

    init_deployment(_request(aws, tmp_path))
    cfn = _cfn(aws)
    calls = record(cfn, "CreateChangeSet")
    stack = Stack(cfn, "rclaude-test", poll=0.05)
    template = moto_variant(build_template())
    assert stack.plan(template, {"Deployment": "test"}, dry_run=True).empty
    assert calls == []  # same template, same parameters: nothing submitted
    stack.plan(template, {"Deployment": "test", "MaxReceiveCount": "5"}, dry_run=True)
    assert len(calls) == 1  # a different value goes to CloudFormation for a real diff
    stack.plan(template, {"Deployment": "other"}, dry_run=True)
    assert len(calls) == 2


def test_missing_permissions_stop_before_anything_is_created(aws, tmp_path, monkeypatch):
    """moto's IAM enforcement (in-process server): a user that may only look."""
    import json

    from moto.core.authorization import enable_iam_authentication

    iam = awsutil.client("iam", region="us-east-1", endpoint_url=aws)
    iam.create_user(UserName="looker")
    iam.put_user_policy(
        UserName="looker",
        PolicyName="look",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Resource": "*",
            "Action": ["sts:GetCallerIdentity", "cloudformation:Describe*"]}]}),
    )  # fmt: skip
    key = iam.create_access_key(UserName="looker")["AccessKey"]
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    with enable_iam_authentication(), pytest.raises(AuthError) as info:
        init_deployment(_request(aws, tmp_path))
    assert info.value.code == "RC-AWS-002" and "CreateChangeSet" in info.value.message
    monkeypatch.undo()
    assert _cfn(aws).list_stacks()["StackSummaries"] == []
