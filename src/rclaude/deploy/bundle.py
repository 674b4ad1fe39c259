"""The deployment bundle: a deterministic tar.gz of every file the instances need.

The bundle holds project files under their project-relative paths plus
``.spot-bundle.json``: each file's sha256, size and mode, and the upload table (which
bundle file goes to which absolute destination, with mode and owner). The same input
always yields the same bytes (sorted members, zero mtimes and owners), so the bundle's
own sha256 names it in S3 and an unchanged project is never uploaded twice.

Everything here runs before any cloud call and refuses unsafe input: sources escaping
the project (``..``, absolute, symlinks out), destinations that are relative or use
``..``, tarballs whose checksum is wrong or whose members would escape on extraction.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import json
import os
import shlex
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from rclaude.deploy.agent.spot_agent import BUNDLE_MANIFEST, AgentError, check_members
from rclaude.deploy.discovery import SECRET_DIRS, Project
from rclaude.errors import ValidationError, Where
from rclaude.fsutil import safe_join

#: Directories never shipped, wherever they appear.
ALWAYS_EXCLUDED = {".git", ".spot", "__pycache__", ".venv", "node_modules", *SECRET_DIRS}


@dataclass
class BundleFile:
    path: str
    sha256: str
    size: int
    mode: str


@dataclass
class Bundle:
    """The built archive and what is in it (no secret is ever part of it)."""

    data: bytes
    files: list[BundleFile]
    uploads: list[dict] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def manifest(self) -> dict:
        return {"files": [f.__dict__ for f in self.files], "uploads": self.uploads}


def _check_dest(dest: str, where: str) -> PurePosixPath:
    p = PurePosixPath(dest)
    if not dest.startswith("/") or ".." in p.parts or "\x00" in dest:
        raise ValidationError(
            f"upload destination {dest!r} must be an absolute path without '..'",
            code="RC-DEPLOY-040",
            where=Where(key=where),
            hint="write destinations like /etc/myapp or /opt/myapp/config.yaml",
        )
    return p


def _source(project: Project, rel: str, key: str) -> Path:
    try:
        path = safe_join(project.root, rel, what="upload source")
    except ValidationError as exc:
        exc.where = Where(key=key)
        raise
    if not path.exists():
        raise ValidationError(
            f"{rel} does not exist in the project",
            code="RC-DEPLOY-041",
            where=Where(key=key),
            hint="fix the path (relative to the root)",
        )
    return path


def _excluded(rel: PurePosixPath, patterns: list[str]) -> bool:
    """True if ``rel`` (relative to the upload source) or any parent dir is excluded."""
    if any(part in ALWAYS_EXCLUDED for part in rel.parts):
        return True
    prefixes = [PurePosixPath(*rel.parts[: i + 1]) for i in range(len(rel.parts))]
    return any(
        fnmatch.fnmatch(pre.name, pat) or fnmatch.fnmatch(pre.as_posix(), pat)
        for pat in patterns
        for pre in prefixes
    )


def _walk(project: Project, src: Path, patterns: list[str], gitignore: bool = False) -> list[Path]:
    root = project.root.resolve()
    out = []
    candidates = [src] if src.is_file() else sorted(p for p in src.rglob("*"))
    if gitignore and src.is_dir():
        from rclaude.snapshot.ignore import walk

        kept = {rel for rel, _entry in walk(src)}
        candidates = [p for p in candidates if p.relative_to(src).as_posix() in kept]
    for p in candidates:
        rel = p.relative_to(root)
        inner = (
            PurePosixPath(p.name) if src.is_file() else PurePosixPath(p.relative_to(src).as_posix())
        )
        if _excluded(inner, patterns):
            continue
        if p.is_symlink():
            real = p.resolve()
            if root not in real.parents:
                raise ValidationError(
                    f"{rel} is a symlink pointing out of the project",
                    code="RC-DEPLOY-042",
                    hint="copy the file in instead",
                )
        if p.is_file():
            out.append(p)
    return out


def script_file(project: Project, command: str) -> str | None:
    """The project-relative file a script command runs, or None for a plain command."""
    try:
        first = shlex.split(command)[0]
    except (ValueError, IndexError):
        return None
    if first.startswith("/") or "/" not in first and not first.endswith(".sh"):
        return None
    path = safe_join(project.root, first, what="script")
    return first if path.is_file() else None


def collect(project: Project) -> tuple[list[Path], list[dict]]:
    """Files to ship and the upload table; validates every path first."""
    root = project.root.resolve()
    spec = project.spec
    files: dict[str, Path] = {}
    uploads = []
    for i, up in enumerate(spec.uploads):
        key = f"deployment.uploads.{i}"
        dest = _check_dest(up.dest, key + ".dest")
        src = _source(project, up.source, key + ".source")
        entries = []
        for p in _walk(project, src, up.exclude, up.gitignore):
            rel = p.relative_to(root).as_posix()
            files[rel] = p
            inner = p.relative_to(src) if src.is_dir() else None
            target = (
                dest / inner.as_posix()
                if inner is not None
                else (dest / p.name if up.dest.endswith("/") else dest)
            )
            entries.append({"path": rel, "target": str(target)})
        uploads.append(
            {
                "source": up.source,
                "dest": up.dest,
                "mode": up.mode,
                "owner": up.owner,
                "files": entries,
            }
        )
    for i, s in enumerate(spec.script_list()):
        rel = script_file(project, s.command)
        if rel:
            files[rel] = _source(project, rel, f"deployment.scripts.{i}")
    for i, svc in enumerate(spec.services):
        files[svc.file] = _source(project, svc.file, f"deployment.services.{i}.file")
    if spec.compose_file:
        src = _source(project, spec.compose_file, "deployment.compose_file")
        for p in _walk(project, src.parent, []):
            files[p.relative_to(root).as_posix()] = p
    if spec.tarball and spec.tarball.path:
        files[spec.tarball.path] = _source(project, spec.tarball.path, "deployment.tarball.path")
    return [files[k] for k in sorted(files)], uploads


def build(project: Project, handlers: tuple | None = None) -> Bundle:
    """Build the bundle for ``project`` (deterministic bytes).

    ``handlers`` (name, callable) transform files first; None = the installed
    ``rclaude.deploy.file_handlers`` plugins.
    """
    from rclaude.deploy.plugins import transform_file

    root = project.root.resolve()
    paths, uploads = collect(project)
    entries: list[BundleFile] = []
    blobs: list[tuple[str, bytes, int]] = []
    for p in paths:
        data = transform_file(p, p.read_bytes(), handlers)
        mode = 0o755 if os.access(p, os.X_OK) else 0o644
        rel = p.relative_to(root).as_posix()
        entries.append(BundleFile(rel, hashlib.sha256(data).hexdigest(), len(data), f"0{mode:o}"))
        blobs.append((rel, data, mode))
    manifest = json.dumps(
        {"files": [e.__dict__ for e in entries], "uploads": uploads}, indent=1, sort_keys=True
    ).encode()
    blobs.append((BUNDLE_MANIFEST, manifest, 0o644))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in sorted(blobs):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return Bundle(gzip.compress(raw.getvalue(), compresslevel=9, mtime=0), entries, uploads)


def check_tarball(project: Project, *, fetch_remote: bool = True) -> str | None:
    """Verify the manifest's tarball: checksum and safe members. Returns its sha256.

    A local ``path`` is always checked; a ``url`` is downloaded when ``fetch_remote``
    (``validate`` and ``create`` do, so a wrong checksum fails before any AWS call).
    """
    t = project.spec.tarball
    if t is None:
        return None
    expected = t.checksum.removeprefix("sha256:")
    key = "deployment.tarball"
    if t.path:
        data_path = _source(project, t.path, key + ".path")
        _verify_archive(data_path, expected, t.path, key)
        return expected
    if not fetch_remote:
        return expected
    import urllib.request

    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "release.tar.gz"
        try:
            with urllib.request.urlopen(t.url, timeout=60) as resp, open(dest, "wb") as out:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
        except OSError as exc:
            raise ValidationError(
                f"tarball {t.url} is not reachable: {exc}",
                code="RC-DEPLOY-043",
                where=Where(key=key + ".url"),
                hint="check the URL (and network) or use 'path:'",
            ) from None
        _verify_archive(dest, expected, t.url, key)
    return expected


def _verify_archive(path: Path, expected: str, label: str, key: str) -> None:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != expected:
        raise ValidationError(
            f"tarball {label} has sha256 {h.hexdigest()}, expected {expected}",
            code="RC-DEPLOY-044",
            where=Where(key=key + ".checksum"),
            hint="update checksum: to the published sha256 of the release",
        )
    try:
        with tarfile.open(path, "r:*") as tar:
            check_members(tar)
    except AgentError as exc:
        raise ValidationError(
            f"tarball {label}: {exc}", code="RC-DEPLOY-045", where=Where(key=key)
        ) from None
    except tarfile.TarError as exc:
        raise ValidationError(
            f"tarball {label} is not a tar archive: {exc}",
            code="RC-DEPLOY-046",
            where=Where(key=key),
        ) from None
