"""Golden files: project in, plan and user-data out, for each kind of project.

Regenerate after an intended change with::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/deploy/test_golden.py

then review the diff of tests/golden/deploy/*/{plan.json,user-data.yaml}.
"""

from __future__ import annotations

import json
import os

import pytest

from rclaude.deploy.discovery import discover
from rclaude.deploy.plan import prepare
from tests.deploy.conftest import GOLDEN

CASES = ["convention", "manifest", "tarball", "legacy"]


def _render(case: str) -> tuple[str, str, object]:
    root = GOLDEN / case / "project"
    project = discover(root)
    plan = prepare(project, fetch_remote=False, ip_resolver=lambda: "192.0.2.10")
    region = project.config.regions[0].name
    text = plan.cloud_config(plan.sample_inputs(region)).render()
    data = plan.to_dict()
    # depends on the checkout's umask, not on the project: keep it out of the golden file
    data["warnings"] = [w for w in data["warnings"] if not w.startswith("secret files")]
    plan_text = json.dumps(data, indent=2, sort_keys=True) + "\n"

    def norm(s: str) -> str:
        return s.replace(str(project.root), "<root>").replace(plan.deployment_id, "<deployment-id>")

    return norm(plan_text), norm(text), plan


@pytest.mark.parametrize("case", CASES)
def test_golden_plan_and_user_data(case):
    plan_text, user_data, _ = _render(case)
    plan_file = GOLDEN / case / "plan.json"
    ud_file = GOLDEN / case / "user-data.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        plan_file.write_text(plan_text)
        ud_file.write_text(user_data)
    assert plan_file.exists(), "golden file missing: run with UPDATE_GOLDEN=1"
    assert plan_text == plan_file.read_text()
    assert user_data == ud_file.read_text()


@pytest.mark.parametrize("case", CASES)
def test_golden_user_data_passes_cloud_init_schema(case, cloud_init_schema):
    _, user_data, plan = _render(case)
    cloud_init_schema(user_data)
    assert len(plan.cloud_config(plan.sample_inputs("us-west-2")).render_user_data()) <= 16384


def test_manifest_golden_never_contains_secret_values():
    plan_text, user_data, plan = _render("manifest")
    secret = (GOLDEN / "manifest/project/secrets/api-token").read_text().strip()
    assert secret not in plan_text and secret not in user_data
    assert json.loads(plan_text)["secrets"] == {"count": 1, "names": ["api-token"]}
    names = [f.path for f in plan.bundle.files]
    assert not any(n.startswith("secrets/") for n in names)
    assert "deployment/configs/app.ini.bak" not in names  # excluded by pattern


def test_convention_golden_orders_services_by_unit_dependencies():
    plan_text, _, _ = _render("convention")
    data = json.loads(plan_text)
    assert data["services"] == ["api", "worker"]
    assert data["scripts"][-1] == "deployment/setup.sh"
    assert "python3-pip" in data["packages"]  # requirements.txt hint


def test_legacy_golden_warns_and_splits_instances():
    plan_text, _, plan = _render("legacy")
    data = json.loads(plan_text)
    assert plan.project.mode == "legacy"
    assert any("deprecated" in w for w in data["warnings"])
    assert [r["count"] for r in data["regions"]] == [2, 1]
    assert data["scripts"] == ["instance/scripts/10-first.sh", "instance/scripts/20-second.sh"]
