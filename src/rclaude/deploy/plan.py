"""The deployment plan: everything checked and computed before any AWS call.

:func:`prepare` validates the whole project offline (schema, paths, service order,
bundle, tarball checksum and members, secrets size, cloud-init overrides, user-data
size and schema, ingress CIDRs, SSH key) and returns a :class:`DeploymentPlan`. Its
``to_dict`` is what ``--dry-run``/``preview``/``--json`` print: secret *names* and a
count only, never their content.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rclaude.cloudinit import CloudConfig
from rclaude.deploy import boot, bundle, plugins
from rclaude.deploy import secrets as secrets_mod
from rclaude.deploy.bundle import Bundle
from rclaude.deploy.discovery import CLOUD_INIT_FILE, Project
from rclaude.deploy.schema import load_yaml
from rclaude.deploy.secrets import SecretSet
from rclaude.deploy.services import dependency_order
from rclaude.errors import ConfigError, ValidationError, Where

CALLER_IP_URL = "https://checkip.amazonaws.com"
#: Placeholder used to size-check user-data before the real presigned URL exists.
_URL_PLACEHOLDER = "https://s3.amazonaws.com/" + "x" * 900


def default_ip_resolver() -> str:
    """The caller's public IPv4 (``SPOT_DEPLOYER_CALLER_IP`` wins over the network)."""
    env = os.environ.get("SPOT_DEPLOYER_CALLER_IP")
    if env:
        return env
    with urllib.request.urlopen(CALLER_IP_URL, timeout=5) as resp:
        return resp.read().decode().strip()


@dataclass
class DeploymentPlan:
    project: Project
    bundle: Bundle
    secrets: SecretSet | None
    overrides: dict | None
    cidrs: list[str]
    public_key: str | None
    services_order: list[str]

    @property
    def deployment_id(self) -> str:
        return self.project.deployment_id

    @property
    def inline(self) -> bool:
        return len(self.bundle.data) <= boot.INLINE_LIMIT

    def tags(self) -> dict[str, str]:
        return {
            **self.project.config.aws.tags,
            "spot:deployment-id": self.deployment_id,
            "Name": f"spot-{self.deployment_id}",
            "spot:managed-by": "spot-deployer",
        }

    def cloud_config(self, inputs: boot.BootInputs) -> CloudConfig:
        cfg = boot.build_cloud_config(self.project, inputs, self.overrides)
        plugins.apply_generators(cfg, self.project)
        return cfg

    def sample_inputs(self, region: str) -> boot.BootInputs:
        """Boot inputs with placeholders (for dry runs, golden files and size checks)."""
        return boot.BootInputs(
            deployment_id=self.deployment_id,
            region=region,
            bundle_sha256=self.bundle.sha256,
            inline_bundle=self.bundle.data if self.inline else None,
            bundle_url=None if self.inline else _URL_PLACEHOLDER,
            bucket="spot-deployer-bucket",
            bundle_key=None if self.inline else f"deployments/{self.deployment_id}/bundle.tgz",
            status_prefix=f"deployments/{self.deployment_id}/status",
            secret_id=secrets_mod.secret_name(self.deployment_id) if self.secrets else None,
        )

    def estimated_boot_seconds(self) -> int:
        spec = self.project.spec
        return (
            90
            + 15 * len(spec.packages)
            + 20 * len(spec.scripts)
            + 10 * len(spec.services)
            + (120 if spec.compose_file else 0)
            + (30 if spec.tarball else 0)
        )

    def to_dict(self) -> dict:
        p, spec = self.project, self.project.spec
        return {
            "deployment_id": self.deployment_id,
            "mode": p.mode,
            "root": str(p.root),
            "discovered": p.found,
            "warnings": p.warnings,
            "regions": [
                {
                    "name": r.name,
                    "count": r.count,
                    "instance_types": r.instance_types,
                    "image": r.image,
                }
                for r in p.config.regions
            ],
            "packages": spec.packages,
            "files": [{"path": f.path, "size": f.size, "mode": f.mode} for f in self.bundle.files],
            "uploads": [
                {"source": u["source"], "dest": u["dest"], "files": len(u["files"])}
                for u in self.bundle.uploads
            ],
            "scripts": [s.command for s in spec.script_list()],
            "services": self.services_order,
            "compose_file": spec.compose_file,
            "tarball": None
            if spec.tarball is None
            else {
                "source": spec.tarball.url or spec.tarball.path,
                "extract_to": spec.tarball.extract_to,
            },
            "environment": sorted(spec.environment),
            "secrets": {
                "count": len(self.secrets.names) if self.secrets else 0,
                "names": list(self.secrets.names) if self.secrets else [],
            },
            "bundle": {
                "sha256": self.bundle.sha256,
                "bytes": len(self.bundle.data),
                "delivery": "inline" if self.inline else "s3",
            },
            "allowed_cidrs": self.cidrs,
            "estimated_boot_seconds": self.estimated_boot_seconds(),
        }


def resolve_cidrs(cidrs: list[str], resolver: Callable[[], str] | None) -> list[str]:
    """Replace ``auto`` by the caller's IP/32; fail clearly when it cannot be found."""
    out = []
    for c in cidrs:
        if c != "auto":
            out.append(c)
            continue
        try:
            ip = (resolver or default_ip_resolver)()
        except Exception as exc:
            raise ConfigError(
                f"cannot find your public IP for allowed_cidrs: auto ({exc})",
                code="RC-DEPLOY-010",
                where=Where(file=".spot/config.yaml", key="aws.allowed_cidrs"),
                hint="set aws.allowed_cidrs to explicit CIDRs, e.g. [203.0.113.7/32], "
                "or SPOT_DEPLOYER_CALLER_IP",
            ) from None
        parts = ip.split(".")
        if len(parts) != 4 or not all(x.isdigit() and int(x) < 256 for x in parts):
            raise ConfigError(
                f"caller IP lookup returned {ip!r}, not an IPv4 address", code="RC-DEPLOY-011"
            )
        out.append(f"{ip}/32")
    return sorted(set(out))


def _check_units(project: Project) -> None:
    """Every service file must exist inside the project and look like a systemd unit."""
    from rclaude.fsutil import safe_join

    for i, svc in enumerate(project.spec.services):
        key = f"deployment.services.{i}.file"
        path = safe_join(project.root, svc.file, what="service file")
        if not path.is_file():
            raise ValidationError(
                f"service file {svc.file} not found",
                code="RC-DEPLOY-047",
                where=Where(key=key),
                hint="fix the path (project-relative)",
            )
        if "[Service]" not in path.read_text(errors="replace"):
            raise ValidationError(
                f"{svc.file} is not a systemd service unit (no [Service] section)",
                code="RC-DEPLOY-048",
                where=Where(file=svc.file, key=key),
                hint="add [Service] with ExecStart=… (see systemd.service(5))",
            )


def _check_secret_modes(project: Project) -> None:
    """Warn (do not fail) when local secret files are readable by other users."""
    d = project.secret_dir()
    if d is None:
        return
    loose = [
        p.relative_to(project.root).as_posix()
        for p in sorted(d.rglob("*"))
        if p.is_file() and p.stat().st_mode & 0o077
    ]
    if loose:
        project.warnings.append(
            f"secret files readable by other local users: {', '.join(loose)} (chmod 600 them)"
        )


def _public_key(project: Project) -> str | None:
    path = project.config.aws.public_ssh_key_path
    if not path:
        return None
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = project.root / p
    if not p.is_file():
        raise ConfigError(
            f"SSH public key {path} not found",
            code="RC-DEPLOY-012",
            where=Where(file=".spot/config.yaml", key="aws.public_ssh_key_path"),
            hint="point it at an existing .pub file (ssh-keygen -t ed25519)",
        )
    text = p.read_text().strip()
    if not text.startswith(("ssh-", "ecdsa-")) or "PRIVATE KEY" in text:
        raise ConfigError(
            f"{path} is not an SSH public key",
            code="RC-DEPLOY-013",
            where=Where(file=".spot/config.yaml", key="aws.public_ssh_key_path"),
            hint="use the .pub file, never the private key",
        )
    return text


def _overrides(project: Project) -> dict | None:
    path = project.root / CLOUD_INIT_FILE
    if not path.is_file():
        return None
    data, _ = load_yaml(path, CLOUD_INIT_FILE)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{CLOUD_INIT_FILE} must be a mapping of cloud-config keys",
            code="RC-DEPLOY-014",
            where=Where(file=CLOUD_INIT_FILE, line=1),
        )
    return data


def prepare(
    project: Project,
    *,
    ip_resolver: Callable[[], str] | None = None,
    fetch_remote: bool = True,
    check_schema: bool = False,
) -> DeploymentPlan:
    """Validate ``project`` completely and return its plan (no AWS call is made)."""
    order = [s.name for s in dependency_order(project.spec.services)]
    _check_units(project)
    _check_secret_modes(project)
    built = bundle.build(project)
    bundle.check_tarball(project, fetch_remote=fetch_remote)
    secret_set = secrets_mod.collect(project.secret_dir())
    cidrs = resolve_cidrs(project.config.aws.allowed_cidrs, ip_resolver)
    if "0.0.0.0/0" in cidrs:
        project.warnings.append(
            "allowed_cidrs contains 0.0.0.0/0: the instances' ports are open to the whole internet"
        )
    plan = DeploymentPlan(
        project=project,
        bundle=built,
        secrets=secret_set,
        overrides=_overrides(project),
        cidrs=cidrs,
        public_key=_public_key(project),
        services_order=order,
    )
    for region in project.config.regions:
        cfg = plan.cloud_config(plan.sample_inputs(region.name))
        cfg.render_user_data()  # raises when over the 16 KB limit even gzipped
        if check_schema:
            from rclaude.cloudinit import validate_schema

            validate_schema(cfg.render())
        break  # regions differ only in names; one render proves size and schema
    return plan
