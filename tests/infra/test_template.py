"""The generated template: cfn-lint clean, secure by default, golden-filed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rclaude.infra.cfn import dumps, placeholder, prune
from rclaude.infra.template import TemplateOptions, build_template

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "infra"
VARIANTS = {
    "default": TemplateOptions(),
    "aurora-redis": TemplateOptions(with_aurora=True, with_redis=True),
}


def _resources(t, kind):
    return {k: v for k, v in t["Resources"].items() if v["Type"] == kind}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_matches_golden_file(name):
    """Set RCLAUDE_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change."""
    text = dumps(build_template(VARIANTS[name]))
    path = GOLDEN / f"template-{name}.json"
    if os.environ.get("RCLAUDE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_cfn_lint_finds_nothing(name):
    from cfnlint.api import ManualArgs, lint

    matches = lint(
        dumps(build_template(VARIANTS[name])),
        config=ManualArgs(regions=["us-east-1", "eu-west-1"]),
    )
    assert [str(m) for m in matches] == []


def test_same_options_same_bytes():
    assert dumps(build_template(VARIANTS["aurora-redis"])) == dumps(
        build_template(VARIANTS["aurora-redis"])
    )


def test_security_groups_open_nothing_to_the_world():
    t = build_template(VARIANTS["aurora-redis"])
    for name, sg in _resources(t, "AWS::EC2::SecurityGroup").items():
        for rule in sg["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0", name
            assert "SourceSecurityGroupId" in rule, name
    assert "SecurityGroupIngress" not in t["Resources"]["WorkerSecurityGroup"]["Properties"]
    for rule in _resources(t, "AWS::EC2::SecurityGroupIngress").values():
        assert rule["Condition"] == "HasAllowedCidr"  # only when the user sets a CIDR
    assert t["Parameters"]["AllowedCidr"]["Default"] == ""


def test_bucket_queue_and_data_are_locked_down():
    t = build_template(VARIANTS["aurora-redis"])
    bucket = t["Resources"]["Bucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    tiering = bucket["LifecycleConfiguration"]["Rules"][0]["Transitions"][0]
    assert tiering == {"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 30}
    queue = t["Resources"]["TaskQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    db = t["Resources"]["Database"]["Properties"]
    assert db["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 16}
    assert db["StorageEncrypted"] and db["ManageMasterUserPassword"]
    redis = t["Resources"]["Redis"]["Properties"]
    assert redis["TransitEncryptionEnabled"] and redis["AtRestEncryptionEnabled"]
    assert "resolve:secretsmanager" in redis["AuthToken"]["Fn::Sub"]  # never a literal
    lt = t["Resources"]["EcsLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert lt["MetadataOptions"]["HttpTokens"] == "required"
    cluster = t["Resources"]["Cluster"]["Properties"]
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]


def test_alarms_cover_the_seed_thresholds():
    t = build_template(VARIANTS["default"])
    alarms = {k: v["Properties"] for k, v in _resources(t, "AWS::CloudWatch::Alarm").items()}
    assert alarms["ControlPlaneCpuAlarm"]["Threshold"] == 80
    assert alarms["ControlPlaneMemoryAlarm"]["Threshold"] == 85
    assert alarms["Http5xxAlarm"]["Threshold"] == 1
    assert alarms["LatencyAlarm"]["Threshold"] == 1.0
    assert alarms["QueueAgeAlarm"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


def test_roles_are_scoped_to_this_stack():
    t = build_template(VARIANTS["default"])
    for name, role in _resources(t, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                actions = st["Action"]
                assert "*" not in actions and not any(a.endswith(":*") for a in actions), name
                if st["Resource"] == ["*"]:  # only read-only, tag- or namespace-bound
                    assert "Condition" in st or all(
                        a.split(":")[1].startswith(("Describe", "List", "Get")) for a in actions
                    ), (name, actions)


def test_worker_secrets_are_injected_not_inlined():
    t = build_template(VARIANTS["aurora-redis"])
    container = t["Resources"]["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert container["Secrets"][0]["Name"] == "RCLAUDE_REDIS_PASSWORD"
    text = json.dumps(container["Environment"]).lower()
    assert "password" not in text and "secret" not in text


def test_prune_replaces_references_and_drops_outputs():
    t = build_template(VARIANTS["default"])
    pruned, removed = prune(
        t, {r["Type"] for r in t["Resources"].values()} - {"AWS::SecretsManager::Secret"}
    )
    assert removed == ["AppSecret"]
    assert "AppSecretArn" not in pruned["Outputs"] and "QueueUrl" in pruned["Outputs"]
    assert placeholder("AppSecret") in json.dumps(pruned["Resources"]["WorkerRole"])
    assert "AppSecret" in json.dumps(t["Resources"]["WorkerRole"])  # original untouched
