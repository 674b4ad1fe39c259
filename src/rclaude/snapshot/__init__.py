"""Content-addressed project snapshots.

A snapshot is a manifest (path → sha256, size, mode; symlinks → target) stored at
``snapshots/<id>.json`` plus one blob per distinct content at ``blobs/<sha256>``. The id
is the sha256 of the canonical manifest, so identical trees get identical ids, and a
blob that already exists is never uploaded again.

- :func:`create` snapshots a project directory (honouring ignore files).
- :func:`materialize` writes a snapshot into an empty private workspace, refusing any
  path or link that would escape it.
- :func:`collect_changes` compares a workspace with the snapshot it came from and
  uploads new and changed files, recording deletions.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from rclaude.errors import ValidationError
from rclaude.fsutil import check_relative, safe_join
from rclaude.ports import ObjectStore
from rclaude.snapshot.ignore import walk

MAX_FILES = 200_000
_READ = 1024 * 1024


def blob_key(sha: str) -> str:
    return f"blobs/{sha[:2]}/{sha}"


def manifest_key(snapshot_id: str) -> str:
    return f"snapshots/{snapshot_id}.json"


def hash_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_READ):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Manifest:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # rel -> {sha,size,mode}
    links: dict[str, str] = field(default_factory=dict)  # rel -> target

    def canonical(self) -> bytes:
        return json.dumps(
            {"version": 1, "files": self.files, "links": self.links},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    @property
    def id(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        d = json.loads(raw)
        if d.get("version") != 1:
            raise ValidationError("unsupported snapshot manifest version", code="RC-SNAP-002")
        return cls(files=d.get("files", {}), links=d.get("links", {}))


def _link_is_safe(rel: str, target: str) -> bool:
    if os.path.isabs(target):
        return False
    depth = len(PurePosixPath(rel).parts) - 1
    for part in PurePosixPath(target).parts:
        depth = depth - 1 if part == ".." else depth + (part != ".")
        if depth < 0:
            return False
    return True


def scan(root: Path, known: dict[str, tuple[int, int, str]] | None = None) -> Manifest:
    """Build a manifest of ``root``. ``known`` maps rel → (size, mtime_ns, sha) to skip
    rehashing files whose size and mtime did not change."""
    m = Manifest()
    count = 0
    for rel, entry in walk(root):
        count += 1
        if count > MAX_FILES:
            raise ValidationError(
                f"{root} has more than {MAX_FILES} files to snapshot",
                code="RC-SNAP-001",
                hint="add large or generated directories to .rclaudeignore, or use --no-sync",
            )
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(entry.path)
            if _link_is_safe(rel, target):
                m.links[rel] = target
            continue
        sha = None
        if known is not None:
            prev = known.get(rel)
            if prev is not None and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
                sha = prev[2]
        if sha is None:
            sha = hash_file(entry.path)
        m.files[rel] = {
            "sha": sha,
            "size": st.st_size,
            "mode": 0o755 if st.st_mode & 0o111 else 0o644,
        }
    return m


def upload(
    store: ObjectStore,
    root: Path,
    manifest: Manifest,
    rels: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Upload the blobs of ``rels`` (default: all files) that the store lacks.
    Returns the number of bytes uploaded.

    Content addressing: each distinct content is checked (and sent) once. A store with
    a ``transfer_concurrency`` above 1 (S3) gets its checks and uploads in parallel;
    the local directory store is fastest serially.
    """
    todo: dict[str, str] = {}  # sha -> one file with that content
    for rel in manifest.files if rels is None else rels:
        todo.setdefault(manifest.files[rel]["sha"], rel)

    def send(sha: str) -> int:
        rel = todo[sha]
        size = manifest.files[rel]["size"]
        key = blob_key(sha)
        sent = 0
        if not store.exists(key):
            store.put_file(key, str(root / rel))
            sent = size
        if progress:
            progress(size)
        return sent

    workers = getattr(store, "transfer_concurrency", 1)
    if workers <= 1 or len(todo) <= 1:
        return sum(send(sha) for sha in todo)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(send, todo))


def create(store: ObjectStore, root: str | os.PathLike) -> str:
    """Snapshot ``root`` into ``store``; return the snapshot id."""
    root = Path(root)
    manifest = scan(root)
    upload(store, root, manifest)
    sid = manifest.id
    key = manifest_key(sid)
    if not store.exists(key):
        store.put(key, manifest.canonical())
    return sid


def load(store: ObjectStore, snapshot_id: str) -> Manifest:
    return Manifest.parse(store.get(manifest_key(snapshot_id)))


@dataclass
class Materialized:
    root: Path
    manifest: Manifest
    stats: dict[str, tuple[int, int, str]]  # rel -> (size, mtime_ns, sha) as written
    snapshot_id: str | None = None  # the stored manifest this was written from


def materialize(
    store: ObjectStore, snapshot_id: str | None, workspace: str | os.PathLike
) -> Materialized:
    """Write the snapshot into ``workspace`` (created, must be empty)."""
    ws = Path(workspace)
    ws.mkdir(parents=True, exist_ok=True)
    manifest = load(store, snapshot_id) if snapshot_id else Manifest()
    stats: dict[str, tuple[int, int, str]] = {}
    for rel, info in sorted(manifest.files.items()):
        dest = safe_join(ws, rel, what="snapshot path")
        dest.parent.mkdir(parents=True, exist_ok=True)
        store.get_file(blob_key(info["sha"]), str(dest))
        os.chmod(dest, info["mode"] & 0o777)
        st = dest.stat()
        stats[rel] = (st.st_size, st.st_mtime_ns, info["sha"])
    for rel, target in sorted(manifest.links.items()):
        check_relative(rel, what="snapshot link")
        if not _link_is_safe(rel, target):
            continue
        dest = safe_join(ws, rel, what="snapshot link")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, dest)
    return Materialized(ws, manifest, stats, snapshot_id)


def collect_changes(store: ObjectStore, mat: Materialized) -> dict[str, Any]:
    """Upload what the command changed; return the result record.

    ``{"snapshot": id, "added": [...], "modified": [...], "deleted": [...], "bytes": n}``
    """
    after = scan(mat.root, known=mat.stats)
    before = mat.manifest
    if mat.snapshot_id and after.files == before.files and after.links == before.links:
        # Nothing changed (the common case): the result is the stored snapshot itself.
        sid = mat.snapshot_id
        return {
            "snapshot": sid,
            "base": sid,
            "added": [],
            "modified": [],
            "deleted": [],
            "bytes": 0,
        }
    added = sorted(set(after.files) - set(before.files))
    deleted = sorted(
        (set(before.files) - set(after.files)) | (set(before.links) - set(after.links))
    )
    modified = sorted(
        rel
        for rel in set(after.files) & set(before.files)
        if after.files[rel]["sha"] != before.files[rel]["sha"]
        or after.files[rel]["mode"] != before.files[rel]["mode"]
    )
    added += sorted(rel for rel in set(after.links) - set(before.links))
    sent = upload(store, mat.root, after, [r for r in added + modified if r in after.files])
    sid = after.id
    if not store.exists(manifest_key(sid)):
        store.put(manifest_key(sid), after.canonical())
    return {
        "snapshot": sid,
        "base": before.id,
        "added": added,
        "modified": modified,
        "deleted": deleted,
        "bytes": sent,
    }


def write_results(
    dest: str | os.PathLike,
    files: dict[str, dict[str, Any]],
    links: dict[str, str],
    deleted: list[str],
    fetch: Callable[[str, Path], None],
    *,
    apply_deletions: bool = False,
) -> list[str]:
    """Write result ``files`` (rel → {sha, mode}; ``fetch(sha, path)`` writes the blob)
    and ``links`` under ``dest``, refusing any path or link that escapes it; delete
    ``deleted`` too when asked. Returns the paths written."""
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for rel, info in sorted(files.items()):
        target = safe_join(out, rel, what="result path")
        target.parent.mkdir(parents=True, exist_ok=True)
        fetch(info["sha"], target)
        os.chmod(target, info["mode"] & 0o777)
        written.append(rel)
    for rel, link in sorted(links.items()):
        if not _link_is_safe(rel, link):
            continue
        target = safe_join(out, rel, what="result path")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        os.symlink(link, target)
        written.append(rel)
    if apply_deletions:
        for rel in deleted:
            target = safe_join(out, rel, what="result path")
            if target.is_symlink() or target.is_file():
                target.unlink()
    return written


def download(
    store: ObjectStore,
    result: dict[str, Any],
    dest: str | os.PathLike,
    *,
    apply_deletions: bool = False,
) -> list[str]:
    """Write a task's added and modified files under ``dest``; return the paths written."""
    manifest = load(store, result["snapshot"])
    changed = result["added"] + result["modified"]
    return write_results(
        dest,
        {rel: manifest.files[rel] for rel in changed if rel in manifest.files},
        {rel: manifest.links[rel] for rel in changed if rel in manifest.links},
        result["deleted"],
        lambda sha, path: store.get_file(blob_key(sha), str(path)),
        apply_deletions=apply_deletions,
    )
