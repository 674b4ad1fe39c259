"""Magic-link sign-in, sessions, API tokens and the login rate limit."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time

import httpx
import pytest

from tests.server.support import Server, free_port


def _db(server: Server) -> sqlite3.Connection:
    return sqlite3.connect(server.data_dir / "rclaude.db")


def test_magic_link_signs_in_with_a_strict_httponly_session_cookie(server):
    email = "alice-cookie@example.com"
    token = server.request_link(email)
    mail = [m for m in server.outbox() if m["to"] == email][-1]
    assert f"{server.url}/login#token={token}" in mail["body"]  # token only in the fragment
    r = httpx.post(f"{server.url}/api/auth/verify", json={"token": token})
    assert r.status_code == 200
    assert r.json()["user"]["email"] == email
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("rc_session=rcs_")
    low = cookie.lower()
    assert "httponly" in low and "samesite=strict" in low and "path=/" in low
    assert "secure" not in low  # plain http on loopback; https gets Secure (below)
    session = r.cookies["rc_session"]
    me = httpx.get(f"{server.url}/api/me", cookies={"rc_session": session})
    assert me.json()["email"] == email


def test_links_are_single_use(server):
    token = server.request_link("alice-reuse@example.com")
    first = httpx.post(f"{server.url}/api/auth/verify", json={"token": token})
    again = httpx.post(f"{server.url}/api/auth/verify", json={"token": token})
    assert first.status_code == 200
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "RC-AUTH-002"
    assert "set-cookie" not in again.headers


def test_expired_links_fail(server):
    token = server.request_link("alice-expired@example.com")
    with _db(server) as c:
        n = c.execute(
            "UPDATE magic_links SET expires_at=? WHERE token_hash=?",
            (time.time() - 1, hashlib.sha256(token.encode()).hexdigest()),
        ).rowcount
    assert n == 1
    r = httpx.post(f"{server.url}/api/auth/verify", json={"token": token})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "RC-AUTH-002"


def test_links_expire_after_fifteen_minutes_by_default(server):
    token = server.request_link("alice-ttl@example.com")
    with _db(server) as c:
        created, expires = c.execute(
            "SELECT created_at, expires_at FROM magic_links WHERE token_hash=?",
            (hashlib.sha256(token.encode()).hexdigest(),),
        ).fetchone()
    assert expires - created == 900


@pytest.mark.parametrize(
    "forged", ["", "x", secrets.token_urlsafe(32), "rcs_" + "A" * 43, "A" * 500]
)
def test_forged_links_fail(server, forged):
    r = httpx.post(f"{server.url}/api/auth/verify", json={"token": forged})
    assert r.status_code == 401
    assert "set-cookie" not in r.headers


def test_secrets_are_stored_only_as_sha256(server):
    token = server.request_link("alice-hash@example.com")
    c = httpx.Client(base_url=server.url, headers={"origin": server.url})
    c.post("/api/auth/verify", json={"token": token})
    session = c.cookies["rc_session"]
    api = c.post("/api/tokens", json={"name": "laptop"}).json()["api_token"]
    with _db(server) as db:
        dump = "\n".join(db.iterdump())
    for secret in (token, session, api):
        assert secret not in dump
        assert hashlib.sha256(secret.encode()).hexdigest() in dump


def test_sessions_live_in_the_database_not_in_process_memory(server, tmp_path):
    c = server.browser_client("alice-shared@example.com")
    session = c.cookies["rc_session"]
    # A second server process on the same database accepts the session.
    other = Server(tmp_path, free_port(), dict(server.env)).start("--no-orchestrator")
    try:
        me = httpx.get(f"{other.url}/api/me", cookies={"rc_session": session})
        assert me.status_code == 200 and me.json()["email"] == "alice-shared@example.com"
    finally:
        other.proc.terminate()
        other.proc.wait(10)


def test_logout_deletes_the_session(server):
    c = server.browser_client("alice-logout@example.com")
    session = c.cookies["rc_session"]
    assert c.post("/api/auth/logout").status_code == 200
    r = httpx.get(f"{server.url}/api/me", cookies={"rc_session": session})
    assert r.status_code == 401


def test_api_tokens_are_listed_without_secrets_and_revocable(server):
    c = server.browser_client("alice-tokens@example.com")
    created = c.post("/api/tokens", json={"name": "ci"}).json()
    token = created["api_token"]
    bearer = {"authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/me", headers=bearer).status_code == 200
    listed = c.get("/api/tokens").json()
    assert [t["name"] for t in listed] == ["ci"]
    assert token not in str(listed)
    assert c.delete(f"/api/tokens/{created['id']}").status_code == 200
    assert httpx.get(f"{server.url}/api/me", headers=bearer).status_code == 401
    assert c.delete(f"/api/tokens/{created['id']}").status_code == 404


def test_logout_with_a_bearer_token_revokes_it(server):
    token = server.api_token("alice-cli-logout@example.com")
    bearer = {"authorization": f"Bearer {token}"}
    assert httpx.post(f"{server.url}/api/auth/logout", headers=bearer).status_code == 200
    assert httpx.get(f"{server.url}/api/me", headers=bearer).status_code == 401


def test_bad_email_is_a_clear_error(server):
    r = httpx.post(f"{server.url}/api/auth/request", json={"email": "not-an-address"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "RC-AUTH-010"


# -- in-process: settings that differ from the shared server --------------------------------
@pytest.fixture
def make_app(tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    from rclaude.config.schema import Config
    from rclaude.platform import Platform
    from rclaude.server.app import create_app

    platforms = []

    def build(**server_settings):
        cfg = Config(data_dir=tmp_path / "data", server=server_settings)
        p = Platform(cfg)
        platforms.append(p)
        return TestClient(
            create_app(p, orchestrator=False),
            base_url=server_settings.get("public_url", "http://127.0.0.1:9"),
        ), p

    yield build
    for p in platforms:
        p.close()


def test_sign_in_requests_are_rate_limited_per_address(make_app):
    client, _ = make_app(login_limit=3)
    codes = [
        client.post("/api/auth/request", json={"email": "bob@example.com"}).status_code
        for _ in range(4)
    ]
    assert codes == [202, 202, 202, 429]
    r = client.post("/api/auth/request", json={"email": "bob@example.com"})
    assert r.json()["error"]["code"] == "RC-AUTH-003"


def test_rate_limit_also_counts_per_client_ip(make_app):
    client, _ = make_app(login_limit=2)
    codes = [
        client.post("/api/auth/request", json={"email": f"u{i}@example.com"}).status_code
        for i in range(3)
    ]
    assert codes == [202, 202, 429]


def test_addresses_outside_allowed_emails_get_no_mail(make_app):
    client, p = make_app(allowed_emails=["*@corp.example"])
    assert client.post("/api/auth/request", json={"email": "eve@evil.example"}).status_code == 202
    assert client.post("/api/auth/request", json={"email": "amy@corp.example"}).status_code == 202
    outbox = (p.data_dir / "outbox.jsonl").read_text()
    assert "amy@corp.example" in outbox and "eve@evil.example" not in outbox


def test_https_public_url_makes_the_cookie_secure(make_app):
    client, p = make_app(public_url="https://rclaude.example.com")
    client.post("/api/auth/request", json={"email": "sec@example.com"})
    import json

    body = json.loads((p.data_dir / "outbox.jsonl").read_text().splitlines()[-1])["body"]
    assert "https://rclaude.example.com/login#token=" in body
    token = body.split("#token=")[1].split()[0]
    r = client.post("/api/auth/verify", json={"token": token})
    assert "secure" in r.headers["set-cookie"].lower()
