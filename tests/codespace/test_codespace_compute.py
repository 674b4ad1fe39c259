"""CodespaceCompute through its real httpx code against the API-following fake GitHub."""

from __future__ import annotations

import os
import stat

import pytest

from rclaude.compute.codespace import CodespaceCompute, check_codespace
from rclaude.compute.tokens import github_token
from rclaude.config.schema import Config
from rclaude.errors import AuthError, ConfigError, RclaudeError

WORKER_ENV = {"RCLAUDE_QUEUE": "sqs", "RCLAUDE_REDIS__URL": "redis://:s3cret@redis.example:6379/0"}


def make(fake, sleeps=None, is_idle=None, env=None, **cs):
    settings = {"repo": "octo/app", "branch": "main", "api_url": fake.url, "poll_interval": 2}
    cfg = Config(backend="codespace", codespace={**settings, **cs})
    rec = sleeps if sleeps is not None else []
    return CodespaceCompute(
        cfg, WORKER_ENV if env is None else env, is_idle=is_idle, sleep=rec.append
    )


def test_launch_creates_codespaces_waits_until_available_and_stores_secrets(gh_env):
    sleeps: list[float] = []
    workers = make(gh_env, sleeps).launch(2)
    assert len(workers) == 2
    assert {w.backend for w in workers} == {"codespace"}
    for w in workers:
        cs = gh_env.codespaces[w.id]
        assert cs["state"] == "Available"
        assert cs["display_name"].startswith("rclaude-")
        assert cs["machine"]["name"] == "basicLinux32gb"
        assert cs["git_status"]["ref"] == "main"
        assert cs["idle_timeout_minutes"] == 30
    # polled Queued -> Provisioning -> Available with the configured interval
    assert sleeps and set(sleeps) == {2}
    # worker settings are sealed-box secrets scoped to the repo, readable by the key owner
    assert set(gh_env.secrets) == set(WORKER_ENV)
    for name, value in WORKER_ENV.items():
        assert gh_env.decrypt_secret(name) == value
        assert gh_env.secrets[name]["selected_repository_ids"] == [gh_env.repos["octo/app"]["id"]]
    # and never in the clear in any request
    for req in gh_env.requests:
        assert b"s3cret" not in req.raw


def test_launch_is_idempotent_per_token(gh_env):
    compute = make(gh_env)
    first = compute.launch(1, token="launch-1")
    again = compute.launch(1, token="launch-1")
    assert [w.id for w in again] == [w.id for w in first]
    assert len(gh_env.codespaces) == 1


def test_list_follows_pagination_and_keeps_only_ours(gh_env):
    compute = make(gh_env)
    # 120 foreign codespaces (another display name / repo) push ours past page 1
    other = gh_env.add_repo("octo/other")
    for i in range(120):
        gh_env.codespaces[f"foreign-{i}"] = {
            "name": f"foreign-{i}",
            "display_name": "my dev box",
            "state": "Available",
            "repository": {"id": other["id"], "full_name": "octo/other"},
        }
    (mine,) = compute.launch(1)
    listed = compute.list()
    assert [w.id for w in listed] == [mine.id]
    pages = [
        r.query.get("page")
        for r in gh_env.calls("GET", "/user/codespaces")
        if r.path == "/user/codespaces"
    ]
    assert "2" in pages  # the Link rel="next" was followed


def test_stop_only_idle_codespaces(gh_env):
    idle: set[str] = set()
    compute = make(gh_env, is_idle=lambda name: name in idle)
    a, b = compute.launch(2)
    idle.add(a.id)
    assert compute.stop([a.id, b.id]) == [a.id]
    assert a.id not in gh_env.codespaces
    assert gh_env.codespaces[b.id]["state"] == "Available"
    assert len(gh_env.calls("POST", f"/user/codespaces/{a.id}/stop")) == 1
    assert compute.list()[0].state == "busy"


def test_429_retry_after_honoured(gh_env):
    sleeps: list[float] = []
    compute = make(gh_env, sleeps)
    gh_env.fail_next("POST", "/codespaces", 429, {"Retry-After": "3"})
    assert len(compute.launch(1)) == 1
    assert sleeps[0] == 3.0
    assert len(gh_env.calls("POST", "/repos/octo/app/codespaces")) == 2


def test_secondary_rate_limit_403_is_retried(gh_env):
    sleeps: list[float] = []
    compute = make(gh_env, sleeps)
    gh_env.fail_next("GET", "/user/codespaces", 403, {"Retry-After": "5"})
    assert compute.list() == []
    assert sleeps == [5.0]


def test_bad_token_is_auth_error_before_anything_is_created(gh_env, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "nope")
    with pytest.raises(AuthError) as err:
        make(gh_env).launch(1)
    assert err.value.code == "RC-GITHUB-401"
    assert gh_env.calls("POST") == [] and gh_env.calls("PUT") == []


def test_under_scoped_token_names_missing_scope(gh_env, monkeypatch):
    gh_env.tokens["narrow"] = {"login": "octo", "scopes": "repo"}
    monkeypatch.setenv("GITHUB_TOKEN", "narrow")
    with pytest.raises(AuthError) as err:
        make(gh_env).launch(1)
    assert err.value.code == "RC-GITHUB-SCOPE"
    assert "codespace" in err.value.message and "gh auth refresh -s codespace" in err.value.hint
    assert gh_env.calls("POST") == [] and gh_env.calls("PUT") == []


def test_fine_grained_token_without_scope_header_is_accepted(gh_env, monkeypatch):
    gh_env.tokens["fine"] = {"login": "octo", "scopes": None}
    monkeypatch.setenv("GITHUB_TOKEN", "fine")
    assert len(make(gh_env).launch(1)) == 1


def test_repo_without_codespaces_access_fails_before_creating(gh_env):
    gh_env.add_repo("octo/locked", codespaces=False)
    with pytest.raises(AuthError) as err:
        make(gh_env, repo="octo/locked").launch(1)
    assert err.value.code == "RC-CS-003"
    assert "Codespaces" in err.value.hint
    assert gh_env.calls("POST") == [] and gh_env.calls("PUT") == []


def test_unknown_repo_is_config_error(gh_env):
    with pytest.raises(ConfigError) as err:
        make(gh_env, repo="octo/missing").launch(1)
    assert err.value.code == "RC-CS-002" and err.value.where.key == "codespace.repo"


def test_unknown_machine_type_lists_available(gh_env):
    with pytest.raises(ConfigError) as err:
        make(gh_env, machine="hugeLinux").launch(1)
    assert err.value.code == "RC-CS-004"
    assert "basicLinux32gb" in err.value.hint
    assert gh_env.calls("POST") == []


def test_missing_repo_setting(gh_env):
    with pytest.raises(ConfigError) as err:
        make(gh_env, repo=None).launch(1)
    assert err.value.code == "RC-CS-001"
    assert gh_env.requests == []


def test_invalid_secret_name_rejected_before_calls(gh_env):
    with pytest.raises(ConfigError) as err:
        make(gh_env, env={"GITHUB_X": "1"}).launch(1)
    assert err.value.code == "RC-CS-005"
    assert gh_env.requests == []


def test_codespace_that_never_becomes_available(gh_env):
    compute = make(gh_env, wait_timeout=4)
    orig = gh_env._get_cs

    def stuck(req):
        cs = gh_env.codespaces.get(req.match["name"])
        if cs is not None:
            cs["state"] = "Queued"
        return 200, gh_env._public(cs)

    gh_env.routes = [(m, p, stuck if h == orig else h) for m, p, h in gh_env.routes]
    with pytest.raises(RclaudeError) as err:
        compute.launch(1)
    assert err.value.code == "RC-CS-007"


def test_token_lookup_order(tmp_path):
    assert github_token({"GITHUB_TOKEN": "a", "GH_TOKEN": "b"}).source == "GITHUB_TOKEN"
    assert github_token({"GH_TOKEN": "b", "PATH": ""}).value == "b"
    # then `gh auth token`: a stand-in gh on PATH prints a token
    gh = tmp_path / "gh"
    gh.write_text("#!/bin/sh\n[ \"$1 $2\" = 'auth token' ] && echo from-gh-cli\n")
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    tok = github_token({"PATH": str(tmp_path) + os.pathsep + "/usr/bin:/bin"})
    assert tok.value == "from-gh-cli" and tok.source == "gh auth token"
    assert "from-gh-cli" not in repr(tok) and "from-gh-cli" not in str(tok)
    assert github_token({"PATH": ""}) is None


def test_check_codespace(gh_env):
    cfg = Config(codespace={"repo": "octo/app", "api_url": gh_env.url})
    assert [(n, ok) for n, ok, _ in check_codespace(cfg)] == [
        ("github token", True),
        ("codespaces access", True),
    ]
    gh_env.tokens["narrow"] = {"login": "octo", "scopes": "repo"}
    res = check_codespace(cfg, env={"GITHUB_TOKEN": "narrow"})
    assert res[-1][1] is False and "RC-GITHUB-SCOPE" in res[-1][2]


def test_422_from_api_is_validation_error_with_github_message(gh_env):
    from rclaude.errors import ValidationError

    gh_env.fail_next(
        "PUT",
        "/user/codespaces/secrets/",
        422,
        body={"message": "Validation Failed", "errors": [{"code": "invalid", "field": "key_id"}]},
    )
    with pytest.raises(ValidationError) as err:
        make(gh_env).launch(1)
    assert err.value.code == "RC-GITHUB-422"
    assert "Validation Failed" in err.value.message and "key_id" in err.value.message
    assert gh_env.calls("POST", "/codespaces") == []  # nothing created after the failure


def test_404_on_vanished_codespace_during_stop_is_tolerated(gh_env):
    compute = make(gh_env)
    (w,) = compute.launch(1)
    gh_env.codespaces[w.id]["state"] = "Shutdown"
    gh_env.fail_next("DELETE", f"/user/codespaces/{w.id}", 404)
    assert compute.stop([w.id]) == [w.id]
