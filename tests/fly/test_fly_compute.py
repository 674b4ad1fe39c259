"""FlyCompute through its real httpx code against the API-following fake server."""

from __future__ import annotations

import pytest

from rclaude.compute.fly import FlyCompute, check_fly
from rclaude.config.schema import Config
from rclaude.errors import AuthError, ConfigError, ConflictError, RclaudeError, ValidationError

WORKER_ENV = {"RCLAUDE_QUEUE": "sqs", "RCLAUDE_SQS__QUEUE_URL": "https://sqs.example/q"}


def make(fake, sleeps=None, is_idle=None, **fly):
    cfg = Config(backend="fly", fly={"app": "rc-app", "api_url": fake.url, **fly})
    rec = sleeps if sleeps is not None else []
    return FlyCompute(cfg, WORKER_ENV, is_idle=is_idle, sleep=rec.append)


def test_launch_creates_started_machines_with_secrets_and_metadata(fly_env):
    compute = make(fly_env)
    workers = compute.launch(2)
    assert len(workers) == 2
    assert {w.backend for w in workers} == {"fly"}
    machines = fly_env.machines()
    assert set(machines) == {w.id for w in workers}
    for m in machines.values():
        assert m["state"] == "started"
        cfg = m["config"]
        assert cfg["auto_destroy"] is True
        assert cfg["guest"] == {"cpu_kind": "shared", "cpus": 1, "memory_mb": 1024}
        assert cfg["metadata"]["rclaude-role"] == "worker"
        assert m["region"] == "iad"
        # worker settings travel as app secrets, not in the machine's visible env
        assert "https://sqs.example/q" not in str(cfg)
    assert fly_env.apps["rc-app"]["secrets"] == WORKER_ENV
    waits = fly_env.calls("GET", "/wait")
    assert len(waits) == 2 and all(w.query["state"] == "started" for w in waits)
    assert all("instance_id" in w.query for w in waits)


def test_launch_is_idempotent_per_token(fly_env):
    compute = make(fly_env)
    first = compute.launch(2, token="tok-abc")
    again = compute.launch(2, token="tok-abc")
    assert {w.id for w in again} == {w.id for w in first}
    assert len(fly_env.machines()) == 2


def test_list_reports_our_machines_only(fly_env):
    compute = make(fly_env)
    ours = compute.launch(1)
    # a machine of the same app that is not an rclaude worker
    fly_env.machines()["other"] = {
        "id": "other",
        "name": "web",
        "state": "started",
        "region": "iad",
        "config": {"metadata": {"role": "web"}},
    }
    listed = compute.list()
    assert [w.id for w in listed] == [ours[0].id]
    assert listed[0].state == "busy"  # running and no registry says it is idle


def test_stop_only_stops_idle_machines(fly_env):
    idle_ids: set[str] = set()
    compute = make(fly_env, is_idle=lambda wid: wid in idle_ids)
    a, b = compute.launch(2)
    idle_ids.add(a.id)
    stopped = compute.stop([a.id, b.id])
    assert stopped == [a.id]
    assert fly_env.machines()[a.id]["state"] == "destroyed"
    assert fly_env.machines()[b.id]["state"] == "started"
    assert [w.id for w in compute.list()] == [b.id]


def test_stop_without_registry_only_takes_machines_that_are_not_running(fly_env):
    compute = make(fly_env)
    a, b = compute.launch(2)
    fly_env.set_state(b.id, "stopped")
    assert compute.stop([a.id, b.id]) == [b.id]
    assert fly_env.machines()[a.id]["state"] == "started"
    assert fly_env.machines()[b.id]["state"] == "destroyed"


def test_429_is_retried_and_retry_after_honoured(fly_env):
    sleeps: list[float] = []
    compute = make(fly_env, sleeps)
    fly_env.fail_next("POST", "/machines", 429, {"Retry-After": "7"})
    workers = compute.launch(1)
    assert len(workers) == 1
    assert sleeps == [7.0]
    assert len(fly_env.calls("POST", "/machines")) == 2


def test_persistent_503_becomes_backend_error(fly_env):
    sleeps: list[float] = []
    compute = make(fly_env, sleeps)
    for _ in range(10):
        fly_env.fail_next("GET", "/machines", 503)
    with pytest.raises(RclaudeError) as err:
        compute.list()
    assert err.value.code == "RC-FLY-503"
    assert sleeps == [0.5, 1.0, 2.0, 4.0]  # exponential backoff, 4 retries


def test_bad_token_is_auth_error_before_anything_is_created(fly_env, monkeypatch):
    monkeypatch.setenv("FLY_API_TOKEN", "wrong")
    with pytest.raises(AuthError) as err:
        make(fly_env).launch(1)
    assert err.value.code == "RC-FLY-401"
    assert "FLY_API_TOKEN" in err.value.hint
    assert fly_env.calls("POST") == []


def test_missing_token_is_auth_error(fake_fly, monkeypatch, tmp_path):
    monkeypatch.delenv("FLY_API_TOKEN", raising=False)
    monkeypatch.setenv("FLY_CONFIG_DIR", str(tmp_path))
    with pytest.raises(AuthError) as err:
        make(fake_fly).launch(1)
    assert "fly auth login" in err.value.hint
    assert fake_fly.requests == []


def test_token_from_fly_config_file(fake_fly, monkeypatch, tmp_path):
    monkeypatch.delenv("FLY_API_TOKEN", raising=False)
    monkeypatch.setenv("FLY_CONFIG_DIR", str(tmp_path))
    (tmp_path / "config.yml").write_text(f"access_token: {fake_fly.token}\n")
    assert len(make(fake_fly).launch(1)) == 1


def test_unknown_app_is_config_error(fly_env):
    with pytest.raises(ConfigError) as err:
        make(fly_env, app="nope").launch(1)
    assert err.value.code == "RC-FLY-005"
    assert fly_env.calls("POST") == []


@pytest.mark.parametrize(
    ("fly", "code", "key"),
    [
        ({"region": "iadx"}, "RC-FLY-004", "fly.region"),
        ({"guest": "shared-cpu-3x"}, "RC-FLY-002", "fly.guest"),
        ({"guest": "performance-1x", "memory_mb": 1024}, "RC-FLY-003", "fly.memoryMb"),
        ({"memory_mb": 1000}, "RC-FLY-003", "fly.memoryMb"),
        ({"app": "../other/machines"}, "RC-FLY-006", "fly.app"),
        ({"app": None}, "RC-FLY-001", "fly.app"),
    ],
)
def test_invalid_region_or_size_fails_before_any_call(fly_env, fly, code, key):
    with pytest.raises(ConfigError) as err:
        make(fly_env, **fly).launch(1)
    assert err.value.code == code
    assert err.value.where.key == key
    assert fly_env.requests == []


def test_unknown_region_hint_suggests_closest(fly_env):
    with pytest.raises(ConfigError) as err:
        make(fly_env, region="iadd").launch(1)
    assert "'iad'" in err.value.hint


def test_422_from_api_is_validation_error(fly_env):
    compute = make(fly_env)
    fly_env.fail_next("POST", "/machines", 422, body={"error": "invalid config: image"})
    with pytest.raises(ValidationError) as err:
        compute.launch(1)
    assert "invalid config: image" in err.value.message


def test_412_from_api_is_conflict(fly_env):
    compute = make(fly_env)
    (w,) = compute.launch(1)
    fly_env.fail_next("DELETE", "/machines/", 412)
    fly_env.set_state(w.id, "stopped")
    with pytest.raises(ConflictError):
        compute.stop([w.id])


def test_machine_that_never_starts_is_a_clear_error(fly_env):
    fly_env.start_fails = True
    with pytest.raises(RclaudeError) as err:
        make(fly_env, wait_timeout=1).launch(1)
    assert err.value.code == "RC-FLY-408"


def test_check_fly_reports_each_check(fly_env):
    cfg = Config(backend="fly", fly={"app": "rc-app", "api_url": fly_env.url})
    results = check_fly(cfg)
    assert [(n, ok) for n, ok, _ in results] == [
        ("fly settings", True),
        ("fly token", True),
        ("fly app reachable", True),
    ]
    bad = check_fly(cfg, env={"FLY_API_TOKEN": "wrong"})
    assert bad[-1][0] == "fly app reachable" and bad[-1][1] is False
    assert "RC-FLY-401" in bad[-1][2]


def test_describe(fly_env):
    d = make(fly_env).describe()
    assert d["backend"] == "fly" and d["app"] == "rc-app" and d["region"] == "iad"


def test_fly_and_codespace_satisfy_the_compute_port(fly_env):
    from rclaude.compute.codespace import CodespaceCompute
    from rclaude.ports import Compute

    assert isinstance(make(fly_env), Compute)
    assert isinstance(CodespaceCompute(Config(), {}), Compute)


def test_rclaude_check_cli_covers_fly(fly_env, tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLAUDE_")}
    env.update(
        {
            "XDG_CONFIG_HOME": str(tmp_path),
            "RCLAUDE_DATA_DIR": str(tmp_path / "d"),
            "RCLAUDE_FLY__APP": "rc-app",
            "RCLAUDE_FLY__API_URL": fly_env.url,
        }
    )
    argv = [sys.executable, "-m", "rclaude.cli", "check", "--backend", "fly", "--json"]
    ok = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert [i["ok"] for i in json.loads(ok.stdout)] == [True, True, True]
    env["FLY_API_TOKEN"] = "wrong"
    bad = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "RC-FLY-401" in json.loads(bad.stdout)[-1]["detail"]
    unknown = subprocess.run(
        [sys.executable, "-m", "rclaude.cli", "check", "--backend", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 64 and "RC-USAGE-005" in unknown.stderr
