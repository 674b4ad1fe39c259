"""Find the project and decide how it describes its deployment.

Order: an explicit manifest ``.spot/deployment.yaml`` (or ``--manifest``) wins; else the
convention directory ``deployment/`` (or ``--deployment-dir``); else the legacy layout
(root ``config.yaml`` + ``instance/``), with a deprecation warning. The project root is
found by walking up from the start directory to one holding ``.spot/`` or
``deployment/`` (or a legacy layout).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from rclaude.deploy import conventions, legacy
from rclaude.deploy.schema import DeploymentSpec, Manifest, SpotConfig, load_model
from rclaude.errors import ConfigError, NotFoundError, Where

SPOT_DIR = ".spot"
CONFIG_FILE = ".spot/config.yaml"
MANIFEST_FILE = ".spot/deployment.yaml"
CLOUD_INIT_FILE = ".spot/cloud-init.yaml"
CONVENTION_DIR = "deployment"
SECRET_DIRS = ("secrets", "credentials")


@dataclass
class Project:
    """A discovered project: where it is, its settings and what to put on instances."""

    root: Path
    mode: str  # "manifest" | "convention" | "legacy"
    config: SpotConfig
    spec: DeploymentSpec
    found: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.aws.deployment_name or slug(self.root.name)

    @property
    def deployment_id(self) -> str:
        """Stable id: ``aws.deployment_name`` as given, else the directory name plus a
        short hash of the root path (same project = same id, two clones differ)."""
        if self.config.aws.deployment_name:
            return self.config.aws.deployment_name
        digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:8]
        return f"{self.name}-{digest}"

    def secret_dir(self) -> Path | None:
        return next((self.root / d for d in SECRET_DIRS if (self.root / d).is_dir()), None)


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return (s or "project")[:40]


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that looks like a project."""
    start = start.resolve()
    for d in (start, *start.parents):
        if (d / SPOT_DIR).is_dir() or (d / CONVENTION_DIR).is_dir() or legacy.is_legacy(d):
            return d
    return None


def discover(
    start: Path | None = None,
    *,
    deployment_dir: Path | None = None,
    manifest: Path | None = None,
) -> Project:
    """Discover the project at or above ``start`` (default: the current directory).

    Raises ``NotFoundError`` (suggesting ``init``) when nothing deployable is found and
    ``ConfigError`` for any invalid file — always before any cloud call.
    """
    start = Path(start or Path.cwd())
    root = find_root(start) if manifest is None and deployment_dir is None else start.resolve()
    if root is None:
        raise NotFoundError(
            f"no deployable project at or above {start}",
            code="RC-DEPLOY-001",
            hint="run 'spot-deployer init' to create .spot/config.yaml and deployment/setup.sh",
        )
    warnings: list[str] = []
    manifest_path = manifest or root / MANIFEST_FILE
    conv_dir = deployment_dir or root / CONVENTION_DIR

    if manifest_path.is_file():
        config = _load_config(root)
        m = load_model(Manifest, manifest_path, display=_display(root, manifest_path))
        return Project(
            root,
            "manifest",
            config,
            m.deployment,
            found=[f"manifest {_display(root, manifest_path)}"],
            warnings=warnings,
        )
    if manifest is not None:
        raise NotFoundError(f"manifest {manifest} not found", code="RC-DEPLOY-006")
    if conv_dir.is_dir():
        config = _load_config(root)
        if not any(conv_dir.iterdir()):
            raise NotFoundError(
                f"{_display(root, conv_dir)}/ is empty",
                code="RC-DEPLOY-001",
                hint="add deployment/setup.sh or run 'spot-deployer init'",
            )
        name = config.aws.deployment_name or slug(root.name)
        spec, found = conventions.scan(root, conv_dir.resolve(), name)
        if not found:
            raise NotFoundError(
                f"nothing deployable in {_display(root, conv_dir)}/",
                code="RC-DEPLOY-001",
                hint="add deployment/setup.sh (or .service files), or run 'spot-deployer init'",
            )
        return Project(root, "convention", config, spec, found=found, warnings=warnings)
    if deployment_dir is not None:
        raise NotFoundError(
            f"deployment directory {deployment_dir} not found", code="RC-DEPLOY-007"
        )
    if legacy.is_legacy(root):
        config, spec, notes = legacy.read_legacy(root)
        warnings.append(
            "legacy layout (config.yaml + instance/) is deprecated; "
            "run 'spot-deployer migrate' to convert it to .spot/"
        )
        return Project(
            root, "legacy", config, spec, found=["legacy config.yaml"], warnings=warnings + notes
        )
    raise NotFoundError(
        f"{root} has .spot/ but neither .spot/deployment.yaml nor deployment/",
        code="RC-DEPLOY-001",
        hint="run 'spot-deployer init' or add deployment/setup.sh",
    )


def _display(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _load_config(root: Path) -> SpotConfig:
    path = root / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(
            f"{CONFIG_FILE} not found in {root}",
            code="RC-DEPLOY-008",
            where=Where(file=CONFIG_FILE),
            hint="run 'spot-deployer init' to create it",
        )
    return load_model(SpotConfig, path, display=CONFIG_FILE)
