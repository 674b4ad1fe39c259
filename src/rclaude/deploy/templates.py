"""``init`` scaffolding: ``.spot/config.yaml`` plus a starter ``deployment/`` per stack.

Stacks: ``basic`` (a setup script), ``python`` (venv + systemd unit), ``node`` (npm +
systemd unit), ``compose`` (docker-compose) and ``multi-service`` (two units with a
dependency, written as an explicit manifest). ``init`` never overwrites a file.
"""

from __future__ import annotations

from pathlib import Path

from rclaude.errors import UsageError
from rclaude.fsutil import atomic_write

CONFIG = """\
# spot-deployer settings (see docs/deploy.md). Paths are relative to the project root.
aws:
  username: ubuntu
  # public_ssh_key_path: ~/.ssh/id_ed25519.pub
  tags: {{Project: {name}}}
  # spot_max_price: 0.05
  allowed_cidrs: [auto]        # your public IP only; or e.g. [203.0.113.7/32]
regions:
  - name: us-west-2
    instance_type: [t3.micro, t3a.micro]
    count: 1
    image: auto
"""

GITIGNORE = [
    ".spot/state.json",
    ".spot/known_hosts",
    ".spot/migrate-backup/",
    "secrets/",
    "credentials/",
]

SETUP = """\
#!/bin/bash
# Runs once on every instance, as root, from the unpacked bundle directory.
set -euo pipefail
echo "hello from $(hostname)"
"""

PY_UNIT = """\
[Unit]
Description={name} (Python)
After=network-online.target

[Service]
WorkingDirectory=/opt/{name}
ExecStart=/opt/{name}/venv/bin/python -m http.server 8000
Restart=always

[Install]
WantedBy=multi-user.target
"""

NODE_UNIT = """\
[Unit]
Description={name} (Node.js)
After=network-online.target

[Service]
WorkingDirectory=/opt/{name}
ExecStart=/usr/bin/npm start
Restart=always

[Install]
WantedBy=multi-user.target
"""

COMPOSE = """\
services:
  web:
    image: nginx:stable
    ports: ["80:80"]
"""

MULTI_MANIFEST = """\
version: 1
deployment:
  packages: [python3-venv]
  scripts:
    - deployment/setup.sh
  services:
    - {{name: {name}-worker, file: deployment/services/worker.service, depends_on: [{name}-api]}}
    - {{name: {name}-api, file: deployment/services/api.service}}
  environment:
    APP_ENV: production
"""

UNIT = """\
[Unit]
Description={name} {role}

[Service]
ExecStart=/bin/sleep infinity
Restart=always

[Install]
WantedBy=multi-user.target
"""


def stack_files(stack: str, name: str) -> dict[str, tuple[str, int]]:
    """Relative path -> (content, mode) of the starter files for ``stack``."""
    files: dict[str, tuple[str, int]] = {
        ".spot/config.yaml": (CONFIG.format(name=name), 0o644),
        "deployment/setup.sh": (SETUP, 0o755),
    }
    if stack == "basic":
        pass
    elif stack == "python":
        files["deployment/setup.sh"] = (
            SETUP
            + (
                f"mkdir -p /opt/{name}\npython3 -m venv /opt/{name}/venv\n"
                f"[ -f requirements.txt ] && /opt/{name}/venv/bin/pip install -r requirements.txt "
                "|| true\n"
            ),
            0o755,
        )
        files[f"deployment/{name}.service"] = (PY_UNIT.format(name=name), 0o644)
    elif stack == "node":
        files[f"deployment/{name}.service"] = (NODE_UNIT.format(name=name), 0o644)
    elif stack == "compose":
        files["deployment/docker-compose.yml"] = (COMPOSE, 0o644)
    elif stack == "multi-service":
        files[".spot/deployment.yaml"] = (MULTI_MANIFEST.format(name=name), 0o644)
        files["deployment/services/api.service"] = (UNIT.format(name=name, role="api"), 0o644)
        files["deployment/services/worker.service"] = (UNIT.format(name=name, role="worker"), 0o644)
    else:
        raise UsageError(
            f"unknown stack {stack!r}",
            code="RC-DEPLOY-090",
            hint="choose basic, python, node, compose or multi-service",
        )
    return files


STACKS = ("basic", "python", "node", "compose", "multi-service")


def init(root: Path, stack: str, name: str) -> dict:
    """Write the starter files that do not exist yet; report created/skipped files."""
    created, skipped = [], []
    for rel, (content, mode) in stack_files(stack, name).items():
        path = root / rel
        if path.exists():
            skipped.append(rel)
            continue
        atomic_write(path, content, mode=mode)
        created.append(rel)
    gi = root / ".gitignore"
    lines = gi.read_text().splitlines() if gi.exists() else []
    added = [e for e in GITIGNORE if e not in lines]
    if added:
        atomic_write(gi, "\n".join(lines + added) + "\n")
    return {
        "created": created,
        "skipped": skipped,
        "gitignore_added": added,
        "next_steps": [
            "edit .spot/config.yaml (regions, allowed_cidrs, SSH key)",
            "put your install steps in deployment/setup.sh",
            "spot-deployer validate",
            "spot-deployer preview",
            "spot-deployer create",
        ],
    }
