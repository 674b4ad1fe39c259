"""Discovery order, conventions, legacy layout and migration, schemas, services order."""

from __future__ import annotations

import json

import pytest

from rclaude.deploy import legacy
from rclaude.deploy.discovery import discover
from rclaude.deploy.schema import Service, json_schemas
from rclaude.deploy.services import dependency_order
from rclaude.errors import ValidationError
from tests.deploy.conftest import write


def test_manifest_beats_convention_and_walks_up_from_a_subdir(make_project):
    root = make_project("m", manifest="version: 1\ndeployment: {packages: [nginx]}\n")
    (root / "src/pkg").mkdir(parents=True)
    project = discover(root / "src/pkg")
    assert project.root == root.resolve() and project.mode == "manifest"
    assert project.spec.packages == ["nginx"]


def test_convention_scanner_finds_everything(make_project):
    root = make_project("c")
    write(root, "deployment/scripts/b.sh", "echo b\n")
    write(root, "deployment/scripts/a.sh", "echo a\n")
    write(root, "deployment/configs/x.conf", "x\n")
    write(root, "deployment/files/etc/y", "y\n")
    write(root, "deployment/services/db.service", "[Service]\nExecStart=/bin/true\n")
    write(root, "deployment/web.service", "[Unit]\nRequires=db.service\nAfter=db.service\n")
    write(root, "deployment/docker-compose.yml", "services: {}\n")
    write(root, "package.json", "{}\n")
    project = discover(root)
    spec = project.spec
    assert project.mode == "convention"
    assert [s.command for s in spec.script_list()] == [
        "deployment/scripts/a.sh",
        "deployment/scripts/b.sh",
        "deployment/setup.sh",
    ]
    assert {(u.source, u.dest) for u in spec.uploads} == {
        ("deployment/files", "/"),
        ("deployment/configs", "/etc/c"),
        (".", "/opt/c"),
    }
    web = next(s for s in spec.services if s.name == "web")
    assert web.depends_on == ["db"]
    assert spec.compose_file == "deployment/docker-compose.yml"
    assert "nodejs" in spec.packages
    assert any("docker compose" in f for f in project.found)


def test_deployment_dir_and_manifest_overrides(make_project, tmp_path):
    root = make_project("o")
    write(root, "ops/init.sh", "echo init\n")
    project = discover(root, deployment_dir=root / "ops")
    assert [s.command for s in project.spec.script_list()] == ["ops/init.sh"]
    alt = write(root, "alt.yaml", "version: 1\ndeployment: {packages: [redis-server]}\n")
    assert discover(root, manifest=alt).spec.packages == ["redis-server"]


def test_legacy_layout_is_detected_with_a_deprecation_warning(tmp_path):
    root = tmp_path / "old"
    write(
        root,
        "config.yaml",
        """\
        aws: {total_instances: 5, username: ubuntu, node_type: x}
        regions:
          - us-west-2: {machine_type: t3.medium, image: auto}
          - eu-west-1: {machine_type: t3.large}
        """,
    )
    write(root, "instance/scripts/10-a.sh", "echo a\n")
    project = discover(root)
    assert project.mode == "legacy"
    assert any("deprecated" in w and "migrate" in w for w in project.warnings)
    assert any("node_type" in w for w in project.warnings)
    assert [(r.name, r.count, r.instance_type) for r in project.config.regions] == [
        ("us-west-2", 3, "t3.medium"),
        ("eu-west-1", 2, "t3.large"),
    ]


def test_migrate_writes_new_layout_and_rollback_restores(tmp_path):
    root = tmp_path / "old"
    write(root, "config.yaml", "aws: {total_instances: 2}\nregions:\n  - us-east-1: {}\n")
    write(root, "instance/scripts/10-a.sh", "echo a\n")
    write(root, ".spot/config.yaml", "# hand-written, must come back\n")
    report = legacy.migrate(root)
    assert sorted(report["written"]) == [".spot/config.yaml", ".spot/deployment.yaml"]
    project = discover(root)
    assert project.mode == "manifest"
    assert [s.command for s in project.spec.script_list()] == ["instance/scripts/10-a.sh"]
    assert project.config.regions[0].count == 2
    undo = legacy.rollback(root)
    assert undo == {"restored": [".spot/config.yaml"], "removed": [".spot/deployment.yaml"]}
    assert (root / ".spot/config.yaml").read_text() == "# hand-written, must come back\n"
    assert not (root / ".spot/deployment.yaml").exists()


def test_services_in_dependency_order_stable():
    svcs = [
        Service(name="web", file="f", depends_on=["api", "cache"]),
        Service(name="api", file="f", depends_on=["db"]),
        Service(name="cache", file="f"),
        Service(name="db", file="f"),
    ]
    assert [s.name for s in dependency_order(svcs)] == ["cache", "db", "api", "web"]
    with pytest.raises(ValidationError) as err:
        dependency_order([Service(name="a", file="f"), Service(name="a", file="f")])
    assert err.value.code == "RC-DEPLOY-030"


def test_json_schemas_export_and_forbid_extra_keys():
    schemas = json_schemas()
    assert set(schemas) == {".spot/config.yaml", ".spot/deployment.yaml"}
    manifest = schemas[".spot/deployment.yaml"]
    assert manifest["additionalProperties"] is False
    assert "deployment" in manifest["properties"]
    json.dumps(schemas)  # serializable as-is


def test_plugins_generators_and_file_handlers(make_project):
    from rclaude.cloudinit import CloudConfig
    from rclaude.deploy import bundle, plugins

    project = discover(make_project("plug"))

    def gen(cfg, proj):
        cfg.add_boot_phase("plugin-phase", [f"echo {proj.name}"])

    cfg = CloudConfig()
    plugins.apply_generators(cfg, project, extra=(("demo", gen),))
    assert cfg.phase_names[-1].endswith("plugin-phase")

    def upper(path):
        return path.read_bytes().upper() if path.name.endswith(".sh") else None

    built = bundle.build(project, handlers=(("upper", upper),))
    assert any(
        f.path == "deployment/setup.sh" and f.size == len(b"#!/BIN/BASH\nECHO HI\n")
        for f in built.files
    )

    def broken(cfg, proj):
        raise RuntimeError("boom")

    with pytest.raises(ValidationError) as err:
        plugins.apply_generators(CloudConfig(), project, extra=(("broken", broken),))
    assert err.value.code == "RC-DEPLOY-080" and "broken" in err.value.message


def test_convention_uploads_the_application_honouring_gitignore(make_project):
    from rclaude.deploy.plan import prepare

    root = make_project("appcode")
    write(root, "app/main.py", "print(1)\n")
    write(root, "build/out.bin", "junk\n")
    write(root, "debug.log", "junk\n")
    write(root, ".gitignore", "build/\n*.log\n")
    write(root, "secrets/key", "k\n")
    plan = prepare(discover(root))
    app = next(u for u in plan.bundle.uploads if u["source"] == ".")
    assert [(f["path"], f["target"]) for f in app["files"]] == [
        ("app/main.py", "/opt/appcode/app/main.py")
    ]


def test_convention_app_files_honour_gitignore_with_negation_and_nested_files(make_project):
    from rclaude.deploy import bundle

    root = make_project("gi")
    write(root, "app.py", "print('app')\n")
    write(root, ".gitignore", "*.log\n!keep.log\nbuild/\n")
    write(root, "debug.log", "no\n")
    write(root, "keep.log", "yes\n")
    write(root, "build/out.o", "no\n")
    write(root, "lib/.gitignore", "secret.txt\n")
    write(root, "lib/secret.txt", "no\n")
    write(root, "lib/util.py", "yes\n")
    files, _uploads = bundle.collect(discover(root))
    shipped = {p.relative_to(root.resolve()).as_posix() for p in files}
    assert {"app.py", "keep.log", "lib/util.py"} <= shipped
    assert not shipped & {"debug.log", "build/out.o", "lib/secret.txt"}
