"""``rclaude check``: are credentials and permissions in place for a backend?

Every check is read-only or a ``DryRun`` (RunInstances with ``DryRun=True`` answers
``DryRunOperation`` when it *would* be allowed and ``UnauthorizedOperation`` when not),
so checking never creates or bills anything. Results are a list of
:class:`CheckItem`; the CLI prints them and exits non-zero when one failed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rclaude import awsutil
from rclaude.config.schema import Config
from rclaude.errors import RclaudeError


@dataclass
class CheckItem:
    name: str
    ok: bool
    detail: str
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _failed(name: str, exc: RclaudeError) -> CheckItem:
    return CheckItem(name, False, f"[{exc.code}] {exc.message}", exc.hint)


def _probe(items: list[CheckItem], name: str, action: str, call, ok_detail) -> bool:
    try:
        with awsutil.translate_aws_errors(action):
            result = call()
    except RclaudeError as exc:
        items.append(_failed(name, exc))
        return False
    items.append(CheckItem(name, True, ok_detail(result)))
    return True


def check_aws(config: Config, mode: str | None = None) -> list[CheckItem]:
    from rclaude.compute.aws import AwsCompute

    items: list[CheckItem] = []
    try:
        compute = AwsCompute(config, {}, mode=mode)
    except RclaudeError as exc:
        return [_failed("settings", exc)]
    items.append(CheckItem("settings", True, f"mode {compute.mode} in {compute.region}"))
    if not _probe(
        items,
        "credentials",
        "identify the caller",
        lambda: compute.client("sts").get_caller_identity(),
        lambda r: f"account {r['Account']} as {r['Arn']}",
    ):
        return items
    if compute.mode in ("ec2", "shared"):
        try:
            compute.preflight()
            items.append(CheckItem("instance types", True, "offered in the region"))
        except RclaudeError as exc:
            items.append(_failed("instance types", exc))
        items.append(_run_instances_dry_run(compute))
    else:
        settings = config.aws.ecs if compute.mode == "ecs" else config.aws.fargate
        _probe(
            items,
            "ecs cluster",
            f"describe ECS cluster {settings.cluster_name}",
            lambda: compute.client("ecs").describe_clusters(clusters=[settings.cluster_name]),
            lambda r: (
                ", ".join(f"{c['clusterName']} {c['status']}" for c in r["clusters"]) or "not found"
            ),
        )
        if items[-1].ok and items[-1].detail == "not found":
            items[-1] = CheckItem(
                "ecs cluster",
                False,
                f"{settings.cluster_name} not found",
                "run `rclaude init-deployment --mode self-hosted`",
            )
    if config.queue == "sqs":
        sqs = compute.client("sqs")
        url = config.sqs.queue_url
        _probe(
            items,
            "sqs queue",
            "read the SQS queue",
            (lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]))
            if url
            else (lambda: sqs.get_queue_url(QueueName=config.sqs.queue_name)),
            lambda r: "reachable",
        )
    if config.storage == "s3" and config.s3.bucket:
        bucket = config.s3.bucket
        _probe(
            items,
            "s3 bucket",
            f"read S3 bucket {bucket}",
            lambda: compute.client("s3").head_bucket(Bucket=bucket),
            lambda r: "reachable",
        )
    return items


def _run_instances_dry_run(compute: Any) -> CheckItem:
    from botocore.exceptions import ClientError

    plan = compute.pool.plan
    params: dict[str, Any] = {
        "DryRun": True,
        "MinCount": 1,
        "MaxCount": 1,
        "InstanceType": plan.instance_types[0],
        "MetadataOptions": {"HttpTokens": "required"},
    }
    try:
        params["ImageId"] = compute.pool.image_for(plan.instance_types[0])
        if plan.instance_profile:
            params["IamInstanceProfile"] = (
                {"Arn": plan.instance_profile}
                if plan.instance_profile.startswith("arn:")
                else {"Name": plan.instance_profile}
            )
        if plan.subnet_ids:
            params["SubnetId"] = plan.subnet_ids[0]
        compute.client("ec2").run_instances(**params)
    except RclaudeError as exc:
        return _failed("launch permission", exc)
    except ClientError as exc:
        if awsutil.error_code(exc) == "DryRunOperation":
            return CheckItem("launch permission", True, "RunInstances allowed (dry run)")
        return _failed("launch permission", awsutil.translate(exc, "launch instances (dry run)"))
    return CheckItem("launch permission", True, "RunInstances accepted")


def check_backend(config: Config, backend: str | None = None) -> list[CheckItem]:
    """Checks for ``backend`` (default: the configured one; ``aws:<mode>`` picks a mode)."""
    backend = backend or config.backend
    provider, _, mode = backend.partition(":")
    if provider == "aws":
        return check_aws(config, mode or None)
    if provider == "local":
        return [CheckItem("local", True, "no credentials needed")]
    if provider == "fly":
        from rclaude.compute.fly import check_fly

        return _items(check_fly(config))
    if provider == "codespace":
        from rclaude.compute.codespace import check_codespace
        from rclaude.vcs import check_git

        return _items(check_codespace(config)) + _items(check_git(config))
    if provider == "git":
        from rclaude.vcs import check_git

        return _items(check_git(config))
    from rclaude.errors import UsageError

    raise UsageError(
        f"unknown backend '{backend}' for check",
        code="RC-USAGE-005",
        hint="choose one of: local, aws, aws:<mode>, fly, codespace, git",
    )


def _items(results: list[tuple[str, bool, str]]) -> list[CheckItem]:
    return [CheckItem(name, ok, detail) for name, ok, detail in results]
