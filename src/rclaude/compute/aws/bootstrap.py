"""The cloud-init user-data that turns a fresh instance into one ``rclaude worker``.

Built with the shared renderer :class:`rclaude.cloudinit.CloudConfig` (the spot
deployer's), so the document is data serialized once, never hand-made YAML, and the
install runs as a marked boot phase that is not repeated on reboot.

What the instance does at boot:

1. installs python3 and creates a virtualenv in ``/opt/rclaude`` with the configured
   ``aws.ec2.workerPackage``;
2. writes ``/etc/rclaude/worker.env`` (0600, root) with the worker environment —
   endpoints and names only: :func:`rclaude.compute.aws.validate.check_worker_env`
   refuses secrets, which workers fetch from Secrets Manager with their instance role;
3. starts ``rclaude-worker.service`` as an unprivileged user, with
   ``--worker-id`` (and ``RCLAUDE_WORKER_ID``) set to the instance id, read through
   IMDSv2 (``$$`` in the unit is systemd's escape for a literal ``$``);
4. powers the instance off when the worker exits (idle timeout, or a failure) or when
   the install phase fails (``on_failure``); instances are launched with shutdown behaviour
   ``terminate``, so nothing is left running and billing.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rclaude.cloudinit import CloudConfig

VENV = "/opt/rclaude"
ENV_FILE = "/etc/rclaude/worker.env"
UNIT = "rclaude-worker.service"

_UNIT = """[Unit]
Description=rclaude worker (exits when idle; the instance then powers off)
After=network-online.target
Wants=network-online.target

[Service]
User=rclaude
EnvironmentFile={env_file}
ExecStart=/bin/sh -c 'RCLAUDE_WORKER_ID="$$({venv}/bin/python -m rclaude.compute.aws.identity)" && export RCLAUDE_WORKER_ID && exec {venv}/bin/rclaude worker --worker-id "$$RCLAUDE_WORKER_ID" --idle-timeout {idle} --concurrency {concurrency}'
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
) -> CloudConfig:
    """The worker's cloud-config, as a builder (``.render()`` gives the text)."""
    from rclaude.cloudinit import CloudConfig

    cfg = CloudConfig()
    cfg.add_packages("python3", "python3-pip")
    cfg.add_write_file(ENV_FILE, env_file(worker_env), mode="0600", owner="root:root")
    cfg.add_write_file(
        f"/etc/systemd/system/{UNIT}",
        _UNIT.format(
            env_file=ENV_FILE, venv=VENV, idle=f"{idle_timeout:g}", concurrency=concurrency
        ),
    )
    cfg.add_boot_phase(
        "install-worker",
        [
            "id rclaude >/dev/null 2>&1 || "
            "useradd --system --create-home --shell /usr/sbin/nologin rclaude",
            f"python3 -m venv {VENV}",
            f"{VENV}/bin/pip install --quiet --upgrade pip",
            f"{VENV}/bin/pip install --quiet {shlex.quote(package)}",
        ],
    )
    cfg.add_boot_phase(
        "start-worker", ["systemctl daemon-reload", f"systemctl enable --now {UNIT}"]
    )
    # A worker that cannot be installed must not sit there billing.
    cfg.on_failure(["shutdown -h now"])
    return cfg


def user_data(
    worker_env: Mapping[str, str],
    *,
    package: str,
    idle_timeout: float,
    concurrency: int,
) -> str:
    """The user-data text (``#cloud-config`` + YAML) for one worker instance."""
    return cloud_config(
        worker_env, package=package, idle_timeout=idle_timeout, concurrency=concurrency
    ).render()
