"""Embedded ``ObjectStore``: a directory on disk (see ``rclaude.ports.ObjectStore``).

Keys map to files under the root; writes go to a temp file and are renamed into place,
so readers never see a partial object. Keys are validated so none can escape the root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from rclaude.errors import NotFoundError
from rclaude.fsutil import atomic_write, check_relative


class FsObjectStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        check_relative(key, what="object key")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        atomic_write(self._path(key), data, mode=0o600)

    def put_file(self, key: str, path: str) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        shutil.copyfile(path, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"object '{key}' not found", code="RC-STORE-001") from None

    def get_file(self, key: str, path: str) -> None:
        src = self._path(key)
        if not src.exists():
            raise NotFoundError(f"object '{key}' not found", code="RC-STORE-001")
        shutil.copyfile(src, path)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = []
        for dirpath, _dirs, files in os.walk(self.root):
            for f in files:
                if f.startswith(".") and f.endswith(".tmp"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), self.root).replace(os.sep, "/")
                if rel.startswith(prefix):
                    keys.append(rel)
        yield from sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def presign(self, key: str, method: str = "GET", expires: int = 300) -> str | None:
        return None

    def close(self) -> None:
        pass
