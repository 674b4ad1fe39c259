"""The legacy (Bacalhau-style) layout: root ``config.yaml`` plus ``instance/scripts/``.

``read_legacy`` turns it into the new :class:`SpotConfig` and :class:`DeploymentSpec`;
``migrate`` writes ``.spot/config.yaml`` and ``.spot/deployment.yaml`` next to it, keeps
a backup of every file it would replace, and ``rollback`` restores that backup.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from rclaude import yamlio
from rclaude.deploy.schema import (
    AwsSection,
    DeploymentSpec,
    Manifest,
    RegionSection,
    Script,
    SpotConfig,
    Upload,
    load_yaml,
)
from rclaude.errors import ConfigError, NotFoundError, Where
from rclaude.fsutil import atomic_write

LEGACY_AWS_KEYS = {
    "total_instances",
    "username",
    "public_ssh_key_path",
    "private_ssh_key_path",
    "tags",
    "spot_max_price",
    "allowed_cidrs",
}


def is_legacy(root: Path) -> bool:
    return (root / "config.yaml").is_file() and (root / "instance").is_dir()


def read_legacy(root: Path) -> tuple[SpotConfig, DeploymentSpec, list[str]]:
    """Parse the legacy layout; return config, spec and notes (ignored keys etc.)."""
    path = root / "config.yaml"
    data, lines = load_yaml(path, "config.yaml")
    notes: list[str] = []
    if not isinstance(data, dict) or "regions" not in data:
        raise ConfigError(
            "legacy config.yaml needs 'aws' and 'regions'",
            code="RC-DEPLOY-020",
            where=Where(file=str(path), line=1),
        )
    aws_in = data.get("aws") or {}
    aws_out = {}
    for key, value in aws_in.items():
        if key in LEGACY_AWS_KEYS - {"total_instances", "private_ssh_key_path"}:
            aws_out[key] = value
        elif key not in ("total_instances", "private_ssh_key_path"):
            notes.append(f"ignored legacy key aws.{key} (line {lines.lines.get('aws.' + key)})")
    regions_in = data.get("regions") or []
    names: list[tuple[str, dict]] = []
    for i, item in enumerate(regions_in):
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(
                "each legacy region is a one-key mapping {region: {...}}",
                code="RC-DEPLOY-021",
                where=lines.where(("regions", i)),
            )
        ((name, body),) = item.items()
        names.append((name, body or {}))
    total = int(aws_in.get("total_instances", len(names)))
    per, extra = divmod(total, max(len(names), 1))
    regions = []
    for i, (name, body) in enumerate(names):
        regions.append(
            RegionSection(
                name=name,
                instance_type=body.get("machine_type", "t3.medium"),
                image=body.get("image", "auto"),
                count=per + (1 if i < extra else 0),
            )
        )
    config = SpotConfig(aws=AwsSection(**aws_out), regions=regions)

    spec = DeploymentSpec()
    scripts_dir = root / "instance" / "scripts"
    if scripts_dir.is_dir():
        for s in sorted(scripts_dir.glob("*.sh")):
            spec.scripts.append(Script(command=f"instance/scripts/{s.name}"))
    for sub in ("config", "configs", "files"):
        if (root / "instance" / sub).is_dir():
            spec.uploads.append(Upload(source=f"instance/{sub}", dest=f"/opt/instance/{sub}"))
    return config, spec, notes


def migrate(root: Path) -> dict:
    """Write the new layout for a legacy project; return a report (files written, backup)."""
    if not is_legacy(root):
        raise NotFoundError(
            f"no legacy layout (config.yaml + instance/) in {root}", code="RC-DEPLOY-022"
        )
    config, spec, notes = read_legacy(root)
    backup = root / ".spot" / "migrate-backup" / time.strftime("%Y%m%dT%H%M%S")
    targets = {
        root / ".spot" / "config.yaml": yamlio.dumps(
            config.model_dump(mode="json", exclude_defaults=True)
        ),
        root / ".spot" / "deployment.yaml": yamlio.dumps(
            Manifest(version=1, deployment=spec).model_dump(mode="json", exclude_defaults=True)
        ),
    }
    backed_up, created = [], []
    for target in targets:
        if target.exists():
            dest = backup / target.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target, dest)
            backed_up.append(str(target.relative_to(root)))
        else:
            created.append(str(target.relative_to(root)))
    backup.mkdir(parents=True, exist_ok=True)
    atomic_write(
        backup / "migration.json",
        json.dumps({"backed_up": backed_up, "created": created}, indent=2),
    )
    for target, text in targets.items():
        atomic_write(target, text)
    return {
        "written": [str(t.relative_to(root)) for t in targets],
        "backup": str(backup),
        "notes": notes,
        "regions": [r.name for r in config.regions],
        "scripts": [s.command for s in spec.script_list()],
    }


def rollback(root: Path) -> dict:
    """Undo the latest :func:`migrate`: restore backed-up files, delete created ones."""
    base = root / ".spot" / "migrate-backup"
    runs = sorted(base.iterdir()) if base.is_dir() else []
    if not runs:
        raise NotFoundError("no migration to roll back", code="RC-DEPLOY-023")
    run = runs[-1]
    record = json.loads((run / "migration.json").read_text())
    for rel in record["created"]:
        (root / rel).unlink(missing_ok=True)
    for rel in record["backed_up"]:
        shutil.copy2(run / rel, root / rel)
    shutil.rmtree(run)
    return {"restored": record["backed_up"], "removed": record["created"]}
