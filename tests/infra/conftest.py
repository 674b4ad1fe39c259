"""Fixtures for init-deployment on a moto server.

Moto's CloudFormation lacks some resource types and some behaviours; the footprint is
deployed as a *moto variant* of the real template (see docs/infra.md):

- resource types moto has no model for are pruned (references to them become
  placeholder ARNs): :data:`MOTO_UNSUPPORTED` lists what that removes;
- ``AWS::RDS::DBInstance`` with the ``aurora-postgresql`` engine crashes moto's parser,
  so it goes too (its cluster is unsupported anyway);
- moto cannot delete NAT gateways, routes and route tables through CloudFormation, so
  the variant retains the network on delete (``--destroy`` then completes);
- moto never computes Outputs for a stack created through a change set
  (``ChangeSet.apply`` skips the output map); ``moto_outputs`` patches the in-process
  emulator to do what CloudFormation does. rclaude's own code path is unchanged.
"""

from __future__ import annotations

import pytest

from rclaude.infra.cfn import prune

#: Resource types of the full template (Aurora and Redis on) that moto cannot create.
MOTO_UNSUPPORTED = [
    "AWS::CloudWatch::Alarm",
    "AWS::ECS::CapacityProvider",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::SubnetGroup",
    "AWS::RDS::DBCluster",
    "AWS::S3::BucketPolicy",
    "AWS::SES::EmailIdentity",
    "AWS::SNS::Subscription",
    "AWS::SecretsManager::Secret",
]
_NO_CFN_DELETE = ("AWS::EC2::",)
_KEEP_DELETING = {"AWS::EC2::SecurityGroup", "AWS::EC2::LaunchTemplate"}


def moto_variant(template: dict) -> dict:
    from moto.cloudformation.parsing import get_model_map

    supported = set(get_model_map()) - {"AWS::RDS::DBInstance"}
    pruned, _ = prune(template, supported)
    for res in pruned["Resources"].values():
        if res["Type"].startswith(_NO_CFN_DELETE) and res["Type"] not in _KEEP_DELETING:
            res["DeletionPolicy"] = "Retain"
    return pruned


@pytest.fixture
def moto_outputs(monkeypatch):
    from moto.cloudformation.models import ChangeSet
    from moto.cloudformation.parsing import OutputMap

    original = ChangeSet.apply

    def apply(self):
        original(self)
        self.stack.output_map = OutputMap(
            self.stack.resource_map, self.template_dict, self.stack.stack_id
        )

    monkeypatch.setattr(ChangeSet, "apply", apply)


@pytest.fixture
def ecs_ami(aws):
    """The SSM parameter the template's EcsAmi parameter resolves (moto has it or not)."""
    from rclaude import awsutil

    ssm = awsutil.client("ssm", region="us-east-1", endpoint_url=aws)
    name = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    try:
        ssm.get_parameter(Name=name)
    except Exception:
        ssm.put_parameter(Name=name, Value="ami-12c6146b", Type="String")
    return name
