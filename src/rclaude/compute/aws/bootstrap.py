"""The cloud-init user-data that turns a fresh instance into one ``rclaude worker``.

Generated as data (a dict) and serialized with ``yaml.safe_dump``, so quoting is never
hand-made. It should move onto the shared renderer ``rclaude.cloudinit`` (built for the
spot deployer) once that exists; the document below is what both must produce.

What the instance does at boot:

1. installs python3 and creates a virtualenv in ``/opt/rclaude`` with the configured
   ``aws.ec2.workerPackage``;
2. writes ``/etc/rclaude/worker.env`` (0600, root) with the worker environment —
   endpoints and names only: :func:`rclaude.compute.aws.validate.check_worker_env`
   refuses secrets, which workers fetch from Secrets Manager with their instance role;
3. starts ``rclaude-worker.service`` as an unprivileged user, with
   ``RCLAUDE_WORKER_ID`` set to the instance id (read through IMDSv2);
4. powers the instance off when the worker exits (idle timeout, or a failure) or when
   the bootstrap itself fails; instances are launched with shutdown behaviour
   ``terminate``, so nothing is left running and billing.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

VENV = "/opt/rclaude"
ENV_FILE = "/etc/rclaude/worker.env"
UNIT = "rclaude-worker.service"

_BOOTSTRAP = """#!/bin/sh
# Installs the worker; any failure powers the instance off (and so terminates it).
set -eu
trap 'echo "rclaude bootstrap failed" >&2; shutdown -h now' EXIT
id rclaude >/dev/null 2>&1 || useradd --system --create-home --shell /usr/sbin/nologin rclaude
python3 -m venv {venv}
{venv}/bin/pip install --quiet --upgrade pip
{venv}/bin/pip install --quiet {package}
systemctl daemon-reload
systemctl enable --now {unit}
trap - EXIT
"""

_UNIT = """[Unit]
Description=rclaude worker (exits when idle; the instance then powers off)
After=network-online.target
Wants=network-online.target

[Service]
User=rclaude
EnvironmentFile={env_file}
ExecStart=/bin/sh -c 'RCLAUDE_WORKER_ID="$({venv}/bin/python -m rclaude.compute.aws.identity)" && export RCLAUDE_WORKER_ID && exec {venv}/bin/rclaude worker --idle-timeout {idle} --concurrency {concurrency}'
ExecStopPost=+/usr/sbin/shutdown -h now
Restart=no

[Install]
WantedBy=multi-user.target
"""


def worker_command(idle_timeout: float, concurrency: int) -> list[str]:
    """The argv that starts a worker (shared with the ECS container command)."""
    return [
        "rclaude", "worker",
        "--idle-timeout", f"{idle_timeout:g}",
        "--concurrency", str(concurrency),
    ]  # fmt: skip


def env_file(worker_env: Mapping[str, str]) -> str:
    """``KEY=value`` lines for systemd's EnvironmentFile (values quoted)."""
    lines = []
    for key in sorted(worker_env):
        value = worker_env[key].replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{key}="{value}"')
    return "\n".join(lines) + "\n"


def cloud_config(
    worker_env: Mapping[str, str],
    *,
    package: str,
    idle_timeout: float,
    concurrency: int,
) -> dict:
    """The cloud-config document as data."""
    return {
        "package_update": True,
        "packages": ["python3", "python3-pip"],
        "write_files": [
            {
                "path": ENV_FILE,
                "permissions": "0600",
                "owner": "root:root",
                "content": env_file(worker_env),
            },
            {
                "path": f"/etc/systemd/system/{UNIT}",
                "permissions": "0644",
                "content": _UNIT.format(
                    env_file=ENV_FILE,
                    venv=VENV,
                    idle=f"{idle_timeout:g}",
                    concurrency=concurrency,
                ),
            },
            {
                "path": "/usr/local/sbin/rclaude-bootstrap",
                "permissions": "0755",
                "content": _BOOTSTRAP.format(venv=VENV, package=shlex.quote(package), unit=UNIT),
            },
        ],
        "runcmd": [["/usr/local/sbin/rclaude-bootstrap"]],
    }


def user_data(
    worker_env: Mapping[str, str],
    *,
    package: str,
    idle_timeout: float,
    concurrency: int,
) -> str:
    """The user-data text (``#cloud-config`` + YAML) for one worker instance."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        # Multi-line files as block literals, so the user-data reads like the files.
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    doc = cloud_config(
        worker_env, package=package, idle_timeout=idle_timeout, concurrency=concurrency
    )
    return "#cloud-config\n" + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=1000)
