"""Snapshots: ignore rules, content addressing, byte-exact binaries, safety."""

from __future__ import annotations

import os

import pytest

from rclaude import snapshot
from rclaude.adapters.fs_store import FsObjectStore
from rclaude.errors import ValidationError


@pytest.fixture
def store(tmp_path):
    return FsObjectStore(tmp_path / "blobs")


def make_project(root):
    (root / "src").mkdir(parents=True)
    (root / "src/app.py").write_text("print('hi')\n")
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(root / "run.sh", 0o755)
    (root / "bin.dat").write_bytes(bytes(range(256)) * 40)
    (root / ".gitignore").write_text("*.log\nbuild/\n!keep.log\n")
    (root / "debug.log").write_text("x")
    (root / "keep.log").write_text("kept")
    (root / "build").mkdir()
    (root / "build/out.o").write_text("obj")
    (root / "src/.rclaudeignore").write_text("secret.txt\n")
    (root / "src/secret.txt").write_text("s3cret")
    (root / ".git").mkdir()
    (root / ".git/config").write_text("[core]")
    os.symlink("src/app.py", root / "link.py")
    os.symlink("/etc/passwd", root / "escape")


def test_ignore_rules_and_modes(store, tmp_path):
    proj = tmp_path / "p"
    make_project(proj)
    m = snapshot.scan(proj)
    assert sorted(m.files) == [
        ".gitignore",
        "bin.dat",
        "keep.log",
        "run.sh",
        "src/.rclaudeignore",
        "src/app.py",
    ]
    assert m.files["run.sh"]["mode"] == 0o755 and m.files["src/app.py"]["mode"] == 0o644
    assert m.links == {"link.py": "src/app.py"}  # the link out of the project is left out


def test_same_tree_same_id_and_no_reupload(store, tmp_path):
    proj = tmp_path / "p"
    make_project(proj)
    first = snapshot.create(store, proj)
    blobs = sorted(store.list("blobs/"))
    assert snapshot.create(store, proj) == first
    assert sorted(store.list("blobs/")) == blobs
    (proj / "src/app.py").write_text("print('changed')\n")
    second = snapshot.create(store, proj)
    assert second != first
    assert len(list(store.list("blobs/"))) == len(blobs) + 1


def test_materialize_and_collect_changes_byte_exact(store, tmp_path):
    proj = tmp_path / "p"
    make_project(proj)
    sid = snapshot.create(store, proj)
    ws = tmp_path / "ws"
    mat = snapshot.materialize(store, sid, ws)
    assert (ws / "bin.dat").read_bytes() == (proj / "bin.dat").read_bytes()
    assert os.stat(ws / "run.sh").st_mode & 0o777 == 0o755
    assert os.readlink(ws / "link.py") == "src/app.py"
    (ws / "new.bin").write_bytes(b"\x00\x01\xfe\xff" * 1000)
    os.unlink(ws / "keep.log")
    (ws / "src/app.py").write_text("edited\n")
    res = snapshot.collect_changes(store, mat)
    assert (res["added"], res["modified"], res["deleted"]) == (
        ["new.bin"],
        ["src/app.py"],
        ["keep.log"],
    )
    out = tmp_path / "out"
    snapshot.download(store, res, out)
    assert (out / "new.bin").read_bytes() == b"\x00\x01\xfe\xff" * 1000


def test_materialize_refuses_paths_that_escape(store, tmp_path):
    evil = snapshot.Manifest(files={"../evil.txt": {"sha": "0" * 64, "size": 1, "mode": 0o644}})
    store.put(snapshot.manifest_key(evil.id), evil.canonical())
    with pytest.raises(ValidationError):
        snapshot.materialize(store, evil.id, tmp_path / "ws")
    assert not (tmp_path / "evil.txt").exists()


def test_materialize_skips_links_that_escape(store, tmp_path):
    m = snapshot.Manifest(links={"a/up": "../../outside", "ok": "a"})
    store.put(snapshot.manifest_key(m.id), m.canonical())
    snapshot.materialize(store, m.id, tmp_path / "ws")
    assert not os.path.lexists(tmp_path / "ws/a/up")
    assert os.readlink(tmp_path / "ws/ok") == "a"


def test_too_many_files_is_a_clear_error(store, tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "MAX_FILES", 3)
    for i in range(5):
        (tmp_path / f"f{i}").write_text("x")
    with pytest.raises(ValidationError) as e:
        snapshot.scan(tmp_path)
    assert e.value.code == "RC-SNAP-001" and ".rclaudeignore" in e.value.hint
