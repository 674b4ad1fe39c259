"""Multi-region create / converge / idempotent re-run / destroy against the moto server.

Everything goes through the production boto3 code path (``AwsContext`` with the
server's ``endpoint_url``); calls are counted with botocore's ``before-call`` hook.
moto quirks: Ubuntu's SSM public parameter does not exist there, so ``image: auto``
uses ``aws.image_parameter`` pointed at the Amazon Linux parameter moto does ship.
"""

from __future__ import annotations

import base64
import gzip
import json
import random

import boto3
import pytest

from rclaude.deploy import deployer, fleet
from rclaude.deploy.aws import AwsContext
from rclaude.deploy.discovery import discover
from rclaude.deploy.plan import prepare
from rclaude.errors import NotFoundError
from tests.deploy.conftest import write

AMZN = "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2"
REGIONS = """\
  - {name: us-west-2, count: 2, instance_type: [t3.micro, t3a.micro]}
  - {name: eu-west-1, count: 3}
  - {name: ap-southeast-2, count: 1}
"""


def _project(make_project, aws, regions=REGIONS, with_secret=True):
    root = make_project(
        "fleet",
        regions=regions,
        aws_extra=f"endpoint_url: {aws}\nimage_parameter: {AMZN}\n"
        "public_ssh_key_path: id.pub\ntags: {Team: qa}",
    )
    write(
        root,
        "id.pub",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIODmcn3+LHYLRHZZSWRoGAfwGeZ8+bq+N3Hpaxih+hUO test@spot\n",
    )
    if with_secret:
        write(root, "secrets/token", "tok-123\n", 0o600)
    # a bundle too large to inline, so it goes through S3
    blob = root / "deployment/files/opt/blob.bin"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(random.Random(7).randbytes(20000))
    return root


def _create(root):
    plan = prepare(discover(root))
    ctx = AwsContext(endpoint_url=plan.project.config.aws.endpoint_url)
    return plan, ctx, deployer.create(plan, ctx)


def _live(aws, region, did):
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=aws)
    return fleet.live_instances(ec2, did)


@pytest.mark.slow
def test_create_converge_rerun_and_destroy_touch_only_the_deployment(make_project, aws):
    # unrelated resources that must survive everything below
    ec2w = boto3.client("ec2", region_name="us-west-2", endpoint_url=aws)
    other_vpc = ec2w.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other_i = ec2w.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.nano"
    )["Instances"][0]["InstanceId"]
    s3 = boto3.client("s3", region_name="us-west-2", endpoint_url=aws)

    root = _project(make_project, aws)
    plan, ctx, result = _create(root)
    did = plan.deployment_id
    assert {r: len(v["instances"]) for r, v in result.regions.items()} == {
        "us-west-2": 2,
        "eu-west-1": 3,
        "ap-southeast-2": 1,
    }
    assert ctx.mutating_calls["ec2:RunInstances"] == 3  # one batched request per region

    # what was launched is what we asked for: spot, IMDSv2, tagged, in the dedicated VPC
    inst = _live(aws, "us-west-2", did)[0]
    assert inst["InstanceLifecycle"] == "spot"
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    tags = {t["Key"]: t["Value"] for t in inst["Tags"]}
    assert tags["spot:deployment-id"] == did and tags["Team"] == "qa"
    assert inst["VpcId"] == result.regions["us-west-2"]["vpc_id"] != other_vpc
    assert inst["KeyName"] == f"spot-{did}"
    root_vol = next(b for b in inst["BlockDeviceMappings"] if b["DeviceName"] == "/dev/xvda")
    vol = ec2w.describe_volumes(VolumeIds=[root_vol["Ebs"]["VolumeId"]])["Volumes"][0]
    assert vol["Size"] == 20 and vol["Encrypted"]
    sg = ec2w.describe_security_groups(GroupIds=[result.regions["us-west-2"]["security_group_id"]])[
        "SecurityGroups"
    ][0]
    cidrs = {r["CidrIp"] for p in sg["IpPermissions"] for r in p["IpRanges"]}
    assert cidrs == {"198.51.100.7/32"}
    # the bundle went to S3 and the secret value is not in the user-data
    key = result.bundle_key
    assert s3.head_object(Bucket=result.bucket, Key=key)["ContentLength"] == len(plan.bundle.data)
    ud = ec2w.describe_instance_attribute(InstanceId=inst["InstanceId"], Attribute="userData")[
        "UserData"
    ]["Value"]
    raw = base64.b64decode(ud)
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    assert text.startswith("#cloud-config") and "tok-123" not in text

    # idempotent re-run: zero mutating calls
    _, ctx2, again = _create(root)
    assert ctx2.mutating_calls == {}
    assert all(not v["launched"] for v in again.regions.values())

    # converge: an instance dies, another region is scaled down
    ec2e = boto3.client("ec2", region_name="eu-west-1", endpoint_url=aws)
    ec2e.terminate_instances(InstanceIds=[_live(aws, "eu-west-1", did)[0]["InstanceId"]])
    cfg = root / ".spot/config.yaml"
    cfg.write_text(
        cfg.read_text().replace("{name: us-west-2, count: 2", "{name: us-west-2, count: 1")
    )
    _, ctx3, conv = _create(root)
    assert len(conv.regions["eu-west-1"]["launched"]) == 1
    assert len(conv.regions["us-west-2"]["terminated"]) == 1
    assert len(_live(aws, "eu-west-1", did)) == 3 and len(_live(aws, "us-west-2", did)) == 1
    assert ctx3.mutating_calls == {"ec2:RunInstances": 1, "ec2:TerminateInstances": 1}

    listed = deployer.list_deployments(
        AwsContext(endpoint_url=aws), ["us-west-2", "eu-west-1", "ap-southeast-2"]
    )
    assert listed[did] == {"us-west-2": 1, "eu-west-1": 3, "ap-southeast-2": 1}

    # destroy: nothing of the deployment is left, the unrelated VPC/instance survive
    report = deployer.destroy(
        AwsContext(endpoint_url=aws),
        did,
        ["us-west-2", "eu-west-1", "ap-southeast-2"],
        home_region="us-west-2",
        bucket=None,
    )
    assert any(x.startswith("vpc ") for x in report["eu-west-1"])
    for region in ("us-west-2", "eu-west-1", "ap-southeast-2"):
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=aws)
        assert not _live(aws, region, did)
        flt = [{"Name": "tag:spot:deployment-id", "Values": [did]}]
        assert not ec2.describe_vpcs(Filters=flt)["Vpcs"]
        assert not ec2.describe_subnets(Filters=flt)["Subnets"]
        assert not ec2.describe_security_groups(Filters=flt)["SecurityGroups"]
        assert not ec2.describe_key_pairs(
            Filters=[{"Name": "key-name", "Values": [f"spot-{did}"]}]
        )["KeyPairs"]
    assert "Contents" not in s3.list_objects_v2(Bucket=result.bucket, Prefix=f"deployments/{did}/")
    sm = boto3.client("secretsmanager", region_name="us-west-2", endpoint_url=aws)
    assert not sm.list_secrets()["SecretList"]
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=aws)
    assert not [r for r in iam.list_roles()["Roles"] if did in r["RoleName"]]
    assert ec2w.describe_vpcs(VpcIds=[other_vpc])["Vpcs"]
    state = ec2w.describe_instances(InstanceIds=[other_i])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "running"


@pytest.mark.slow
def test_changed_secret_is_updated_without_relaunch(make_project, aws):
    root = _project(make_project, aws, regions="  - {name: us-east-1, count: 1}")
    _create(root)
    write(root, "secrets/token", "tok-456\n")
    _, ctx, res = _create(root)
    assert set(ctx.mutating_calls) == {
        "secretsmanager:PutSecretValue",
        "secretsmanager:TagResource",
    }
    sm = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=aws)
    stored = json.loads(sm.get_secret_value(SecretId=f"spot/{res.deployment_id}")["SecretString"])
    assert base64.b64decode(stored["token"]) == b"tok-456\n"


def test_image_auto_with_missing_parameter_fails_clearly(make_project, aws):
    root = make_project("noami", aws_extra=f"endpoint_url: {aws}")  # default Ubuntu param
    plan = prepare(discover(root))
    with pytest.raises(NotFoundError) as err:
        deployer.create(plan, AwsContext(endpoint_url=aws))
    assert err.value.code == "RC-DEPLOY-064" and "image_parameter" in err.value.hint


def test_image_auto_reads_a_seeded_parameter(make_project, aws):
    ssm = boto3.client("ssm", region_name="us-west-2", endpoint_url=aws)
    ssm.put_parameter(Name="/spot/test/ami", Value="ami-0abc1234def567890", Type="String")
    root = make_project("seeded", aws_extra=f"endpoint_url: {aws}\nimage_parameter: /spot/test/ami")
    _, _, res = _create(root)
    ec2 = boto3.client("ec2", region_name="us-west-2", endpoint_url=aws)
    iid = res.regions["us-west-2"]["instances"][0]["id"]
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["ImageId"] == "ami-0abc1234def567890"


def test_status_reads_boot_reports_and_records_host_keys(make_project, aws):
    root = _project(make_project, aws, regions="  - {name: us-east-1, count: 1}", with_secret=False)
    plan, _, res = _create(root)
    iid = res.regions["us-east-1"]["instances"][0]["id"]
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws)
    s3.put_object(
        Bucket=res.bucket,
        Key=f"deployments/{plan.deployment_id}/status/{iid}.json",
        Body=json.dumps(
            {
                "instance_id": iid,
                "phase": "03-script-1-x",
                "state": "failed",
                "failed_phase": "03-script-1-x",
                "log_tail": ["boom"],
                "host_keys": ["ssh-ed25519 AAAAkey"],
            }
        ),
    )
    out = deployer.status(
        AwsContext(endpoint_url=aws),
        root,
        plan.deployment_id,
        ["us-east-1"],
        home_region="us-east-1",
        bucket=None,
    )
    row = out["us-east-1"][0]
    assert row["failed_phase"] == "03-script-1-x" and row["log_tail"] == ["boom"]
    known = (root / ".spot/known_hosts").read_text()
    assert f"{row['public_ip']} ssh-ed25519 AAAAkey" in known
    assert "StrictHostKeyChecking=yes" in row["ssh"]
    assert (root / ".spot/known_hosts").stat().st_mode & 0o777 == 0o600


def test_top_up_moves_over_zones_and_types_on_partial_fulfilment():
    """The top-up policy alone (moto cannot simulate capacity shortages)."""
    capacity = {("t3.micro", "a"): 1, ("t3.micro", "b"): 0, ("t3a.micro", "a"): 5}
    calls = []

    def launch(itype, az, n):
        calls.append((itype, az, n))
        have = capacity[(itype, az)]
        if have == 0:
            raise fleet.CapacityError("InsufficientInstanceCapacity")
        return [f"{itype}-{az}-{i}" for i in range(min(n, have))]

    ids, notes = fleet.top_up(4, [("t3.micro", "a"), ("t3.micro", "b"), ("t3a.micro", "a")], launch)
    assert len(ids) == 4
    assert calls == [("t3.micro", "a", 4), ("t3.micro", "b", 3), ("t3a.micro", "a", 3)]
    assert "InsufficientInstanceCapacity" in notes[1]


def test_zones_ranked_by_spot_price(aws):
    ec2 = boto3.client("ec2", region_name="eu-west-1", endpoint_url=aws)
    ranked = fleet.rank_zones(ec2, ["t3.micro"])
    zones = [z for z, _ in ranked]
    assert zones == sorted(zones) and len(zones) >= 2  # moto: one static price everywhere
    prices = [p for _, p in ranked]
    assert all(p is not None for p in prices) and prices == sorted(prices)


def test_half_finished_network_is_repaired_not_duplicated(make_project, aws):
    """An earlier run died after creating the VPC and gateway but before attaching it."""
    root = make_project("half", aws_extra=f"endpoint_url: {aws}\nimage_parameter: {AMZN}")
    did = "half"
    ec2 = boto3.client("ec2", region_name="us-west-2", endpoint_url=aws)
    tags = [{"Key": "spot:deployment-id", "Value": did}]
    vpc = ec2.create_vpc(
        CidrBlock="10.83.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}]
    )["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway(
        TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": tags}]
    )["InternetGateway"]["InternetGatewayId"]
    _create(root)
    flt = [{"Name": "tag:spot:deployment-id", "Values": [did]}]
    gws = ec2.describe_internet_gateways(Filters=flt)["InternetGateways"]
    assert [g["InternetGatewayId"] for g in gws] == [igw]
    assert gws[0]["Attachments"][0]["VpcId"] == vpc
    assert [v["VpcId"] for v in ec2.describe_vpcs(Filters=flt)["Vpcs"]] == [vpc]
    deployer.destroy(
        AwsContext(endpoint_url=aws), did, ["us-west-2"], home_region="us-west-2", bucket=None
    )
    assert not ec2.describe_internet_gateways(Filters=flt)["InternetGateways"]
    assert not ec2.describe_vpcs(Filters=flt)["Vpcs"]
