"""aws/ec2 and aws/shared modes against a moto server, through production boto3 paths."""

from __future__ import annotations

import base64

import pytest
import yaml

from rclaude.compute.aws import AwsCompute, tags
from rclaude.errors import BackendError
from tests.compute_aws.conftest import WORKER_ENV
from tests.compute_aws.faults import inject_error, record


def _instances(fp, state="running"):
    res = fp.client("ec2").describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": [state]}]
    )["Reservations"]
    return [i for r in res for i in r["Instances"]]


def _tag(fp, ids, value):
    fp.client("ec2").create_tags(Resources=list(ids), Tags=[{"Key": tags.STATE, "Value": value}])


def test_launch_is_spot_imdsv2_profile_tagged(footprint):
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    calls = record(compute.client("ec2"), "RunInstances")
    workers = compute.launch(2)

    assert len(workers) == 2 and all(w.backend == "aws:ec2" for w in workers)
    # moto starts MinCount instances per call (EC2 up to MaxCount): the second worker
    # comes from a second call, in the next subnet.
    assert [c["MaxCount"] for c in calls] == [2, 1]
    params = calls[0]
    assert params["InstanceMarketOptions"]["SpotOptions"]["MaxPrice"] == "0.05000"
    assert params["InstanceInitiatedShutdownBehavior"] == "terminate"
    assert params["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert "ClientToken" in params and len(params["ClientToken"]) <= 64
    for inst in _instances(footprint):
        assert inst["InstanceLifecycle"] == "spot"
        assert inst["MetadataOptions"]["HttpTokens"] == "required"
        assert inst["IamInstanceProfile"]["Arn"].endswith("instance-profile/rclaude-worker")
        assert "KeyName" not in inst
        assert inst["SubnetId"] in footprint.subnet_ids
        t = tags.from_ec2(inst["Tags"])
        assert t[tags.MANAGED_BY] == "rclaude"
        assert t[tags.DEPLOYMENT] == "test"
        assert t[tags.WORKER] == "ec2"


def test_user_data_boots_worker_without_secrets(footprint):
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    (worker,) = compute.launch(1)
    attr = footprint.client("ec2").describe_instance_attribute(
        InstanceId=worker.id, Attribute="userData"
    )
    text = base64.b64decode(attr["UserData"]["Value"]).decode()
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    files = {f["path"]: f for f in doc["write_files"]}
    assert files["/etc/rclaude/worker.env"]["permissions"] == "0600"
    assert "RCLAUDE_SQS_QUEUE_URL=" in files["/etc/rclaude/worker.env"]["content"]
    unit = files["/etc/systemd/system/rclaude-worker.service"]["content"]
    assert 'worker --worker-id "$$RCLAUDE_WORKER_ID" --idle-timeout 60 --concurrency 1' in unit
    assert "AWS_SECRET_ACCESS_KEY" not in text and "testing" not in text
    assert any(p.endswith("-install-worker.sh") for p in files)  # shared renderer's phases
    from rclaude.cloudinit import validate_schema, validator_available

    if not validator_available():
        pytest.skip("cloud-init not installed (Debian package cloud-init)")
    validate_schema(text)  # cloud-init's own validator; raises on an invalid document


def test_list_is_by_tag_and_ignores_foreign_instances(footprint):
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    mine = {w.id for w in compute.launch(2)}
    ec2 = footprint.client("ec2")
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)  # untagged
    other = tags.worker_tags("other-deployment", "ec2", None)
    ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags.as_ec2(other)}],
    )
    # A fresh backend object: nothing cached locally, AWS is the source of truth.
    listed = AwsCompute(footprint.config("ec2"), WORKER_ENV).list()
    assert {w.id for w in listed} == mine
    assert all(w.details["lifecycle"] == "spot" for w in listed)


def test_launch_with_token_is_idempotent(footprint):
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    first = compute.launch(3, token="tick-42")
    again = AwsCompute(footprint.config("ec2"), WORKER_ENV).launch(3, token="tick-42")
    assert {w.id for w in again} == {w.id for w in first}
    assert len(_instances(footprint)) == 3
    more = compute.launch(4, token="tick-42")  # one more under the same token
    assert len(more) == 4 and len(_instances(footprint)) == 4


def test_stop_terminates_only_idle_workers(footprint):
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    a, b, c = (w.id for w in compute.launch(3))
    _tag(footprint, [a], "idle")
    _tag(footprint, [b], "busy")
    stopped = compute.stop([a, b, c, "i-notours0000000000"])
    assert stopped == [a]
    running = {i["InstanceId"] for i in _instances(footprint)}
    assert running == {b, c}


def test_stop_uses_is_idle_callable_when_given(footprint):
    registry = {}
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV, is_idle=lambda i: registry[i])
    a, b = (w.id for w in compute.launch(2))
    _tag(footprint, [a, b], "idle")  # tags say idle, but the registry knows better
    registry.update({a: False, b: True})
    assert compute.stop([a, b]) == [b]


def test_sweep_removes_orphans_never_busy(footprint):
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    idle, busy, unregistered, registered, stopped = (w.id for w in compute.launch(5))
    _tag(footprint, [idle], "idle")
    _tag(footprint, [busy], "busy")
    footprint.client("ec2").stop_instances(InstanceIds=[stopped])
    known = {busy, registered}

    preview = compute.sweep(known=known, grace=0, dry_run=True)
    assert set(preview.removed) == {idle, unregistered, stopped}
    assert len(_instances(footprint)) == 4  # dry run changed nothing

    report = compute.sweep(known=known, grace=0)
    assert report.reasons[stopped] == "stopped instance"
    assert report.reasons[idle] == "idle"
    assert {i["InstanceId"] for i in _instances(footprint)} == {busy, registered}


def test_sweep_respects_grace_for_booting_workers(footprint):
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    compute.launch(1)
    assert compute.sweep(known=set()).removed == []  # launched seconds ago: still booting


def test_capacity_error_falls_back_to_next_az(footprint):
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    first_subnet = footprint.subnet_ids[0]
    failed = inject_error(
        compute.client("ec2"), "RunInstances", lambda body: body.get("SubnetId") == first_subnet
    )
    workers = compute.launch(2)
    assert len(workers) == 2 and failed
    assert {w.details["az"] for w in workers} == {"us-east-1b"}
    assert [a.error for a in compute.pool.attempts][:2] == ["InsufficientInstanceCapacity", None]


def test_capacity_error_falls_back_to_next_instance_type(footprint):
    cfg = footprint.config("ec2", ec2={"fallback_instance_types": ["t3a.medium", "m5.large"]})
    compute = AwsCompute(cfg, WORKER_ENV)
    inject_error(
        compute.client("ec2"), "RunInstances", lambda body: body.get("InstanceType") == "t3.medium"
    )
    inject_error(
        compute.client("ec2"),
        "RunInstances",
        lambda body: body.get("InstanceType") == "t3a.medium",
        code="SpotMaxPriceTooLow",
    )
    workers = compute.launch(2)
    assert {w.details["instance_type"] for w in workers} == {"m5.large"}
    errors = [a.error for a in compute.pool.attempts]
    assert errors[:4] == ["InsufficientInstanceCapacity"] * 2 + ["SpotMaxPriceTooLow"] * 2


def test_no_capacity_anywhere_is_a_clear_error(footprint):
    compute = AwsCompute(footprint.config("ec2"), WORKER_ENV)
    inject_error(compute.client("ec2"), "RunInstances", lambda body: True)
    with pytest.raises(BackendError) as info:
        compute.launch(1)
    assert info.value.code == "RC-AWS-020"
    assert "t3.medium@" + footprint.subnet_ids[1] in info.value.message
    assert _instances(footprint) == []


def test_on_demand_when_spot_disabled(footprint):
    cfg = footprint.config("ec2", ec2={"spot_instance": False})
    compute = AwsCompute(cfg, WORKER_ENV)
    calls = record(compute.client("ec2"), "RunInstances")
    compute.launch(1)
    assert "InstanceMarketOptions" not in calls[0]
    assert "InstanceLifecycle" not in _instances(footprint)[0]


def test_shared_mode_runs_one_multi_slot_worker_per_instance(footprint):
    compute = AwsCompute(footprint.config("shared"), WORKER_ENV)
    assert compute.slots_per_worker == 8
    (worker,) = compute.launch(1)
    assert worker.slots == 8 and worker.backend == "aws:shared"
    assert worker.details["instance_type"] == "t3.large"
    attr = footprint.client("ec2").describe_instance_attribute(
        InstanceId=worker.id, Attribute="userData"
    )
    assert "--concurrency 8" in base64.b64decode(attr["UserData"]["Value"]).decode()
    # shared and ec2 workers of one deployment never see each other
    assert AwsCompute(footprint.config("ec2"), WORKER_ENV).list() == []
    _tag(footprint, [worker.id], "idle")
    assert compute.stop([worker.id]) == [worker.id]


def test_fallback_types_are_used_only_on_capacity_errors(footprint):
    cfg = footprint.config("ec2", ec2={"fallback_instance_types": ["m5.large"]})
    workers = AwsCompute(cfg, WORKER_ENV).launch(3)
    assert {w.details["instance_type"] for w in workers} == {"t3.medium"}
    assert {w.details["az"] for w in workers} == {"us-east-1a", "us-east-1b"}  # spread
