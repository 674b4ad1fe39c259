"""Reject bad AWS settings before anything is created.

Two levels:

- :func:`check_static` needs no network: the mode is one of the four, the region is a
  known region, instance types have the right shape, worker env carries no secret.
- :func:`check_offered` asks EC2 (``describe_instance_type_offerings``, read-only) that
  every instance type is offered in the region, so a typo such as ``t3.mediun`` fails
  with a hint instead of after half a fleet has launched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from rclaude.compute.aws import catalog
from rclaude.config.schema import AWS_MODES
from rclaude.errors import ConfigError, ValidationError, Where, closest
from rclaude.secretstore import url_has_password

#: Env var names that must never travel in user-data or ECS overrides (both are
#: readable with describe permissions); workers fetch such values from Secrets Manager.
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY")
#: ...unless the name says it only *names* the secret (an ARN or id, not the value).
_SECRET_REFERENCE = re.compile(r"_(ARN|ID|NAME)$")


def check_mode(mode: str) -> str:
    if mode not in AWS_MODES:
        hint_mode = closest(mode, AWS_MODES)
        raise ConfigError(
            f"unknown AWS mode {mode!r}",
            code="RC-AWS-013",
            where=Where(key="aws.mode"),
            hint=(f"did you mean {hint_mode!r}? " if hint_mode else "")
            + f"choose one of: {', '.join(AWS_MODES)}",
        )
    return mode


def check_region(region: str, *, key: str = "aws.region") -> str:
    if region not in catalog.REGIONS:
        near = closest(region, catalog.REGIONS)
        raise ConfigError(
            f"unknown AWS region {region!r}",
            code="RC-AWS-010",
            where=Where(key=key),
            hint=(f"did you mean {near!r}?" if near else "use a region name such as us-east-1"),
        )
    return region


def check_instance_type(name: str, *, key: str) -> str:
    if not catalog.looks_like_instance_type(name):
        near = closest(name, list(catalog.INSTANCE_TYPES))
        raise ConfigError(
            f"{name!r} is not an EC2 instance type",
            code="RC-AWS-011",
            where=Where(key=key),
            hint=(f"did you mean {near!r}? " if near else "")
            + "instance types look like t3.medium or m7g.large",
        )
    return name


def check_worker_env(env: Mapping[str, str]) -> None:
    """Refuse secrets in the worker environment (it ends up in user-data / ECS overrides)."""
    for name, value in env.items():
        if _SECRET_NAME.search(name.upper()) and not _SECRET_REFERENCE.search(name.upper()):
            raise ValidationError(
                f"worker environment variable {name} looks like a secret",
                code="RC-AWS-015",
                hint="store the value in Secrets Manager and pass its ARN (e.g. "
                f"{name}_SECRET_ARN); workers read it with their instance/task role",
            )
        if "://" in value and url_has_password(value):
            raise ValidationError(
                f"worker environment variable {name} holds a URL with a password",
                code="RC-AWS-015",
                hint="drop the password from the URL and keep it in Secrets Manager",
            )


def check_offered(ec2: Any, region: str, types: Iterable[tuple[str, str]]) -> None:
    """Every ``(instance_type, config_key)`` must be offered in ``region``.

    One read-only ``describe_instance_type_offerings`` call; raises ConfigError for
    the first type that is not offered.
    """
    from rclaude.awsutil import translate_aws_errors

    wanted = list(types)
    names = sorted({t for t, _ in wanted})
    if not names:
        return
    offered: set[str] = set()
    with translate_aws_errors(f"check instance types in {region}"):
        pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="region",
            Filters=[{"Name": "instance-type", "Values": names}],
        )
        for page in pages:
            offered.update(o["InstanceType"] for o in page["InstanceTypeOfferings"])
    for name, key in wanted:
        if name not in offered:
            near = closest(name, list(catalog.INSTANCE_TYPES))
            raise ConfigError(
                f"instance type {name!r} is not offered in {region}",
                code="RC-AWS-012",
                where=Where(key=key),
                hint=(f"did you mean {near!r}? " if near and near != name else "")
                + f"see `aws ec2 describe-instance-type-offerings --region {region}`",
            )
