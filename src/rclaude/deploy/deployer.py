"""The deployer's operations on AWS: create (converge), destroy, status, list, prices.

``create`` is idempotent: it looks everything up by the ``spot:deployment-id`` tag (or
by content hash, for the bundle and the secret) and writes only what is missing or
different, so a second run with nothing to do makes read calls only. Regions are
handled in parallel, one worker thread each. ``destroy`` removes only resources tagged
with (or named after) the deployment id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from rclaude.deploy import boot, fleet, iam, network, state
from rclaude.deploy import secrets as secrets_mod
from rclaude.deploy.aws import AwsContext, translated
from rclaude.deploy.plan import DeploymentPlan
from rclaude.errors import BackendError, NotFoundError

PRESIGN_SECONDS = 3600
Progress = Callable[[str, str], None]


def _noop(region: str, message: str) -> None:
    return None


@dataclass
class CreateResult:
    deployment_id: str
    regions: dict[str, dict] = field(default_factory=dict)
    bucket: str | None = None
    bundle_key: str | None = None
    api_calls: int = 0
    mutating_calls: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "deployment_id": self.deployment_id,
            "bucket": self.bucket,
            "bundle_key": self.bundle_key,
            "regions": self.regions,
            "api_calls": self.api_calls,
            "mutating_calls": self.mutating_calls,
        }


def bucket_name(ctx: AwsContext, region: str, configured: str | None) -> str:
    if configured:
        return configured
    account = ctx.client("sts", region).get_caller_identity()["Account"]
    return f"spot-deployer-{account}-{region}"


def _ensure_bucket(s3, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    args: dict = {"Bucket": bucket}
    if region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**args)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def _object_exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def resolve_image(ctx: AwsContext, region: str, image: str, parameter: str) -> str:
    """An AMI id: ``image`` itself, or for ``auto`` the SSM public parameter's value."""
    if image != "auto":
        return image
    ssm = ctx.client("ssm", region)
    try:
        return ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        raise NotFoundError(
            f"{region}: SSM parameter {parameter} (image: auto) does not exist",
            code="RC-DEPLOY-064",
            hint="set aws.image_parameter to an existing parameter or give image: ami-…",
        ) from None


def create(plan: DeploymentPlan, ctx: AwsContext, *, progress: Progress = _noop) -> CreateResult:
    """Converge AWS to the plan; return what exists afterwards (and call counts)."""
    cfg = plan.project.config
    did = plan.deployment_id
    home = cfg.regions[0].name
    tags = plan.tags()
    prefix = f"deployments/{did}/"
    result = CreateResult(did)
    with translated("preparing the deployment"):
        bucket = bucket_name(ctx, home, cfg.aws.bucket)
        s3 = ctx.client("s3", home)
        _ensure_bucket(s3, bucket, home)
        result.bucket = bucket
        key = f"{prefix}bundle-{plan.bundle.sha256[:16]}.tar.gz"
        if not plan.inline:
            result.bundle_key = key
            if not _object_exists(s3, bucket, key):
                progress(home, f"uploading bundle ({len(plan.bundle.data)} bytes)")
                s3.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=plan.bundle.data,
                    ChecksumSHA256=_b64_sha(plan.bundle.data),
                    Metadata={"sha256": plan.bundle.sha256},
                )
        secret_arn = None
        if plan.secrets:
            sm = ctx.client("secretsmanager", home)
            secret_arn = secrets_mod.ensure(
                sm, did, plan.secrets, [{"Key": k, "Value": v} for k, v in tags.items()]
            )
        profile = iam.ensure(
            ctx.client("iam", home), did, iam.policy(bucket, prefix, secret_arn), tags
        )

    def one_region(region_cfg) -> dict:
        name = region_cfg.name
        ec2 = ctx.client("ec2", name)
        with translated(f"deploying to {name}"):
            progress(name, "network")
            net = network.RegionNetwork(ec2, did, tags)
            net.ensure(plan.cidrs, [cfg.aws.ssh_port, *cfg.aws.open_ports], plan.public_key)
            image = resolve_image(ctx, name, region_cfg.image, cfg.aws.image_parameter)
            url = (
                None
                if plan.inline
                else s3.generate_presigned_url(
                    "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGN_SECONDS
                )
            )
            inputs = boot.BootInputs(
                deployment_id=did,
                region=name,
                bundle_sha256=plan.bundle.sha256,
                bundle_url=url,
                bucket=bucket,
                bundle_key=None if plan.inline else key,
                status_prefix=f"{prefix}status",
                endpoint_url=cfg.aws.endpoint_url,
                secret_id=secrets_mod.secret_name(did) if plan.secrets else None,
                inline_bundle=plan.bundle.data if plan.inline else None,
                home_region=home,
            )
            user_data = plan.cloud_config(inputs).render_user_data()
            progress(name, f"converging to {region_cfg.count} instance(s)")
            spec = fleet.LaunchSpec(
                image_id=image,
                user_data=user_data,
                security_group_id=net.sg_id,
                tags={**tags, "spot:region": name, "spot:bundle": plan.bundle.sha256[:16]},
                key_name=network.key_name(did) if plan.public_key else None,
                instance_profile=profile,
                max_price=cfg.aws.spot_max_price,
                root_volume_gb=cfg.aws.root_volume_gb,
                root_device=_root_device(ec2, image),
            )
            res = fleet.converge(
                ec2, name, did, region_cfg.count, region_cfg.instance_types, spec, net.subnet_for
            )
            progress(name, f"{len(res.instances)} instance(s) live")
            return {
                "vpc_id": net.vpc_id,
                "security_group_id": net.sg_id,
                "subnets": net.subnets,
                "launched": res.launched,
                "terminated": res.terminated,
                "attempts": res.attempts,
                "instances": [state.instance_summary(i) for i in res.instances],
            }

    regions = cfg.regions
    with ThreadPoolExecutor(max_workers=min(8, len(regions))) as pool:
        futures = {r.name: pool.submit(one_region, r) for r in regions}
        errors = []
        for name, fut in futures.items():
            try:
                result.regions[name] = fut.result()
            except BackendError as exc:
                errors.append(exc)
                result.regions[name] = {"error": str(exc)}
    state.save(plan.project.root, did, result.regions, bucket=bucket)
    result.api_calls = ctx.total_calls
    result.mutating_calls = ctx.mutating_calls
    if errors:
        raise errors[0]
    return result


def _root_device(ec2, image: str) -> str | None:
    """The AMI's root device name, so the root volume can be sized and encrypted."""
    try:
        images = ec2.describe_images(ImageIds=[image])["Images"]
    except ec2.exceptions.ClientError:
        return None
    return images[0].get("RootDeviceName") if images else None


def _b64_sha(data: bytes) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def destroy(
    ctx: AwsContext,
    deployment_id: str,
    regions: list[str],
    *,
    home_region: str,
    bucket: str | None = None,
) -> dict:
    """Remove every resource of ``deployment_id``; return a per-region deletion report."""
    report: dict[str, list[str]] = {}

    def one(region: str) -> list[str]:
        ec2 = ctx.client("ec2", region)
        with translated(f"destroying in {region}"):
            gone = [f"instance {i}" for i in fleet.terminate_all(ec2, deployment_id)]
            return gone + network.teardown(ec2, deployment_id)

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(regions)))) as pool:
        for region, deleted in zip(regions, pool.map(one, regions), strict=True):
            report[region] = deleted
    with translated("destroying shared resources"):
        bucket = bucket_name(ctx, home_region, bucket)
        s3 = ctx.client("s3", home_region)
        removed = []
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=f"deployments/{deployment_id}/"
            )
            for page in pages:
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
                    removed += [k["Key"] for k in keys]
        except s3.exceptions.NoSuchBucket:
            pass
        shared = [f"s3 {k}" for k in removed]
        if secrets_mod.delete(ctx.client("secretsmanager", home_region), deployment_id):
            shared.append(f"secret {secrets_mod.secret_name(deployment_id)}")
        shared += iam.delete(ctx.client("iam", home_region), deployment_id)
    report["shared"] = shared
    return report


def list_deployments(ctx: AwsContext, regions: list[str]) -> dict[str, dict[str, int]]:
    """Deployment id -> region -> live instance count, from tags (the truth)."""
    out: dict[str, dict[str, int]] = {}

    def one(region: str) -> tuple[str, list[dict]]:
        ec2 = ctx.client("ec2", region)
        with translated(f"listing {region}"):
            pages = ec2.get_paginator("describe_instances").paginate(
                Filters=[
                    {"Name": "tag-key", "Values": ["spot:deployment-id"]},
                    {"Name": "instance-state-name", "Values": fleet.LIVE_STATES},
                ]
            )
            return region, [i for p in pages for r in p["Reservations"] for i in r["Instances"]]

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(regions)))) as pool:
        for region, insts in pool.map(one, regions):
            for inst in insts:
                did = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}["spot:deployment-id"]
                out.setdefault(did, {}).setdefault(region, 0)
                out[did][region] += 1
    return out


def status(
    ctx: AwsContext,
    plan_root,
    deployment_id: str,
    regions: list[str],
    *,
    home_region: str,
    bucket: str | None,
    username: str = "ubuntu",
) -> dict:
    """Instances from AWS plus each one's boot report (phase, first failure, log tail)."""
    with translated("reading status"):
        bucket = bucket_name(ctx, home_region, bucket)
        s3 = ctx.client("s3", home_region)
        reports: dict[str, dict] = {}
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=f"deployments/{deployment_id}/status/"
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                    doc = json.loads(body)
                    reports[doc.get("instance_id", obj["Key"])] = doc
        except s3.exceptions.NoSuchBucket:
            pass
        out: dict[str, list[dict]] = {}
        for region in regions:
            ec2 = ctx.client("ec2", region)
            rows = []
            for inst in fleet.live_instances(ec2, deployment_id):
                row = state.instance_summary(inst)
                rep = reports.get(inst["InstanceId"], {})
                row["phase"] = rep.get("phase", "unknown")
                row["boot_state"] = rep.get("state", "no report yet")
                row["failed_phase"] = rep.get("failed_phase")
                row["log_tail"] = rep.get("log_tail")
                if rep.get("host_keys") and row.get("public_ip"):
                    state.record_host_keys(plan_root, row["public_ip"], rep["host_keys"])
                    row["ssh"] = " ".join(state.ssh_command(plan_root, username, row["public_ip"]))
                rows.append(row)
            out[region] = rows
    state.save(
        plan_root, deployment_id, {r: {"instances": rows} for r, rows in out.items()}, bucket=bucket
    )
    return out


def spot_prices(ctx: AwsContext, region: str, instance_types: list[str]) -> dict[str, float]:
    """Cheapest current spot price per instance type in ``region`` (USD/hour)."""
    import datetime as dt

    ec2 = ctx.client("ec2", region)
    with translated(f"reading spot prices in {region}"):
        hist = ec2.describe_spot_price_history(
            InstanceTypes=instance_types,
            ProductDescriptions=["Linux/UNIX"],
            StartTime=dt.datetime.now(dt.UTC),
            MaxResults=200,
        )["SpotPriceHistory"]
    out: dict[str, float] = {}
    for h in hist:
        p = float(h["SpotPrice"])
        out[h["InstanceType"]] = min(p, out.get(h["InstanceType"], p))
    return out
