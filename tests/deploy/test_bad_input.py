"""Bad input is rejected before any AWS call, with a clear error, and nothing is written.

Each case runs the full ``discover -> prepare -> create`` path with a counting
``AwsContext`` on the moto server and checks: the right error code, zero AWS calls,
no state file, and the project tree byte-for-byte unchanged.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rclaude.deploy import deployer
from rclaude.deploy.aws import AwsContext
from rclaude.deploy.discovery import discover
from rclaude.deploy.plan import prepare
from rclaude.errors import RclaudeError
from tests.deploy.conftest import write

MANIFEST_HEAD = "version: 1\ndeployment:\n"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def rejected(root: Path, aws: str, code: str, *, resolver=None) -> RclaudeError:
    """Run create on ``root``; assert error ``code``, no AWS call, nothing written."""
    ctx = AwsContext(endpoint_url=aws)
    before = _snapshot(root)
    with pytest.raises(RclaudeError) as err:
        plan = prepare(discover(root), ip_resolver=resolver)
        deployer.create(plan, ctx)
    assert err.value.code == code, str(err.value)
    assert ctx.total_calls == 0
    assert not (root / ".spot/state.json").exists()
    assert _snapshot(root) == before
    return err.value


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _member(name, data=b"x", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None


def _tarball_project(make_project, blob: bytes, checksum: str | None = None) -> Path:
    checksum = checksum or hashlib.sha256(blob).hexdigest()
    root = make_project(
        "tb",
        manifest=MANIFEST_HEAD
        + (f"  tarball: {{path: rel.tar.gz, checksum: 'sha256:{checksum}', extract_to: /opt/x}}\n"),
    )
    (root / "rel.tar.gz").write_bytes(blob)
    return root


def test_wrong_checksum_local_tarball(make_project, aws):
    root = _tarball_project(make_project, _tar([_member("a.txt")]), checksum="0" * 64)
    err = rejected(root, aws, "RC-DEPLOY-044")
    assert err.where.key == "deployment.tarball.checksum"


def test_wrong_checksum_remote_tarball(make_project, aws):
    blob = _tar([_member("a.txt")])

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(blob)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/r.tar.gz"
        root = make_project(
            "remote",
            manifest=MANIFEST_HEAD
            + (f"  tarball: {{url: '{url}', checksum: 'sha256:{'1' * 64}', extract_to: /opt/x}}\n"),
        )
        rejected(root, aws, "RC-DEPLOY-044")
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize(
    "members",
    [
        [_member("../evil.sh")],
        [_member("ok/../../evil.sh")],
        [_member("/etc/cron.d/evil")],
        [_member("link", kind=tarfile.SYMTYPE, link="../../etc/passwd")],
        [_member("link", kind=tarfile.SYMTYPE, link="/etc/shadow")],
        [_member("sub/link", kind=tarfile.SYMTYPE, link="../../outside")],
        [_member("hard", kind=tarfile.LNKTYPE, link="../../etc/passwd")],
        [_member("dev", kind=tarfile.CHRTYPE)],
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "absolute",
        "symlink-out",
        "symlink-abs",
        "nested-symlink-out",
        "hardlink-out",
        "device",
    ],
)
def test_archive_members_escaping_the_target(make_project, aws, members):
    root = _tarball_project(make_project, _tar(members))
    rejected(root, aws, "RC-DEPLOY-045")


def test_archive_symlink_inside_the_target_is_fine(make_project):
    blob = _tar([_member("dir/a.txt"), _member("dir/l", kind=tarfile.SYMTYPE, link="a.txt")])
    root = _tarball_project(make_project, blob)
    assert prepare(discover(root)).bundle.files


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        ("{source: ../outside, dest: /opt/x}", "RC-PATH-003"),
        ("{source: deployment/../../x, dest: /opt/x}", "RC-PATH-003"),
        ("{source: /etc/passwd, dest: /opt/x}", "RC-PATH-002"),
        ("{source: deployment, dest: opt/x}", "RC-DEPLOY-040"),
        ("{source: deployment, dest: /opt/../etc}", "RC-DEPLOY-040"),
        ("{source: missing-dir, dest: /opt/x}", "RC-DEPLOY-041"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "relative-dest", "dotdot-dest", "missing"],
)
def test_upload_paths_escaping_the_project(make_project, aws, upload, code):
    root = make_project("up", manifest=MANIFEST_HEAD + f"  uploads:\n    - {upload}\n")
    err = rejected(root, aws, code)
    assert err.where is not None and "uploads.0" in (err.where.key or "")


def test_upload_source_symlink_out_of_project(make_project, aws, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("nope")
    root = make_project(
        "sym", manifest=MANIFEST_HEAD + "  uploads:\n    - {source: linked, dest: /opt/x}\n"
    )
    os.symlink(outside, root / "linked")
    rejected(root, aws, "RC-PATH-004")


def test_symlinked_file_inside_upload_pointing_out(make_project, aws, tmp_path):
    (tmp_path / "host-secret").write_text("nope")
    root = make_project(
        "sym2", manifest=MANIFEST_HEAD + "  uploads:\n    - {source: deployment, dest: /opt/x}\n"
    )
    os.symlink(tmp_path / "host-secret", root / "deployment" / "leak")
    rejected(root, aws, "RC-DEPLOY-042")


def test_unknown_key_names_file_line_and_closest_key(make_project, aws):
    root = make_project("uk", manifest=MANIFEST_HEAD + "  packages: [nginx]\n  scirpts: []\n")
    err = rejected(root, aws, "RC-DEPLOY-003")
    assert err.where.file == ".spot/deployment.yaml" and err.where.line == 4
    assert "'scripts'" in err.hint


def test_unknown_key_in_config(make_project, aws):
    root = make_project("ukc", aws_extra="alowed_cidrs: [1.2.3.4/32]")
    err = rejected(root, aws, "RC-DEPLOY-003")
    assert err.where.file == ".spot/config.yaml" and err.where.line == 2
    assert "allowed_cidrs" in err.hint


def test_broken_yaml_reports_the_line(make_project, aws):
    root = make_project("broken", manifest=MANIFEST_HEAD + "  packages: [nginx\n  x: 1\n")
    err = rejected(root, aws, "RC-YAML-001")
    assert err.where.file == ".spot/deployment.yaml" and err.where.line in (4, 5)


def test_yaml_alias_bomb_is_refused(make_project, aws):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    root = make_project("bomb", manifest="\n".join(lines) + "\nversion: 1\n")
    rejected(root, aws, "RC-YAML-002")


def test_empty_project_suggests_init(tmp_path, aws):
    (tmp_path / "empty").mkdir()
    err = rejected(tmp_path / "empty", aws, "RC-DEPLOY-001")
    assert "init" in err.hint


def test_empty_deployment_dir_suggests_init(make_project, aws):
    root = make_project("emptydir")
    (root / "deployment/setup.sh").unlink()
    err = rejected(root, aws, "RC-DEPLOY-001")
    assert "init" in err.hint


def test_service_cycle_is_named(make_project, aws):
    root = make_project(
        "cyc",
        manifest=MANIFEST_HEAD
        + """\
  services:
    - {name: a, file: deployment/setup.sh, depends_on: [b]}
    - {name: b, file: deployment/setup.sh, depends_on: [a]}
""",
    )
    err = rejected(root, aws, "RC-DEPLOY-032")
    assert "a -> b -> a" in err.message


def test_unknown_service_dependency_suggests_a_name(make_project, aws):
    root = make_project(
        "dep",
        manifest=MANIFEST_HEAD
        + """\
  services:
    - {name: api, file: deployment/setup.sh}
    - {name: worker, file: deployment/setup.sh, depends_on: [api2]}
""",
    )
    err = rejected(root, aws, "RC-DEPLOY-031")
    assert "'api'" in err.hint


def test_caller_ip_auto_unresolvable_is_a_clear_error(make_project, aws):
    root = make_project("auto")
    cfg = root / ".spot/config.yaml"
    cfg.write_text(cfg.read_text().replace("[198.51.100.7/32]", "[auto]"))

    def offline():
        raise OSError("network is unreachable")

    err = rejected(root, aws, "RC-DEPLOY-010", resolver=offline)
    assert "allowed_cidrs" in err.hint


def test_caller_ip_auto_resolved_by_injected_resolver(make_project):
    root = make_project("auto2")
    cfg = root / ".spot/config.yaml"
    cfg.write_text(cfg.read_text().replace("[198.51.100.7/32]", "[auto, 10.0.0.0/8]"))
    plan = prepare(discover(root), ip_resolver=lambda: "192.0.2.44")
    assert plan.cidrs == ["10.0.0.0/8", "192.0.2.44/32"]


def test_user_data_over_the_limit_even_gzipped(make_project, aws):
    root = make_project("big")
    noise = hashlib.sha256(b"seed").hexdigest()
    lines = "\n".join(
        f"  - echo {hashlib.sha256((noise + str(i)).encode()).hexdigest()}" for i in range(600)
    )
    write(root, ".spot/cloud-init.yaml", f"bootcmd:\n{lines}\n")
    rejected(root, aws, "RC-CINIT-007")


def test_manifest_version_must_be_one(make_project, aws):
    root = make_project("v2", manifest="version: 2\ndeployment: {}\n")
    err = rejected(root, aws, "RC-DEPLOY-005")
    assert err.where.key == "version"


def test_service_file_must_be_a_unit(make_project, aws):
    root = make_project(
        "unit",
        manifest=MANIFEST_HEAD + "  services:\n    - {name: api, file: deployment/setup.sh}\n",
    )
    err = rejected(root, aws, "RC-DEPLOY-048")
    assert err.where.key == "deployment.services.0.file"
    root2 = make_project(
        "unit2",
        manifest=MANIFEST_HEAD + "  services:\n    - {name: api, file: deployment/api.service}\n",
    )
    rejected(root2, aws, "RC-DEPLOY-047")


def test_failing_pre_hook_stops_before_aws(make_project, aws):
    from tests.deploy.test_cli import run

    root = make_project(
        "hook",
        aws_extra=f"endpoint_url: {aws}",
        manifest=MANIFEST_HEAD
        + "  hooks:\n    pre: ['echo checking; exit 3']\n"
        + "    error: ['touch error-hook-ran']\n",
    )
    code, _, err = run("-C", str(root), "create")
    assert code == 65 and "RC-DEPLOY-085" in err
    assert not (root / ".spot/state.json").exists()
    import boto3

    ec2 = boto3.client("ec2", region_name="us-west-2", endpoint_url=aws)
    assert not ec2.describe_vpcs(Filters=[{"Name": "tag-key", "Values": ["spot:deployment-id"]}])[
        "Vpcs"
    ]


def test_open_to_the_world_is_allowed_only_explicitly_and_warned(make_project):
    root = make_project("world")
    cfg = root / ".spot/config.yaml"
    cfg.write_text(cfg.read_text().replace("[198.51.100.7/32]", "[0.0.0.0/0]"))
    plan = prepare(discover(root))
    assert plan.cidrs == ["0.0.0.0/0"]
    assert any("whole internet" in w for w in plan.project.warnings)
