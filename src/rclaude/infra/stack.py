"""Deploying the footprint's stack: always through a change set, never blind.

- :meth:`Stack.plan` computes what would change. For an existing stack it first
  compares the deployed template and parameters with the new ones and returns "no
  changes" without touching anything when they are equal (a second run changes
  nothing); otherwise it creates a change set and lists its changes. A change set that
  AWS reports as empty ("didn't contain changes") is deleted and also means no change.
  With ``dry_run`` no change set is left behind, and for a stack that does not exist
  yet nothing at all is created: the plan is "add every resource", computed locally.
- :meth:`Stack.apply` executes the plan's change set and waits for the stack.
- :meth:`Stack.destroy` deletes the stack and waits (the bucket is retained by its
  DeletionPolicy: objects are never deleted by rclaude).

A stack stuck in ROLLBACK_COMPLETE or busy in another operation is a ConflictError
with a hint, before anything is submitted.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from rclaude.awsutil import error_code, translate_aws_errors
from rclaude.errors import BackendError, ConflictError, ValidationError

#: CloudFormation's limit for a template passed inline (TemplateBody).
TEMPLATE_BODY_LIMIT = 51_200
CAPABILITIES = ["CAPABILITY_IAM"]
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class Change:
    action: str  # Add | Modify | Remove | Dynamic
    logical_id: str
    resource_type: str
    replacement: str | None = None


@dataclass
class StackPlan:
    stack_name: str
    exists: bool
    changes: list[Change] = field(default_factory=list)
    change_set: str | None = None
    local: bool = False  # computed without AWS (dry run of a stack that does not exist)

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack_name,
            "exists": self.exists,
            "change_set": self.change_set,
            "computed_locally": self.local,
            "changes": [c.__dict__ for c in self.changes],
        }


class Stack:
    """One CloudFormation stack, reached through a boto3 ``cloudformation`` client."""

    def __init__(self, cfn: Any, name: str, *, poll: float = 5.0, timeout: float = 3600) -> None:
        self.cfn = cfn
        self.name = name
        self.poll = poll
        self.timeout = timeout

    # -- reading ----------------------------------------------------------------------

    def describe(self) -> dict | None:
        """The stack's description, or None when it does not exist (or was deleted)."""
        from botocore.exceptions import ClientError

        try:
            stacks = self.cfn.describe_stacks(StackName=self.name)["Stacks"]
        except ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
                return None
            with translate_aws_errors(f"describe stack {self.name}"):
                raise
        live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
        return live[0] if live else None

    def outputs(self) -> dict[str, str]:
        stack = self.describe()
        if stack is None:
            return {}
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    # -- planning ---------------------------------------------------------------------

    def plan(
        self, template: dict, parameters: dict[str, str], *, dry_run: bool = False
    ) -> StackPlan:
        from rclaude.infra.cfn import dumps

        body = dumps(template, pretty=False)
        if len(body) > TEMPLATE_BODY_LIMIT:
            raise ValidationError(
                f"template is {len(body)} bytes, over CloudFormation's inline limit",
                code="RC-INFRA-004",
                hint="write it with --template-out and deploy it from S3",
            )
        stack = self.describe()
        status = stack["StackStatus"] if stack else None
        exists = status not in (None, "REVIEW_IN_PROGRESS")
        if status == "ROLLBACK_COMPLETE":
            raise ConflictError(
                f"stack {self.name} failed to create and is in ROLLBACK_COMPLETE",
                code="RC-INFRA-002",
                hint="delete it with `rclaude init-deployment --destroy`, then run again",
            )
        if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            raise ConflictError(
                f"stack {self.name} is busy ({status})",
                code="RC-INFRA-003",
                hint="wait for the running operation to finish, then run again",
            )
        if exists and self._unchanged(stack, body, parameters):
            return StackPlan(self.name, True)
        if dry_run and not exists:
            changes = [
                Change("Add", name, res["Type"])
                for name, res in sorted(template["Resources"].items())
            ]
            return StackPlan(self.name, False, changes, local=True)
        plan = self._change_set(body, parameters, exists)
        if dry_run and plan.change_set:
            with translate_aws_errors("delete the dry-run change set"):
                self.cfn.delete_change_set(StackName=self.name, ChangeSetName=plan.change_set)
            plan.change_set = None
        return plan

    def _unchanged(self, stack: dict, body: str, parameters: dict[str, str]) -> bool:
        with translate_aws_errors(f"read the template of stack {self.name}"):
            deployed = self.cfn.get_template(StackName=self.name, TemplateStage="Original")
        current = deployed["TemplateBody"]
        if isinstance(current, str):
            try:
                current = json.loads(current)
            except ValueError:
                return False
        if current != json.loads(body):
            return False
        live = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        # A parameter not passed falls back to its Default on update (not to the previous
        # value), so the defaults are part of what must match. SSM-typed defaults are
        # skipped: a newer value behind the same SSM name alone does not redeploy.
        wanted = {
            k: str(spec["Default"])
            for k, spec in current.get("Parameters", {}).items()
            if "Default" in spec and not str(spec.get("Type", "")).startswith("AWS::SSM::")
        }
        wanted.update(parameters)
        return all(live.get(k) == v for k, v in wanted.items())

    def _change_set(self, body: str, parameters: dict[str, str], exists: bool) -> StackPlan:
        import secrets

        name = f"rclaude-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
        with translate_aws_errors(f"create a change set for stack {self.name}"):
            created = self.cfn.create_change_set(
                StackName=self.name,
                ChangeSetName=name,
                ChangeSetType="UPDATE" if exists else "CREATE",
                TemplateBody=body,
                Parameters=[
                    {"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())
                ],
                Capabilities=CAPABILITIES,
                Tags=[{"Key": "rclaude:managed-by", "Value": "rclaude"}],
            )
            name = created.get("Id", name)  # the ARN: unambiguous in later calls
            described = self._wait_change_set(name)
        if described["Status"] == "FAILED":
            reason = described.get("StatusReason", "")
            with translate_aws_errors("delete the failed change set"):
                self.cfn.delete_change_set(StackName=self.name, ChangeSetName=name)
            if any(marker in reason for marker in _NO_CHANGES):
                return StackPlan(self.name, exists)
            raise BackendError(
                f"CloudFormation rejected the change set for {self.name}: {reason}",
                code="RC-INFRA-005",
            )
        changes = []
        for item in described.get("Changes", []):
            rc = item.get("ResourceChange", {})
            changes.append(
                Change(
                    rc.get("Action", "?"),
                    rc.get("LogicalResourceId", "?"),
                    rc.get("ResourceType", "?"),
                    rc.get("Replacement"),
                )
            )
        return StackPlan(self.name, exists, changes, change_set=name)

    def _wait_change_set(self, name: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            described = self.cfn.describe_change_set(StackName=self.name, ChangeSetName=name)
            pages = [described]
            while pages[-1].get("NextToken"):
                pages.append(
                    self.cfn.describe_change_set(
                        StackName=self.name, ChangeSetName=name, NextToken=pages[-1]["NextToken"]
                    )
                )
            described["Changes"] = [c for p in pages for c in p.get("Changes", [])]
            if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
                return described
            if time.monotonic() > deadline:
                raise BackendError(
                    f"change set {name} did not complete in time", code="RC-INFRA-006"
                )
            time.sleep(self.poll)

    # -- changing ---------------------------------------------------------------------

    def apply(self, plan: StackPlan) -> dict[str, str]:
        """Execute ``plan`` (nothing when it is empty) and return the stack outputs."""
        if plan.change_set:
            with translate_aws_errors(f"execute the change set of stack {self.name}"):
                self.cfn.execute_change_set(StackName=self.name, ChangeSetName=plan.change_set)
            final = self._wait_stack(("CREATE_COMPLETE", "UPDATE_COMPLETE"))
            if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                raise BackendError(
                    f"stack {self.name} ended in {final}: {self._failure_reasons()}",
                    code="RC-INFRA-007",
                    hint="see the stack's events in the CloudFormation console",
                )
        return self.outputs()

    def destroy(self) -> bool:
        """Delete the stack and wait; False when there was no stack."""
        if self.describe() is None:
            return False
        with translate_aws_errors(f"delete stack {self.name}"):
            self.cfn.delete_stack(StackName=self.name)
        final = self._wait_stack(("DELETE_COMPLETE",))
        if final not in (None, "DELETE_COMPLETE"):
            raise BackendError(
                f"stack {self.name} could not be deleted ({final}): {self._failure_reasons()}",
                code="RC-INFRA-008",
            )
        return True

    def _wait_stack(self, done: tuple[str, ...]) -> str | None:
        deadline = time.monotonic() + self.timeout
        while True:
            with translate_aws_errors(f"watch stack {self.name}"):
                stack = self.describe()
            status = stack["StackStatus"] if stack else None
            if status is None or not status.endswith("_IN_PROGRESS") or status in done:
                return status
            if time.monotonic() > deadline:
                raise BackendError(f"stack {self.name} still {status}", code="RC-INFRA-006")
            time.sleep(self.poll)

    def _failure_reasons(self) -> str:
        with translate_aws_errors(f"read events of stack {self.name}"):
            events = self.cfn.describe_stack_events(StackName=self.name)["StackEvents"]
        reasons = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
            for e in events
            if e.get("ResourceStatus", "").endswith("_FAILED")
        ]
        return "; ".join(reasons[:5]) or "no failure events"
