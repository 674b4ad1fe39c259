"""Run the generated boot sequence for real in an isolated root.

The root is a temporary directory entered with ``unshare -m`` + ``chroot``: the host's
``/usr`` subdirectories are bind-mounted read-only (so bash, tar and python3 exist),
everything else — ``/etc``, ``/opt``, ``/var``, ``/usr/local`` — is private to the
test. The test plays cloud-init's ``write_files`` module (it writes each entry of the
rendered document with its permissions), skips ``packages`` (no apt in a test), then
runs the ``runcmd`` entry inside the chroot. ``systemctl`` is a recorder script first
on PATH. The bundle and the release tarball come from a real HTTP server in a thread,
the secret from the moto server through the agent's own SigV4 client.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from rclaude.deploy import boot, secrets
from rclaude.deploy.discovery import discover
from rclaude.deploy.plan import prepare
from tests.deploy.conftest import write

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for unshare -m and chroot"),
    pytest.mark.skipif(shutil.which("unshare") is None, reason="util-linux unshare missing"),
]

RECORDER = """#!/bin/bash
echo "$*" >> /var/log/systemctl.calls
exit 0
"""


class Files(BaseHTTPRequestHandler):
    """GET serves ``server.blobs``; PUT bodies are appended to ``server.puts``."""

    def do_GET(self):
        self.server.gets.append(self.path)
        body = self.server.blobs.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", 0))
        self.server.puts.append(json.loads(self.rfile.read(n)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    srv.blobs, srv.gets, srv.puts = {}, [], []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _release_tarball() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        data = b"print('release ok')\n"
        info = tarfile.TarInfo("app/main.py")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _project(tmp_path: Path, tarball_url: str, tarball_sha: str) -> Path:
    root = tmp_path / "proj"
    write(
        root,
        ".spot/config.yaml",
        """\
        aws: {deployment_name: exec-test, allowed_cidrs: [198.51.100.7/32]}
        regions: [{name: us-east-1, count: 1}]
        """,
    )
    write(
        root,
        ".spot/deployment.yaml",
        f"""\
        version: 1
        deployment:
          uploads:
            - {{source: deployment/configs, dest: /etc/myapp, mode: "0640", exclude: ["*.bak"]}}
            - {{source: deployment/bin/tool.sh, dest: /usr/local/bin/tool, mode: "0755"}}
          tarball: {{url: "{tarball_url}", checksum: "sha256:{tarball_sha}",
                     extract_to: /opt/release}}
          scripts:
            - {{command: deployment/scripts/first.sh, working_dir: /opt/work}}
            - "echo second-$APP_ENV >> /var/log/order.log"
            - deployment/scripts/third.sh arg1
          services:
            - {{name: worker, file: deployment/services/worker.service, depends_on: [api]}}
            - name: api
              file: deployment/services/api.service
              health_check: {{command: "systemctl is-active api", retries: 2,
                              interval_seconds: 1}}
            - {{name: db, file: deployment/services/db.service}}
          environment: {{APP_ENV: prod}}
          hooks:
            post: [{{command: "echo post-hook >> /var/log/order.log", where: remote}}]
        """,
    )
    write(root, "deployment/configs/app.ini", "port=1\n")
    write(root, "deployment/configs/old.bak", "stale\n")
    write(root, "deployment/bin/tool.sh", "#!/bin/sh\necho tool\n", 0o755)
    write(
        root,
        "deployment/scripts/first.sh",
        '#!/bin/bash\necho "first $(pwd)" >> /var/log/order.log\n',
        0o755,
    )
    write(
        root,
        "deployment/scripts/third.sh",
        '#!/bin/bash\necho "third $1 $(cat /opt/spot/secrets/db/password)" >> /var/log/order.log\n',
        0o755,
    )
    for name in ("api", "worker", "db"):
        write(
            root, f"deployment/services/{name}.service", f"[Service]\nExecStart=/bin/echo {name}\n"
        )
    write(root, "secrets/db/password", "s3cr3t-pw\n")
    return root


def _materialize(doc: dict, root: Path) -> None:
    """What cloud-init's write_files module does, into ``root``."""
    for entry in doc["write_files"]:
        content = entry["content"]
        if entry.get("encoding") == "gz+b64":
            data = gzip.decompress(base64.b64decode(content))
        else:
            data = content.encode()
        target = root / entry["path"].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(int(entry["permissions"], 8))


def _make_root(base: Path) -> Path:
    root = base / "root"
    for d in ("usr/local/bin", "usr/local/sbin", "etc", "dev", "tmp", "var/log", "testbin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            (root / link).symlink_to(os.readlink(f"/{link}"))
    for f in ("passwd", "group", "hosts"):
        shutil.copy(f"/etc/{f}", root / "etc" / f)
    (root / "testbin/systemctl").write_text(RECORDER)
    (root / "testbin/systemctl").chmod(0o755)
    return root


def _boot(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    binds = [
        d
        for d in ("bin", "lib", "lib64", "sbin", "share", "libexec")
        if Path("/usr", d).is_dir() and not Path("/usr", d).is_symlink()
    ]
    mounts = "\n".join(
        f"mkdir -p {root}/usr/{d} && mount --bind /usr/{d} {root}/usr/{d} && "
        f"mount -o remount,bind,ro {root}/usr/{d}"
        for d in binds
    )
    envs = " ".join(f"{k}={v}" for k, v in env.items())
    script = f"""set -e
{mounts}
mount --bind /dev {root}/dev
exec chroot {root} /usr/bin/env -i HOME=/root \
  PATH=/testbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin {envs} {boot.LAYOUT.runner}
"""
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _setup(tmp_path, http_server, aws):
    base = f"http://127.0.0.1:{http_server.server_address[1]}"
    release = _release_tarball()
    http_server.blobs["/release.tar.gz"] = release
    project = discover(
        _project(tmp_path, f"{base}/release.tar.gz", hashlib.sha256(release).hexdigest())
    )
    plan = prepare(project)
    http_server.blobs["/bundle.tar.gz"] = plan.bundle.data
    import boto3

    sm = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=aws)
    secrets.ensure(sm, plan.deployment_id, plan.secrets, [])
    inputs = boot.BootInputs(
        deployment_id=plan.deployment_id,
        region="us-east-1",
        bundle_sha256=plan.bundle.sha256,
        bundle_url=f"{base}/bundle.tar.gz",
        endpoint_url=aws,
        secret_id=secrets.secret_name(plan.deployment_id),
        extra={"status": {"url": f"{base}/status"}, "ssh_dir": "/etc/ssh"},
    )
    return plan, inputs


def _env() -> dict[str, str]:
    return {
        k: os.environ[k]
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    } | {"SPOT_INSTANCE_ID": "i-test"}


@pytest.mark.slow
def test_boot_sequence_runs_in_isolated_root(tmp_path, http_server, aws):
    plan, inputs = _setup(tmp_path, http_server, aws)
    text = plan.cloud_config(inputs).render()
    assert "s3cr3t-pw" not in text
    doc = yaml.safe_load(text)
    root = _make_root(tmp_path)
    _materialize(doc, root)
    (root / "etc/ssh").mkdir(parents=True)
    (root / "etc/ssh/ssh_host_ed25519_key.pub").write_text("ssh-ed25519 AAAAC3Nz test\n")
    assert doc["runcmd"] == [[boot.LAYOUT.runner]]

    proc = _boot(root, _env())
    assert proc.returncode == 0, proc.stderr + _logs(root)

    # the bundle and the release were fetched over HTTP and verified
    assert "/bundle.tar.gz" in http_server.gets and "/release.tar.gz" in http_server.gets
    assert (root / "opt/release/app/main.py").read_text() == "print('release ok')\n"
    # uploads land with their modes; excluded files do not
    ini = root / "etc/myapp/app.ini"
    assert ini.read_text() == "port=1\n" and ini.stat().st_mode & 0o777 == 0o640
    assert not (root / "etc/myapp/old.bak").exists()
    assert (root / "usr/local/bin/tool").stat().st_mode & 0o777 == 0o755
    # secrets: fetched from Secrets Manager (moto) by the agent, written 0600
    pw = root / "opt/spot/secrets/db/password"
    assert pw.read_text() == "s3cr3t-pw\n" and pw.stat().st_mode & 0o777 == 0o600
    # scripts in order, with working dir, args and environment
    assert (root / "var/log/order.log").read_text().splitlines() == [
        "first /opt/work",
        "second-prod",
        "third arg1 s3cr3t-pw",
        "post-hook",
    ]
    # units installed, then enabled dependencies first
    for name in ("api", "worker", "db"):
        assert (root / f"etc/systemd/system/{name}.service").exists()
    calls = (root / "var/log/systemctl.calls").read_text().splitlines()
    assert calls == [
        "daemon-reload",
        "enable --now api.service",
        "is-active api",
        "enable --now worker.service",
        "enable --now db.service",
    ]
    # every phase marked done; status reported with host keys
    state = root / boot.LAYOUT.state_dir.lstrip("/")
    names = plan.cloud_config(inputs).phase_names
    assert all((state / f"{n}.done").exists() for n in names)
    assert (state / "complete").exists()
    final = http_server.puts[-1]
    assert final["phase"] == "all" and final["state"] == "complete"
    assert set(final["phases"].values()) == {"done"}
    assert final["host_keys"] == ["ssh-ed25519 AAAAC3Nz test"]
    assert "s3cr3t-pw" not in json.dumps(http_server.puts)

    # a second boot (reboot) skips finished phases: nothing runs twice
    assert _boot(root, _env()).returncode == 0
    assert len((root / "var/log/order.log").read_text().splitlines()) == 4


@pytest.mark.slow
def test_tampered_bundle_stops_boot_and_reports_the_failure(tmp_path, http_server, aws):
    plan, inputs = _setup(tmp_path, http_server, aws)
    http_server.blobs["/bundle.tar.gz"] = plan.bundle.data + b"tampered"
    root = _make_root(tmp_path)
    _materialize(yaml.safe_load(plan.cloud_config(inputs).render()), root)

    proc = _boot(root, _env())
    assert proc.returncode != 0
    state = root / boot.LAYOUT.state_dir.lstrip("/")
    assert (state / "01-fetch-bundle.failed").exists()
    assert not (state / "02-secrets.done").exists()
    assert not (root / "var/log/order.log").exists()
    report = http_server.puts[-1]
    assert report["state"] == "failed" and report["failed_phase"] == "01-fetch-bundle"
    assert any("sha256 mismatch" in line for line in report["log_tail"])


def _logs(root: Path) -> str:
    d = root / boot.LAYOUT.log_dir.lstrip("/")
    return (
        "".join(f"\n--- {p.name}\n{p.read_text()}" for p in sorted(d.glob("*.log")))
        if d.exists()
        else ""
    )
