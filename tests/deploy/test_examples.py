"""Every example under examples/ validates and renders schema-valid user-data."""

from __future__ import annotations

from pathlib import Path

import pytest

from rclaude.deploy.discovery import discover
from rclaude.deploy.plan import prepare

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = {
    "python-app": "convention",
    "multi-service": "manifest",
    "release-tarball": "manifest",
    "compose": "convention",
    "legacy-bacalhau": "legacy",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_validates(name, cloud_init_schema):
    project = discover(EXAMPLES / name)
    assert project.mode == CASES[name]
    plan = prepare(project, ip_resolver=lambda: "192.0.2.1", fetch_remote=False)
    assert plan.cidrs == ["192.0.2.1/32"]
    cfg = plan.cloud_config(plan.sample_inputs(project.config.regions[0].name))
    cloud_init_schema(cfg.render())
    assert len(cfg.render_user_data()) <= 16384


def test_compose_example_installs_docker_and_starts_the_project():
    plan = prepare(discover(EXAMPLES / "compose"), ip_resolver=lambda: "192.0.2.1")
    doc = plan.cloud_config(plan.sample_inputs("us-west-2")).to_dict()
    assert {"docker.io", "docker-compose-v2"} <= set(doc["packages"])
    compose = next(f for f in doc["write_files"] if f["path"].endswith("-compose.sh"))
    assert (
        "docker compose -f /opt/spot/bundle/deployment/docker-compose.yml up -d"
        in compose["content"]
    )
