"""Deployment state: AWS tags are the truth, ``.spot/state.json`` is a cache.

The cache lets ``list``/``status``/``destroy`` work offline-first and remember which
regions a deployment touched; every command that talks to AWS refreshes it from the
tagged resources and rewrites it atomically. Losing the cache loses nothing.
Host keys reported by instances are kept in ``.spot/known_hosts`` so SSH can verify
them (``StrictHostKeyChecking=yes``, never ``no``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rclaude.fsutil import atomic_write

STATE_FILE = ".spot/state.json"
KNOWN_HOSTS = ".spot/known_hosts"


def load(root: Path) -> dict:
    """The cached state (empty structure when absent or unreadable)."""
    try:
        data = json.loads((root / STATE_FILE).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save(root: Path, deployment_id: str, regions: dict[str, dict], **extra) -> dict:
    """Write the cache atomically; returns what was written."""
    doc = {
        "deployment_id": deployment_id,
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "regions": regions,
        **extra,
    }
    atomic_write(root / STATE_FILE, json.dumps(doc, indent=2, sort_keys=True, default=str))
    return doc


def instance_summary(inst: dict) -> dict:
    """The fields of a DescribeInstances item worth caching and showing."""
    return {
        "id": inst["InstanceId"],
        "type": inst.get("InstanceType"),
        "az": inst.get("Placement", {}).get("AvailabilityZone"),
        "state": inst.get("State", {}).get("Name"),
        "public_ip": inst.get("PublicIpAddress"),
        "private_ip": inst.get("PrivateIpAddress"),
        "launched": str(inst.get("LaunchTime") or ""),
        "bundle": {t["Key"]: t["Value"] for t in inst.get("Tags", [])}.get("spot:bundle"),
    }


def record_host_keys(root: Path, host: str, keys: list[str]) -> int:
    """Add ``host``'s public host keys to ``.spot/known_hosts``; return how many were new."""
    path = root / KNOWN_HOSTS
    lines = path.read_text().splitlines() if path.exists() else []
    new = 0
    for key in keys:
        parts = key.split()
        if len(parts) < 2:
            continue
        line = f"{host} {parts[0]} {parts[1]}"
        if line not in lines:
            lines.append(line)
            new += 1
    if new:
        atomic_write(path, "\n".join(lines) + "\n", mode=0o600)
    return new


def ssh_command(root: Path, user: str, host: str) -> list[str]:
    """SSH argv that verifies the recorded host key (no trust-on-first-use bypass)."""
    return [
        "ssh",
        "-o",
        f"UserKnownHostsFile={root / KNOWN_HOSTS}",
        "-o",
        "StrictHostKeyChecking=yes",
        f"{user}@{host}",
    ]
