"""The least-privilege instance role of a deployment.

Instances may read their own bundle prefix, write their own status prefix and read
their own secret — nothing else. Role, inline policy and instance profile are named
after the deployment; ``ensure`` writes only what is missing or different.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from rclaude.deploy.aws import tag_list

ASSUME_EC2 = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
POLICY_NAME = "spot-deployer-instance"


def role_name(deployment_id: str) -> str:
    return f"spot-{deployment_id}"[:64]


def policy(bucket: str, prefix: str, secret_arn: str | None) -> dict:
    statements = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/{prefix}bundle-*"],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/{prefix}status/*"],
        },
    ]
    if secret_arn:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [secret_arn],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _doc(value) -> dict:
    return json.loads(unquote(value)) if isinstance(value, str) else value


def ensure(iam, deployment_id: str, document: dict, tags: dict[str, str]) -> str:
    """Create/update role, policy and instance profile; return the profile name."""
    name = role_name(deployment_id)
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(ASSUME_EC2),
            Description="spot-deployer instance role",
            Tags=tag_list(tags),
        )
    try:
        current = _doc(iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"])
    except iam.exceptions.NoSuchEntityException:
        current = None
    if current != document:
        iam.put_role_policy(
            RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(document)
        )
    try:
        prof = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except iam.exceptions.NoSuchEntityException:
        prof = iam.create_instance_profile(InstanceProfileName=name, Tags=tag_list(tags))[
            "InstanceProfile"
        ]
    if not any(r["RoleName"] == name for r in prof.get("Roles", [])):
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return name


def delete(iam, deployment_id: str) -> list[str]:
    """Remove the profile, policy and role; return what was deleted."""
    name = role_name(deployment_id)
    deleted = []
    try:
        prof = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        for r in prof.get("Roles", []):
            iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=r["RoleName"])
        iam.delete_instance_profile(InstanceProfileName=name)
        deleted.append(f"instance-profile {name}")
    except iam.exceptions.NoSuchEntityException:
        pass
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        return deleted
    for pname in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=pname)
    iam.delete_role(RoleName=name)
    deleted.append(f"role {name}")
    return deleted
