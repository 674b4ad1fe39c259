"""The CLI: thin commands over the library, real moto for the AWS ones."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rclaude.cli.deploy import _OPTS, build_deploy_app
from rclaude.cli.main import run_app
from tests.deploy.conftest import write

AMZN = "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2"


@pytest.fixture(autouse=True)
def _reset_opts():
    saved = dict(_OPTS)
    yield
    _OPTS.clear()
    _OPTS.update(saved)


def run(*args: str) -> tuple[int, str, str]:
    """Through ``run_app`` so library errors map to exit codes as in production."""
    import contextlib
    import io
    import sys

    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["spot-deployer", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_app(build_deploy_app(), "spot-deployer")
    finally:
        sys.argv = saved
    return code, out.getvalue(), err.getvalue()


def test_init_scaffolds_a_valid_project(tmp_path):
    root = tmp_path / "app"
    root.mkdir()
    code, out, _ = run("-C", str(root), "init", "--stack", "multi-service")
    assert code == 0 and "next steps" in out
    assert (root / "deployment/setup.sh").stat().st_mode & 0o111
    assert "secrets/" in (root / ".gitignore").read_text()
    cfg = root / ".spot/config.yaml"
    cfg.write_text(cfg.read_text().replace("[auto]", "[198.51.100.7/32]"))
    code, out, err = run("-C", str(root), "validate", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["valid"] and data["mode"] == "manifest"
    # init again keeps what exists
    code, out, _ = run("-C", str(root), "init")
    assert "kept existing" in out


@pytest.mark.parametrize("stack", ["basic", "python", "node", "compose"])
def test_every_stack_template_validates(tmp_path, stack, cloud_init_schema):
    root = tmp_path / stack
    root.mkdir()
    assert run("-C", str(root), "init", "--stack", stack)[0] == 0
    cfg = root / ".spot/config.yaml"
    cfg.write_text(cfg.read_text().replace("[auto]", "[198.51.100.7/32]"))
    code, out, err = run("-C", str(root), "validate", "--json")
    assert code == 0, err
    assert json.loads(out)["cloud_init_schema"] == "checked"


def test_validate_error_exit_code_and_message(make_project):
    root = make_project("bad", manifest="version: 1\ndeployment: {pakages: []}\n")
    code, _, err = run("-C", str(root), "validate")
    assert code == 78
    assert "RC-DEPLOY-003" in err and "packages" in err


def test_dry_run_json_has_no_secret_values(make_project):
    root = make_project("dry")
    write(root, "credentials/aws.key", "AKIA-SUPER-SECRET\n")
    code, out, _ = run("-C", str(root), "create", "--dry-run", "--json")
    assert code == 0
    assert "AKIA-SUPER-SECRET" not in out
    assert json.loads(out)["secrets"] == {"count": 1, "names": ["aws.key"]}


@pytest.mark.slow
def test_create_list_status_destroy_through_the_cli(make_project, aws, tmp_path):
    root = make_project("cli", aws_extra=f"endpoint_url: {aws}\nimage_parameter: {AMZN}")
    write(root, "secrets/pw", "hunter2\n")
    log_file = tmp_path / "deploy.log"
    code, out, err = run("-C", str(root), "--log-file", str(log_file), "create", "--json")
    assert code == 0, err
    created = json.loads(out)
    assert "hunter2" not in out and "hunter2" not in log_file.read_text()
    assert "discovered main script deployment/setup.sh" in log_file.read_text()
    did = created["deployment_id"]
    code, out, _ = run("-C", str(root), "-q", "create", "--json")
    assert json.loads(out)["mutating_calls"] == {}
    code, out, _ = run("-C", str(root), "list", "--json")
    assert json.loads(out) == {did: {"us-west-2": 1}}
    code, out, _ = run("-C", str(root), "status", "--json")
    assert json.loads(out)["us-west-2"][0]["boot_state"] == "no report yet"
    assert json.loads((root / ".spot/state.json").read_text())["deployment_id"] == did
    code, out, _ = run("-C", str(root), "destroy", "--yes", "--json")
    assert code == 0 and any(x.startswith("vpc ") for x in json.loads(out)["us-west-2"])
    code, out, _ = run("-C", str(root), "list", "--json")
    assert json.loads(out) == {}


def test_preview_offline_and_with_prices(make_project, aws):
    root = make_project("pv", aws_extra=f"endpoint_url: {aws}")
    code, out, _ = run("-C", str(root), "preview", "--json", "--offline")
    assert code == 0 and json.loads(out)["cost"] is None
    code, out, _ = run("-C", str(root), "preview", "--json")
    cost = json.loads(out)["cost"]
    assert cost["regions"][0]["instance_type"] == "t3.micro"
    assert cost["usd_per_hour"] == pytest.approx(cost["regions"][0]["spot_price"])


def test_migrate_and_rollback_via_cli(tmp_path):
    root = tmp_path / "leg"
    write(root, "config.yaml", "aws: {total_instances: 1}\nregions:\n  - us-east-1: {}\n")
    write(root, "instance/scripts/a.sh", "echo\n")
    code, out, _ = run("-C", str(root), "migrate")
    assert code == 0 and ".spot/deployment.yaml" in json.loads(out)["written"]
    code, out, _ = run("-C", str(root), "migrate", "--rollback")
    assert code == 0 and not (root / ".spot/deployment.yaml").exists()


def test_schema_export_and_version(tmp_path):
    code, out, _ = run("schema", "--out", str(tmp_path))
    assert code == 0
    assert json.loads((tmp_path / "spot-deployment.schema.json").read_text())["title"] == "Manifest"
    code, out, _ = run("version")
    assert "spot-deployer" in out


def test_mounted_under_rclaude_deploy():
    from rclaude.cli.main import build_app

    result = CliRunner().invoke(build_app(), ["deploy", "--help"])
    assert result.exit_code == 0 and "destroy" in result.output


def test_destroy_by_id_without_a_project(make_project, aws, tmp_path):
    root = make_project("byid", aws_extra=f"endpoint_url: {aws}\nimage_parameter: {AMZN}")
    code, out, err = run("-C", str(root), "create", "--json")
    assert code == 0, err
    did = json.loads(out)["deployment_id"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, out, err = run(
        "-C",
        str(elsewhere),
        "destroy",
        "--deployment-id",
        did,
        "--region",
        "us-west-2",
        "--endpoint-url",
        aws,
        "--yes",
        "--json",
    )
    assert code == 0, err
    assert any(x.startswith("instance ") for x in json.loads(out)["us-west-2"])
    code, out, _ = run("-C", str(root), "list", "--json")
    assert json.loads(out) == {}
