"""The convention scanner: turn a ``deployment/`` directory into a manifest.

What it looks for (paths relative to ``deployment/``; found items are logged):

- ``setup.sh`` or ``init.sh``: the main script, run last from the bundle directory;
- ``scripts/*.sh``: helper scripts, run before the main script in name order;
- ``files/``: mirrored onto the instance's root (``files/etc/x`` → ``/etc/x``);
- ``configs/``: copied to ``/etc/<project>/`` with mode 0644;
- ``*.service`` and ``services/*.service``: systemd units; ``After=``/``Requires=``
  naming another unit of the project become ``depends_on``;
- ``docker-compose.yml`` / ``compose.yaml`` (here or at the project root): Docker is
  installed and the compose project started;
- ``requirements.txt`` / ``package.json`` at the project root: hints that add the
  Python / Node.js packages;
- any other file at the project root (the application): uploaded to
  ``/opt/<project>/`` (``.gitignore`` patterns, ``deployment/``, ``.spot/`` and
  ``secrets/`` are left out).
"""

from __future__ import annotations

import re
from pathlib import Path

from rclaude.deploy.schema import DeploymentSpec, Script, Service, Upload

COMPOSE_NAMES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
_NOT_APP = {
    ".spot",
    ".git",
    "secrets",
    "credentials",
    ".gitignore",
    ".venv",
    "node_modules",
    "__pycache__",
}
_UNIT_DEPS = re.compile(r"^\s*(After|Requires|Wants|BindsTo)\s*=\s*(.+)$", re.M)


def scan(root: Path, deploy_dir: Path, project_name: str) -> tuple[DeploymentSpec, list[str]]:
    """Build a :class:`DeploymentSpec` from ``deploy_dir``; return it and what was found."""
    found: list[str] = []
    rel = deploy_dir.relative_to(root).as_posix()
    spec = DeploymentSpec()

    helpers = (
        sorted((deploy_dir / "scripts").glob("*.sh")) if (deploy_dir / "scripts").is_dir() else []
    )
    for h in helpers:
        spec.scripts.append(Script(command=f"{rel}/scripts/{h.name}"))
        found.append(f"script {rel}/scripts/{h.name}")
    for main in ("setup.sh", "init.sh"):
        if (deploy_dir / main).is_file():
            spec.scripts.append(Script(command=f"{rel}/{main}"))
            found.append(f"main script {rel}/{main}")
            break

    if (deploy_dir / "files").is_dir():
        spec.uploads.append(Upload(source=f"{rel}/files", dest="/"))
        found.append(f"files {rel}/files/ -> /")
    if (deploy_dir / "configs").is_dir():
        spec.uploads.append(
            Upload(source=f"{rel}/configs", dest=f"/etc/{project_name}", mode="0644")
        )
        found.append(f"configs {rel}/configs/ -> /etc/{project_name}/")

    units = sorted(deploy_dir.glob("*.service"))
    if (deploy_dir / "services").is_dir():
        units += sorted((deploy_dir / "services").glob("*.service"))
    names = {u.stem for u in units}
    for unit in units:
        deps = []
        for _, value in _UNIT_DEPS.findall(unit.read_text(errors="replace")):
            for word in value.split():
                stem = word.removesuffix(".service")
                if stem in names and stem != unit.stem and stem not in deps:
                    deps.append(stem)
        spec.services.append(
            Service(name=unit.stem, file=unit.relative_to(root).as_posix(), depends_on=deps)
        )
        found.append(f"service {unit.stem}" + (f" (after {', '.join(deps)})" if deps else ""))

    for base in (deploy_dir, root):
        hit = next((base / n for n in COMPOSE_NAMES if (base / n).is_file()), None)
        if hit is not None:
            spec.compose_file = hit.relative_to(root).as_posix()
            found.append(f"docker compose file {spec.compose_file}")
            break

    app_files = [p for p in root.iterdir() if p.name not in _NOT_APP and p != deploy_dir]
    if app_files:
        spec.uploads.append(
            Upload(
                source=".",
                dest=f"/opt/{project_name}",
                exclude=[deploy_dir.name, ".gitignore"],
                gitignore=True,
            )
        )
        found.append(f"application files ./ -> /opt/{project_name}/ (.gitignore honoured)")

    if (root / "requirements.txt").is_file():
        spec.packages += ["python3-pip", "python3-venv"]
        found.append("requirements.txt: adding python3-pip, python3-venv")
    if (root / "package.json").is_file():
        spec.packages += ["nodejs", "npm"]
        found.append("package.json: adding nodejs, npm")
    return spec, found
