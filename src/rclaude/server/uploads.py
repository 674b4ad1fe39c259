"""Project snapshot upload: only the blobs the store lacks travel, then the manifest.

1. ``POST /api/snapshots/missing {"shas": [...]}`` → for each sha the store does not
   have: where to PUT it. With a store that presigns (S3) that is a presigned URL for
   a per-user *staging* key; otherwise ``/api/blobs/<sha>`` on this server.
2. ``PUT /api/blobs/<sha>``: the body is streamed to a temp file while hashed and is
   stored only if its sha256 is the one named (so nobody can plant content under
   another content's address).
3. ``POST /api/snapshots {"files": {...}, "links": {...}}`` (a snapshot manifest):
   paths are validated, staged uploads are verified by hash and moved into place,
   every blob must exist; returns ``{"snapshot_id": ...}``.

Blobs are shared by content between users (that is what makes re-uploads free);
manifests and results are only reachable through the tasks of their owner.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rclaude import snapshot
from rclaude.errors import ValidationError
from rclaude.fsutil import check_relative
from rclaude.server import http

_SHA = re.compile(r"[0-9a-f]{64}")
MAX_BLOB = 1 << 30
MAX_SHAS = 200_000


def _check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise ValidationError(f"{str(sha)[:80]!r} is not a sha256 hex digest", code="RC-SNAP-005")
    return sha


def staging_key(user_id: str, sha: str) -> str:
    return f"uploads/{user_id}/{sha}"


async def missing(request: Request) -> Response:
    user = await http.require_user(request)
    body = await http.json_body(request, limit=32 << 20)
    shas = body.get("shas")
    if not isinstance(shas, list) or len(shas) > MAX_SHAS:
        raise ValidationError("'shas' must be a list of sha256 digests", code="RC-SNAP-005")
    wanted = sorted({_check_sha(s) for s in shas})
    store = request.app.state.platform.store

    def plan() -> list[dict]:
        out = []
        for sha in wanted:
            if store.exists(snapshot.blob_key(sha)):
                continue
            url = store.presign(staging_key(user.id, sha), "PUT", 900)
            out.append(
                {
                    "sha": sha,
                    "method": "PUT",
                    "url": url or f"/api/blobs/{sha}",
                    "presigned": bool(url),
                }
            )
        return out

    return JSONResponse({"uploads": await to_thread.run_sync(plan)})


async def put_blob(request: Request) -> Response:
    await http.require_user(request)
    sha = _check_sha(request.path_params["sha"])
    store = request.app.state.platform.store
    h = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix="rclaude-upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            async for part in request.stream():
                size += len(part)
                if size > MAX_BLOB:
                    raise ValidationError(
                        "blob too large",
                        code="RC-SNAP-006",
                        hint=f"files over {MAX_BLOB >> 20} MiB are not uploaded",
                    )
                h.update(part)
                fh.write(part)
        if h.hexdigest() != sha:
            raise ValidationError("uploaded content does not match its sha256", code="RC-SNAP-007")
        await to_thread.run_sync(store.put_file, snapshot.blob_key(sha), tmp)
    finally:
        os.unlink(tmp)
    return JSONResponse({"sha": sha, "size": size}, status_code=201)


def _promote_staged(store, user_id: str, sha: str) -> bool:
    """Move a verified staged upload to its blob key; False if nothing is staged."""
    key = staging_key(user_id, sha)
    if not store.exists(key):
        return False
    fd, tmp = tempfile.mkstemp(prefix="rclaude-staged-")
    os.close(fd)
    try:
        store.get_file(key, tmp)
        if snapshot.hash_file(tmp) == sha:
            store.put_file(snapshot.blob_key(sha), tmp)
    finally:
        os.unlink(tmp)
        store.delete(key)
    return store.exists(snapshot.blob_key(sha))


async def commit(request: Request) -> Response:
    user = await http.require_user(request)
    body = await http.json_body(request, limit=64 << 20)
    files, links = body.get("files", {}), body.get("links", {})
    if not isinstance(files, dict) or not isinstance(links, dict):
        raise ValidationError("'files' and 'links' must be objects", code="RC-SNAP-008")
    clean: dict[str, dict] = {}
    for rel, info in files.items():
        check_relative(rel, what="snapshot path")
        if not isinstance(info, dict):
            raise ValidationError(f"bad entry for {rel!r}", code="RC-SNAP-008")
        try:
            clean[rel] = {
                "sha": _check_sha(info["sha"]),
                "size": int(info["size"]),
                "mode": 0o755 if int(info["mode"]) & 0o111 else 0o644,
            }
        except (KeyError, TypeError, ValueError):
            raise ValidationError(f"bad entry for {rel!r}", code="RC-SNAP-008") from None
    for rel, target in links.items():
        check_relative(rel, what="snapshot link")
        if not isinstance(target, str):
            raise ValidationError(f"bad link {rel!r}", code="RC-SNAP-008")
    manifest = snapshot.Manifest(files=clean, links=dict(links))
    store = request.app.state.platform.store

    def save() -> str:
        absent = [
            info["sha"]
            for info in clean.values()
            if not store.exists(snapshot.blob_key(info["sha"]))
            and not _promote_staged(store, user.id, info["sha"])
        ]
        if absent:
            raise ValidationError(
                f"{len(absent)} blob(s) were not uploaded (e.g. {absent[0][:12]})",
                code="RC-SNAP-009",
                hint="upload the missing blobs first",
            )
        sid = manifest.id
        if not store.exists(snapshot.manifest_key(sid)):
            store.put(snapshot.manifest_key(sid), manifest.canonical())
        return sid

    return JSONResponse({"snapshot_id": await to_thread.run_sync(save)}, status_code=201)
