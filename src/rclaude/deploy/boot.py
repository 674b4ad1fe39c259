"""Turn a project into the cloud-init boot sequence of its instances.

The sequence, one marked phase each (see :mod:`rclaude.cloudinit`): fetch and verify
the bundle, fetch secrets, install uploads, fetch the release tarball, run each script
in order, install and start systemd services in dependency order (with health checks),
start the docker-compose project, run remote post hooks. Every phase reports to the
status object through ``spot-agent status``.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from importlib import resources

from rclaude.cloudinit import BootLayout, CloudConfig
from rclaude.deploy import bundle as bundle_mod
from rclaude.deploy.discovery import Project
from rclaude.deploy.secrets import DEST_DIR as SECRETS_DIR
from rclaude.deploy.services import dependency_order

AGENT_PATH = "/usr/local/bin/spot-agent"
AGENT_CONFIG = "/etc/spot/agent.json"
ENV_FILE = "/etc/spot/environment"
BUNDLE_DIR = "/opt/spot/bundle"
WORK_DIR = "/var/lib/spot"
INLINE_BUNDLE = "/var/lib/spot/inline-bundle.tar.gz"
#: Bundles up to this size travel inside the user-data instead of through S3.
INLINE_LIMIT = 4096
LAYOUT = BootLayout(
    runner="/usr/local/sbin/spot-boot",
    phases_dir="/opt/spot/boot/phases",
    state_dir="/var/lib/spot/boot",
    log_dir="/var/log/spot/boot",
)


@dataclass
class BootInputs:
    """Deployment facts the boot sequence needs beyond the project itself."""

    deployment_id: str
    region: str
    bundle_sha256: str
    bundle_url: str | None = None  # presigned GET (None when inlined)
    bucket: str | None = None
    bundle_key: str | None = None
    status_prefix: str | None = None
    secret_id: str | None = None
    inline_bundle: bytes | None = None
    endpoint_url: str | None = None
    #: Region of the bucket and the secret (the first configured region).
    home_region: str | None = None
    extra: dict = field(default_factory=dict)


def agent_source() -> str:
    return resources.files("rclaude.deploy.agent").joinpath("spot_agent.py").read_text()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "step"


def build_cloud_config(
    project: Project, inputs: BootInputs, overrides: dict | None = None
) -> CloudConfig:
    """The complete :class:`CloudConfig` for one region of ``project``."""
    spec = project.spec
    cfg = CloudConfig(layout=LAYOUT, status_hook=f"{AGENT_PATH} status")
    packages = ["python3", *spec.packages]
    if spec.compose_file:
        packages += ["docker.io", "docker-compose-v2"]
    cfg.add_packages(*packages)
    cfg.add_write_file(AGENT_PATH, agent_source(), mode="0755", compress=True)

    phases: list[tuple[str, list[str], dict]] = []
    agent_cfg: dict = {
        "region": inputs.region,
        "home_region": inputs.home_region or inputs.region,
        "bundle_dir": BUNDLE_DIR,
        "work_dir": WORK_DIR,
        "state_dir": LAYOUT.state_dir,
        "log_dir": LAYOUT.log_dir,
        "bundle": {"sha256": inputs.bundle_sha256},
    }
    if inputs.endpoint_url:
        agent_cfg["endpoint_url"] = inputs.endpoint_url
    if inputs.inline_bundle is not None:
        cfg.add_write_file(INLINE_BUNDLE, inputs.inline_bundle, mode="0600")
        agent_cfg["bundle"]["inline_path"] = INLINE_BUNDLE
    else:
        agent_cfg["bundle"].update(
            url=inputs.bundle_url, bucket=inputs.bucket, key=inputs.bundle_key
        )
    if inputs.status_prefix:
        agent_cfg["status"] = {"bucket": inputs.bucket, "prefix": inputs.status_prefix}
    agent_cfg.update(inputs.extra)

    phases.append(("fetch-bundle", [f"{AGENT_PATH} fetch-bundle"], {}))
    if inputs.secret_id:
        agent_cfg["secrets"] = {"secret_id": inputs.secret_id, "dest_dir": SECRETS_DIR}
        phases.append(("secrets", [f"{AGENT_PATH} fetch-secrets"], {}))
    if spec.uploads:
        phases.append(("uploads", [f"{AGENT_PATH} install-uploads"], {}))
    if spec.tarball:
        t = spec.tarball
        agent_cfg["tarball"] = {
            "sha256": t.checksum.removeprefix("sha256:"),
            "extract_to": t.extract_to,
        }
        if t.path:
            agent_cfg["tarball"]["bundle_path"] = t.path
        else:
            agent_cfg["tarball"]["url"] = t.url
        phases.append(("tarball", [f"{AGENT_PATH} fetch-tarball"], {}))

    load_env = [f"set -a; [ -f {ENV_FILE} ] && . {ENV_FILE}; set +a"]
    for i, script in enumerate(spec.script_list(), start=1):
        rel = bundle_mod.script_file(project, script.command)
        if rel:
            args = shlex.split(script.command)[1:]
            run = shlex.join(["bash", f"{BUNDLE_DIR}/{rel}", *args])
        else:
            run = shlex.join(["bash", "-c", script.command])
        wd = script.working_dir or BUNDLE_DIR
        name = f"script-{i}-{_slug(rel or script.command)}"[:60].rstrip("-")
        phases.append(
            (
                name,
                [*load_env, f"mkdir -p {shlex.quote(wd)}", f"cd {shlex.quote(wd)}", run],
                dict(script.env),
            )
        )

    if spec.services:
        ordered = dependency_order(spec.services)
        cmds = []
        for svc in ordered:
            cmds.append(
                shlex.join(
                    [
                        "install",
                        "-D",
                        "-m",
                        "0644",
                        f"{BUNDLE_DIR}/{svc.file}",
                        f"/etc/systemd/system/{svc.name}.service",
                    ]
                )
            )
        cmds.append("systemctl daemon-reload")
        for svc in ordered:
            if not svc.enabled:
                continue
            cmds.append(shlex.join(["systemctl", "enable", "--now", f"{svc.name}.service"]))
            if svc.health_check:
                hc = svc.health_check
                cmds.append(
                    f"for i in $(seq {hc.retries}); do "
                    f"if bash -c {shlex.quote(hc.command)}; then break; fi; "
                    f"if [ $i -eq {hc.retries} ]; then echo 'health check of {svc.name} "
                    f"failed' >&2; exit 1; fi; sleep {hc.interval_seconds}; done"
                )
        phases.append(("services", cmds, {}))
    if spec.compose_file:
        compose = f"{BUNDLE_DIR}/{spec.compose_file}"
        phases.append(
            (
                "compose",
                [
                    "systemctl enable --now docker",
                    shlex.join(["docker", "compose", "-f", compose, "up", "-d"]),
                ],
                {},
            )
        )
    post = spec.hooks.of("post", "remote")
    if post:
        phases.append(("post-hooks", [*load_env, *post], {}))
    for name, cmds, env in phases:
        cfg.add_boot_phase(name, cmds, env=env)
    errors = spec.hooks.of("error", "remote")
    if errors:
        cfg.on_failure(errors)

    agent_cfg["phases"] = cfg.phase_names
    cfg.add_write_file(
        AGENT_CONFIG, json.dumps(agent_cfg, indent=1, sort_keys=True) + "\n", mode="0600"
    )
    env_lines = "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(spec.environment.items()))
    cfg.add_write_file(ENV_FILE, env_lines, mode="0644")
    if overrides:
        cfg.merge(overrides)
    return cfg
