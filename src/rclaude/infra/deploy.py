"""``init-deployment --mode self-hosted``: the library behind the command.

Order of events, so that bad input never creates anything:

1. validate the request locally (mode, region, stack name, template parameters);
2. build the template (pure) and check its size;
3. ask STS who we are (read-only) — missing credentials stop here;
4. plan through a change set (:class:`rclaude.infra.stack.Stack`); a dry run stops
   here and leaves nothing behind;
5. execute, wait, and write the outputs into the user's config file atomically.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rclaude import awsutil
from rclaude.compute.aws.validate import check_instance_type, check_region
from rclaude.errors import ConfigError, UsageError, Where, closest
from rclaude.infra import outputs as outputs_mod
from rclaude.infra.stack import Stack, StackPlan
from rclaude.infra.template import PARAMETERS, TemplateOptions, build_template

DEPLOY_MODES = ("self-hosted",)
DEFAULT_STACK = "rclaude"
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")


@dataclass
class DeployRequest:
    mode: str = "self-hosted"
    stack_name: str = DEFAULT_STACK
    region: str = "us-east-1"
    endpoint_url: str | None = None
    profile: str | None = None
    deployment: str = "default"
    options: TemplateOptions = field(default_factory=TemplateOptions)
    parameters: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    config_path: Path | None = None
    poll: float = 5.0
    #: Applied to the template before deploying (e.g. dropping resource types an
    #: emulator lacks); None in production.
    transform: Callable[[dict], dict] | None = None

    def all_parameters(self) -> dict[str, str]:
        return {"Deployment": self.deployment, **self.parameters}


@dataclass
class DeployResult:
    plan: StackPlan
    template: dict
    account: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    config_path: Path | None = None
    config_keys: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "plan": self.plan.to_dict(),
            "outputs": self.outputs,
            "config_path": str(self.config_path) if self.config_path else None,
            "config_keys": self.config_keys,
        }


def validate(req: DeployRequest) -> None:
    """Local checks only (no network); raises before anything is contacted."""
    if req.mode not in DEPLOY_MODES:
        raise UsageError(
            f"unknown deployment mode {req.mode!r}",
            code="RC-INFRA-001",
            hint=f"use --mode {' or '.join(DEPLOY_MODES)}",
        )
    check_region(req.region, key="--region")
    if not _STACK_NAME.match(req.stack_name):
        raise UsageError(
            f"invalid stack name {req.stack_name!r}",
            code="RC-INFRA-009",
            hint="letters, digits and '-', starting with a letter, at most 128 characters",
        )
    if not re.match(PARAMETERS["Deployment"]["AllowedPattern"], req.deployment):
        raise ConfigError(
            f"deployment name {req.deployment!r} is not allowed",
            code="RC-INFRA-010",
            where=Where(key="aws.deployment"),
            hint="1-32 lowercase letters, digits or '-'",
        )
    for key, value in req.parameters.items():
        spec = PARAMETERS.get(key)
        if spec is None:
            near = closest(key, list(PARAMETERS))
            raise UsageError(
                f"unknown template parameter {key!r}",
                code="RC-INFRA-011",
                hint=(f"did you mean {near!r}? " if near else "")
                + f"parameters: {', '.join(sorted(PARAMETERS))}",
            )
        if "AllowedValues" in spec and value not in spec["AllowedValues"]:
            raise UsageError(
                f"parameter {key}={value!r} is not one of {spec['AllowedValues']}",
                code="RC-INFRA-012",
            )
        if "AllowedPattern" in spec and not re.match(spec["AllowedPattern"], value):
            raise UsageError(f"parameter {key}={value!r} is malformed", code="RC-INFRA-012")
        if key == "EcsInstanceType":
            check_instance_type(value, key="--param EcsInstanceType")


def template_for(req: DeployRequest) -> dict:
    template = build_template(req.options)
    return req.transform(template) if req.transform else template


def _client(req: DeployRequest, service: str) -> Any:
    return awsutil.client(
        service, region=req.region, endpoint_url=req.endpoint_url, profile=req.profile
    )


def whoami(req: DeployRequest) -> str:
    """The AWS account of the caller (fails with AuthError without credentials)."""
    with awsutil.translate_aws_errors("identify the AWS caller (sts:GetCallerIdentity)"):
        return _client(req, "sts").get_caller_identity()["Account"]


def init_deployment(req: DeployRequest) -> DeployResult:
    """Plan (and unless ``dry_run``, apply) the stack; write outputs into the config."""
    validate(req)
    template = template_for(req)
    account = whoami(req)
    stack = Stack(_client(req, "cloudformation"), req.stack_name, poll=req.poll)
    plan = stack.plan(template, req.all_parameters(), dry_run=req.dry_run)
    result = DeployResult(plan, template, account)
    if req.dry_run:
        return result
    result.outputs = stack.apply(plan)
    if req.config_path is not None and result.outputs:
        updates = outputs_mod.config_updates(
            result.outputs,
            stack_name=req.stack_name,
            region=req.region,
            deployment=req.deployment,
        )
        if req.endpoint_url:
            updates[("aws", "endpoint_url")] = req.endpoint_url
        result.config_keys = outputs_mod.write_config(req.config_path, updates)
        result.config_path = req.config_path
    return result


def destroy_deployment(req: DeployRequest) -> bool:
    """Delete the stack (the bucket and database snapshots are retained by policy)."""
    validate(req)
    whoami(req)
    return Stack(_client(req, "cloudformation"), req.stack_name, poll=req.poll).destroy()
