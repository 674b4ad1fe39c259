"""Secrets: files under ``secrets/`` (or ``credentials/``) go to AWS Secrets Manager.

One secret per deployment (``spot/<deployment-id>``) holds every file, base64-encoded,
keyed by its path relative to the secrets directory. Instances fetch it at boot with
their instance role and write each file with mode 0600 under ``/opt/spot/secrets``.
File contents never appear in user-data, logs, plans or JSON output: only names, a
count and a content hash do. The hash is kept as a tag so an unchanged set of secrets
costs no write on a re-run.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from rclaude.errors import ValidationError

#: Secrets Manager's limit for one secret value.
MAX_SECRET_BYTES = 65536
DEST_DIR = "/opt/spot/secrets"
HASH_TAG = "spot:content-sha256"


@dataclass(frozen=True)
class SecretSet:
    """The deployment's secret files: names are public, the payload is not printable."""

    names: tuple[str, ...]
    digest: str
    _payload: str  # JSON {name: base64}; kept out of repr on purpose

    def __repr__(self) -> str:
        return f"SecretSet(names={self.names!r}, digest={self.digest[:12]}…)"

    def payload(self) -> str:
        return self._payload


def secret_name(deployment_id: str) -> str:
    return f"spot/{deployment_id}"


def collect(secret_dir: Path | None) -> SecretSet | None:
    """Read every regular file under ``secret_dir``; None if there is none."""
    if secret_dir is None:
        return None
    files = {}
    root = secret_dir.resolve()
    for p in sorted(secret_dir.rglob("*")):
        if p.is_symlink() and root not in p.resolve().parents:
            raise ValidationError(f"{p} is a symlink out of {secret_dir}", code="RC-DEPLOY-050")
        if p.is_file():
            files[p.relative_to(secret_dir).as_posix()] = base64.b64encode(p.read_bytes()).decode()
    if not files:
        return None
    payload = json.dumps(files, sort_keys=True)
    if len(payload) > MAX_SECRET_BYTES:
        raise ValidationError(
            f"{secret_dir.name}/ is {len(payload)} bytes encoded, over Secrets Manager's "
            f"{MAX_SECRET_BYTES}-byte limit",
            code="RC-DEPLOY-051",
            hint="keep only credentials there; ship large files in the bundle",
        )
    return SecretSet(tuple(files), hashlib.sha256(payload.encode()).hexdigest(), payload)


def ensure(client, deployment_id: str, secrets: SecretSet, tags: list[dict]) -> str:
    """Create or update the deployment's secret; return its ARN. No write if unchanged."""
    name = secret_name(deployment_id)
    try:
        desc = client.describe_secret(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        desc = None
    if desc is None:
        resp = client.create_secret(
            Name=name,
            SecretString=secrets.payload(),
            Tags=tags + [{"Key": HASH_TAG, "Value": secrets.digest}],
        )
        return resp["ARN"]
    current = {t["Key"]: t["Value"] for t in desc.get("Tags", [])}.get(HASH_TAG)
    if current != secrets.digest:
        client.put_secret_value(SecretId=name, SecretString=secrets.payload())
        client.tag_resource(SecretId=name, Tags=[{"Key": HASH_TAG, "Value": secrets.digest}])
    return desc["ARN"]


def delete(client, deployment_id: str) -> bool:
    """Delete the deployment's secret immediately; False when there was none."""
    try:
        client.delete_secret(SecretId=secret_name(deployment_id), ForceDeleteWithoutRecovery=True)
        return True
    except client.exceptions.ResourceNotFoundException:
        return False
