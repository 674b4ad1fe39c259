"""Contract of rclaude.ports.ObjectStore, for every implementation."""

from __future__ import annotations

import os

import pytest

from rclaude.errors import NotFoundError, ValidationError


def test_put_get_exists_delete(store):
    assert not store.exists("a/b.txt")
    store.put("a/b.txt", b"hello")
    assert store.exists("a/b.txt")
    assert store.get("a/b.txt") == b"hello"
    store.put("a/b.txt", b"replaced")
    assert store.get("a/b.txt") == b"replaced"
    store.delete("a/b.txt")
    assert not store.exists("a/b.txt")
    store.delete("a/b.txt")  # deleting twice is fine


def test_missing_key_is_not_found(store):
    with pytest.raises(NotFoundError):
        store.get("nope/missing")


def test_list_by_prefix_in_order(store):
    for k in ("snap/2", "snap/1", "blob/x", "snap/10"):
        store.put(k, k.encode())
    assert list(store.list("snap/")) == ["snap/1", "snap/10", "snap/2"]
    assert set(store.list("")) >= {"snap/1", "snap/2", "snap/10", "blob/x"}


def test_large_binary_file_roundtrip(store, tmp_path):
    data = os.urandom(6 * 1024 * 1024) + bytes(range(256))
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    store.put_file("big/blob", str(src))
    out = tmp_path / "out.bin"
    store.get_file("big/blob", str(out))
    assert out.read_bytes() == data


@pytest.mark.parametrize("key", ["../escape", "/abs/key", "a/../../b"])
def test_unsafe_keys_are_rejected(store, key):
    with pytest.raises(ValidationError):
        store.put(key, b"x")


def test_presign_is_none_or_url(store):
    store.put("p/k", b"x")
    url = store.presign("p/k")
    assert url is None or url.startswith(("http://", "https://"))
