#!/usr/bin/env python3
"""spot-agent: the on-instance helper of spot-deployer (Python 3 standard library only).

It is shipped inside the user-data and called by the boot phases:

    spot-agent fetch-bundle      download (or take the inlined) bundle, check its sha256,
                                 extract it safely, check every file against its manifest
    spot-agent install-uploads   copy bundle files to their destinations with mode/owner
    spot-agent fetch-secrets     Secrets Manager -> files (0600) using the instance role
    spot-agent fetch-tarball     download the release tarball, check sha256, extract safely
    spot-agent status PHASE STATE  report phases, first failure's log tail, host keys

Settings come from ``/etc/spot/agent.json`` (``SPOT_AGENT_CONFIG`` overrides). AWS calls
are signed with SigV4 using credentials from the environment or, normally, the instance
role through IMDSv2. Nothing secret is ever printed.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import os
import shutil
import sys
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

BUNDLE_MANIFEST = ".spot-bundle.json"


class AgentError(Exception):
    """A boot step failed; the message says what and where (never a secret)."""


# -- archives ------------------------------------------------------------------------
def check_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Members of ``tar`` if all are safe to extract, else raise ``AgentError``.

    Refused: absolute names, ``..`` components, device/FIFO members, and links whose
    target would leave the extraction directory.
    """
    members = tar.getmembers()
    for m in members:
        name = PurePosixPath(m.name)
        if name.is_absolute() or ".." in name.parts:
            raise AgentError(f"archive member {m.name!r} escapes the target directory")
        if m.isdev() or m.isfifo():
            raise AgentError(f"archive member {m.name!r} is a device or FIFO")
        if m.issym():
            target = PurePosixPath(m.linkname)
            joined = target if target.is_absolute() else name.parent / target
            if target.is_absolute() or _climbs(joined):
                raise AgentError(
                    f"archive link {m.name!r} -> {m.linkname!r} points out of the target directory"
                )
        if m.islnk():
            target = PurePosixPath(m.linkname)
            if target.is_absolute() or ".." in target.parts:
                raise AgentError(
                    f"archive hard link {m.name!r} -> {m.linkname!r} points out "
                    "of the target directory"
                )
    return members


def _climbs(path: PurePosixPath) -> bool:
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else (0 if part in ("", ".") else 1)
        if depth < 0:
            return True
    return False


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a (gzip) tar into ``dest`` after :func:`check_members` accepted it."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as tar:
        members = check_members(tar)
        for m in members:
            m.uid = m.gid = 0
            m.uname = m.gname = "root"
        tar.extractall(dest, members=members)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- AWS (SigV4) -----------------------------------------------------------------------
def _credentials() -> dict:
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        return {
            "key": os.environ["AWS_ACCESS_KEY_ID"],
            "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
            "token": os.environ.get("AWS_SESSION_TOKEN"),
        }
    base = "http://169.254.169.254/latest"
    req = urllib.request.Request(
        f"{base}/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"}
    )
    token = urllib.request.urlopen(req, timeout=5).read().decode()
    hdr = {"X-aws-ec2-metadata-token": token}

    def get(path: str) -> str:
        r = urllib.request.Request(f"{base}/meta-data/{path}", headers=hdr)
        return urllib.request.urlopen(r, timeout=5).read().decode()

    role = get("iam/security-credentials/").split()[0]
    doc = json.loads(get(f"iam/security-credentials/{role}"))
    return {"key": doc["AccessKeyId"], "secret": doc["SecretAccessKey"], "token": doc["Token"]}


def sign(
    method: str,
    url: str,
    headers: dict,
    body: bytes,
    creds: dict,
    region: str,
    service: str,
    amz_date: str,
) -> dict:
    """SigV4: return ``headers`` (lower-cased) plus ``x-amz-date`` and ``authorization``.

    ``url`` must already be URI-encoded; its path is used as the canonical URI as is
    (S3 semantics, and exact for the plain paths used here).
    """
    parsed = urllib.parse.urlsplit(url)
    day = amz_date[:8]
    hdrs = {k.lower(): str(v) for k, v in headers.items()}
    hdrs["host"] = parsed.netloc
    hdrs["x-amz-date"] = amz_date
    if creds.get("token"):
        hdrs["x-amz-security-token"] = creds["token"]
    payload = hdrs.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    signed = ";".join(sorted(hdrs))
    query = sorted(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
    canonical = "\n".join(
        [
            method,
            parsed.path or "/",
            "&".join(
                f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                for k, v in query
            ),
            "".join(f"{k}:{' '.join(hdrs[k].split())}\n" for k in sorted(hdrs)),
            signed,
            payload,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + creds["secret"]).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    hdrs["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds['key']}/{scope}, "
        f"SignedHeaders={signed}, Signature={sig}"
    )
    return hdrs


def aws_request(
    method: str, service: str, region: str, url: str, body: bytes = b"", headers: dict | None = None
) -> bytes:
    """One SigV4-signed request; returns the response body."""
    hdrs = dict(headers or {})
    if service == "s3":
        hdrs["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    # timezone.utc (not the 3.11-only alias): the agent runs on Python 3.8+ (Ubuntu 20.04)
    now = _dt.datetime.now(_dt.timezone.utc)  # noqa: UP017
    hdrs = sign(
        method, url, hdrs, body, _credentials(), region, service, now.strftime("%Y%m%dT%H%M%SZ")
    )
    req = urllib.request.Request(url, data=body or None, method=method, headers=hdrs)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read()


def _home(cfg: dict) -> str:
    """Region of the deployment's bucket and secret."""
    return cfg.get("home_region") or cfg["region"]


def _s3_url(cfg: dict, bucket: str, key: str) -> str:
    """Virtual-hosted URL on AWS; path style on a custom endpoint (moto, MinIO)."""
    if cfg.get("endpoint_url"):
        return f"{cfg['endpoint_url'].rstrip('/')}/{bucket}/{urllib.parse.quote(key)}"
    return f"https://{bucket}.s3.{_home(cfg)}.amazonaws.com/{urllib.parse.quote(key)}"


# -- commands --------------------------------------------------------------------------
def load_config() -> dict:
    path = os.environ.get("SPOT_AGENT_CONFIG", "/etc/spot/agent.json")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _download(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=120) as resp, open(dest, "wb") as out:
        shutil.copyfileobj(resp, out)


def fetch_bundle(cfg: dict) -> None:
    b = cfg["bundle"]
    work = Path(cfg.get("work_dir", "/var/lib/spot"))
    work.mkdir(parents=True, exist_ok=True)
    archive = work / "bundle.tar.gz"
    if b.get("inline_path"):
        shutil.copyfile(b["inline_path"], archive)
    else:
        try:
            _download(b["url"], archive)
        except Exception as exc:
            if not b.get("key"):
                raise AgentError(f"bundle download failed: {exc}") from None
            archive.write_bytes(
                aws_request("GET", "s3", _home(cfg), _s3_url(cfg, b["bucket"], b["key"]))
            )
    got = sha256_file(archive)
    if got != b["sha256"]:
        raise AgentError(f"bundle sha256 mismatch: expected {b['sha256']}, got {got}")
    dest = Path(cfg["bundle_dir"])
    if dest.exists():
        shutil.rmtree(dest)
    safe_extract(archive, dest)
    manifest = json.loads((dest / BUNDLE_MANIFEST).read_text())
    for f in manifest["files"]:
        if sha256_file(dest / f["path"]) != f["sha256"]:
            raise AgentError(f"bundle file {f['path']} does not match its manifest hash")
    print(f"bundle ok: {len(manifest['files'])} files, sha256 {got}")


def install_uploads(cfg: dict) -> None:
    bundle = Path(cfg["bundle_dir"])
    manifest = json.loads((bundle / BUNDLE_MANIFEST).read_text())
    modes = {f["path"]: f["mode"] for f in manifest["files"]}
    for up in manifest.get("uploads", []):
        for f in up["files"]:
            src, target = bundle / f["path"], Path(f["target"])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            os.chmod(target, int(up.get("mode") or modes[f["path"]], 8))
            owner = up.get("owner") or "root:root"
            if os.geteuid() == 0 and owner != "root:root":
                user, _, group = owner.partition(":")
                shutil.chown(target, user or None, group or None)
            print(f"installed {target}")


def fetch_secrets(cfg: dict) -> None:
    s = cfg["secrets"]
    region = _home(cfg)
    url = cfg.get("endpoint_url") or f"https://secretsmanager.{region}.amazonaws.com"
    body = json.dumps({"SecretId": s["secret_id"]}).encode()
    raw = aws_request(
        "POST",
        "secretsmanager",
        region,
        url.rstrip("/") + "/",
        body,
        {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.GetSecretValue",
        },
    )
    files = json.loads(json.loads(raw)["SecretString"])
    dest = Path(s["dest_dir"])
    dest.mkdir(parents=True, exist_ok=True)
    os.chmod(dest, 0o700)
    import base64

    for rel, b64 in sorted(files.items()):
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts:
            raise AgentError(f"secret name {rel!r} escapes {dest}")
        target = dest / p
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64decode(b64))
        os.chmod(target, 0o600)
    print(f"secrets ok: {len(files)} files in {dest}")


def fetch_tarball(cfg: dict) -> None:
    t = cfg["tarball"]
    work = Path(cfg.get("work_dir", "/var/lib/spot"))
    work.mkdir(parents=True, exist_ok=True)
    archive = work / "release.tar.gz"
    if t.get("bundle_path"):
        shutil.copyfile(Path(cfg["bundle_dir"]) / t["bundle_path"], archive)
    else:
        _download(t["url"], archive)
    got = sha256_file(archive)
    if got != t["sha256"]:
        raise AgentError(f"tarball sha256 mismatch: expected {t['sha256']}, got {got}")
    safe_extract(archive, Path(t["extract_to"]))
    print(f"tarball ok: extracted to {t['extract_to']}")


def status(cfg: dict, phase: str, state: str) -> None:
    st = cfg.get("status")
    if not st:
        return
    state_dir = Path(cfg.get("state_dir", "/var/lib/rclaude/boot"))
    log_dir = Path(cfg.get("log_dir", "/var/log/rclaude/boot"))
    phases, failed, tail = {}, None, None
    for name in cfg.get("phases", []):
        if (state_dir / f"{name}.done").exists():
            phases[name] = "done"
        elif (state_dir / f"{name}.failed").exists():
            phases[name] = "failed"
            failed = failed or name
        else:
            phases[name] = "running" if name == phase and state == "running" else "pending"
    if failed:
        log = log_dir / f"{failed}.log"
        if log.exists():
            tail = log.read_text(errors="replace").splitlines()[-40:]
    keys = sorted(
        str(p.read_text().strip())
        for p in Path(cfg.get("ssh_dir", "/etc/ssh")).glob("ssh_host_*_key.pub")
    )
    doc = {
        "instance_id": os.environ.get("SPOT_INSTANCE_ID") or _instance_id(),
        "phase": phase,
        "state": state,
        "phases": phases,
        "failed_phase": failed,
        "log_tail": tail,
        "host_keys": keys,
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(),  # noqa: UP017
    }
    body = json.dumps(doc).encode()
    if st.get("url"):
        req = urllib.request.Request(
            st["url"], data=body, method="PUT", headers={"Content-Type": "application/json"}
        )
        urllib.request.urlopen(req, timeout=30).read()
    else:
        key = f"{st['prefix'].rstrip('/')}/{doc['instance_id']}.json"
        aws_request(
            "PUT",
            "s3",
            _home(cfg),
            _s3_url(cfg, st["bucket"], key),
            body,
            {"Content-Type": "application/json"},
        )


def _instance_id() -> str:
    try:
        req = urllib.request.Request(
            "http://169.254.169.254/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
        )
        token = urllib.request.urlopen(req, timeout=2).read().decode()
        req = urllib.request.Request(
            "http://169.254.169.254/latest/meta-data/instance-id",
            headers={"X-aws-ec2-metadata-token": token},
        )
        return urllib.request.urlopen(req, timeout=2).read().decode()
    except Exception:
        import socket

        return socket.gethostname()


COMMANDS = {
    "fetch-bundle": fetch_bundle,
    "install-uploads": install_uploads,
    "fetch-secrets": fetch_secrets,
    "fetch-tarball": fetch_tarball,
}


def main(argv: list[str]) -> int:
    if not argv or (argv[0] not in COMMANDS and argv[0] != "status"):
        print(__doc__, file=sys.stderr)
        return 2
    cfg = load_config()
    try:
        if argv[0] == "status":
            status(cfg, argv[1], argv[2])
        else:
            COMMANDS[argv[0]](cfg)
    except AgentError as exc:
        print(f"spot-agent: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
