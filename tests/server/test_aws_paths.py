"""Production paths against a real moto server over HTTP: presigned snapshot uploads to
S3 (staged, verified by hash, then promoted) and magic links sent through SES."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from starlette.testclient import TestClient

from rclaude import snapshot
from rclaude.config.schema import Config
from rclaude.platform import Platform
from rclaude.server.app import create_app


@pytest.fixture
def s3_app(aws, tmp_path):
    boto3.client("s3", endpoint_url=aws, region_name="us-east-1").create_bucket(Bucket="snaps")
    cfg = Config(
        data_dir=tmp_path / "data",
        storage="s3",
        s3={"bucket": "snaps"},
        aws={"endpoint_url": aws, "region": "us-east-1"},
    )
    p = Platform(cfg)
    with TestClient(create_app(p, orchestrator=False), base_url="http://127.0.0.1:9") as c:
        c.post("/api/auth/request", json={"email": "s3@example.com"})
        import json

        mail = json.loads((p.data_dir / "outbox.jsonl").read_text().splitlines()[-1])
        token = mail["body"].split("#token=")[1].split()[0]
        api = c.post("/api/auth/verify", json={"token": token, "api_token_name": "t"}).json()
        c.headers["authorization"] = f"Bearer {api['api_token']}"
        yield c, p, cfg
    p.close()


def test_project_upload_goes_straight_to_s3_by_presigned_url(s3_app, tmp_path):
    from rclaude.client import RemoteTaskService

    client, p, cfg = s3_app
    project = tmp_path / "proj"
    project.mkdir()
    (project / "a.txt").write_text("via presigned url\n")
    plan = client.post(
        "/api/snapshots/missing",
        json={"shas": [hashlib.sha256(b"via presigned url\n").hexdigest()]},
    ).json()
    assert plan["uploads"][0]["presigned"] and plan["uploads"][0]["url"].startswith(
        cfg.aws.endpoint_url
    )
    svc = RemoteTaskService(
        cfg.model_copy(
            update={"server": cfg.server.model_copy(update={"url": "http://127.0.0.1:9"})}
        ),
        token="unused",
        client=client,
    )
    sid = svc.upload_project(project)
    sha = hashlib.sha256(b"via presigned url\n").hexdigest()
    assert p.store.get(snapshot.blob_key(sha)) == b"via presigned url\n"
    assert list(p.store.list("uploads/")) == []  # the staged copy is gone
    assert snapshot.load(p.store, sid).files["a.txt"]["sha"] == sha


def test_a_staged_upload_with_the_wrong_content_is_not_promoted(s3_app):
    import httpx

    client, p, _ = s3_app
    sha = hashlib.sha256(b"honest").hexdigest()
    up = client.post("/api/snapshots/missing", json={"shas": [sha]}).json()["uploads"][0]
    assert httpx.put(up["url"], content=b"poisoned").status_code == 200
    r = client.post("/api/snapshots", json={"files": {"x": {"sha": sha, "size": 6, "mode": 420}}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "RC-SNAP-009"
    assert not p.store.exists(snapshot.blob_key(sha))


def test_magic_links_are_sent_through_ses(aws, tmp_path):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    ses = boto3.client("ses", endpoint_url=aws, region_name="us-east-1")
    ses.verify_email_identity(EmailAddress="login@rclaude.example")
    cfg = Config(
        data_dir=tmp_path / "data",
        aws={"endpoint_url": aws, "region": "us-east-1"},
        server={
            "mailer": "ses",
            "mail_from": "login@rclaude.example",
            "public_url": "https://rc.example",
        },
    )
    p = Platform(cfg)
    with TestClient(create_app(p, orchestrator=False), base_url="https://rc.example") as c:
        assert c.post("/api/auth/request", json={"email": "ses@example.com"}).status_code == 202
        sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
        body = sent[-1].body
        assert sent[-1].destinations["ToAddresses"] == ["ses@example.com"]
        token = body.split("https://rc.example/login#token=")[1].split()[0]
        assert c.post("/api/auth/verify", json={"token": token}).status_code == 200
    assert not (p.data_dir / "outbox.jsonl").exists()
    p.close()
