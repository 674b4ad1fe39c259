"""``RemoteTaskService``: the HTTP twin of ``TaskService`` for a CLI pointed at a server.

Same method names, arguments and return types as :class:`rclaude.service.TaskService`
as used by the CLI (``submit``, ``get``, ``list``, ``attempts``, ``cancel``,
``send_input``, ``resize``, ``follow``, ``read``, ``download_results``), so
``rclaude run/list/logs -f/attach/stop/results`` behave and exit the same way.

- Auth: the API token stored by ``rclaude login`` for this server (or
  ``RCLAUDE_SERVER_TOKEN``), sent as ``Authorization: Bearer``; never in a URL.
- Errors: the server answers ``{"error": {code, message, hint, kind}}``; the client
  raises the same ``RclaudeError`` subclass, so exit codes match the embedded mode.
- ``submit(project=…)`` scans the project locally and uploads only the blobs the
  server lacks, then the manifest.
- ``follow`` long-polls ``/output`` and applies the same attempt-switching rules as
  ``TaskService.follow``.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rclaude import errors
from rclaude.model import Attempt, Chunk, ChunkKind, Task, TaskSpec, TaskState
from rclaude.service import FollowEvent

TOKEN_ENV = "RCLAUDE_SERVER_TOKEN"
POLL_WAIT = 20.0


def credentials_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("rclaude", appauthor=False)) / "credentials.json"


def load_credentials() -> dict[str, Any]:
    try:
        return json.loads(credentials_path().read_text())
    except (FileNotFoundError, ValueError):
        return {}


def save_credentials(data: dict[str, Any]) -> None:
    from rclaude.fsutil import atomic_write

    atomic_write(credentials_path(), json.dumps(data, indent=2), mode=0o600)


def server_key(url: str) -> str:
    return url.rstrip("/").lower()


def token_for(url: str) -> str | None:
    return os.environ.get(TOKEN_ENV) or load_credentials().get(server_key(url), {}).get("token")


def raise_for(resp) -> None:
    if resp.status_code < 400:
        return
    try:
        err = resp.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise errors.BackendError(
            f"server answered {resp.status_code} for {resp.request.url.path}", code="RC-CLIENT-002"
        ) from None
    cls = getattr(errors, str(err.get("kind")), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.RclaudeError)):
        cls = errors.BackendError
    raise cls(err.get("message", "server error"), code=err.get("code"), hint=err.get("hint"))


class RemoteTaskService:
    def __init__(self, config, *, token: str | None = None, client=None) -> None:
        import httpx

        self.config = config
        self.url = config.server.url.rstrip("/")
        self.token = token or token_for(self.url)
        if not self.token:
            raise errors.AuthError(
                f"not signed in to {self.url}",
                code="RC-AUTH-006",
                hint=f"run: rclaude login --server {self.url}",
            )
        self.http = client or httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(30.0, read=POLL_WAIT + 15),
            headers={"authorization": f"Bearer {self.token}"},
        )

    # -- transport ---------------------------------------------------------------
    def _call(self, method: str, path: str, **kw) -> Any:
        import httpx

        try:
            resp = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise errors.BackendError(
                f"cannot reach {self.url}: {exc.__class__.__name__}",
                code="RC-CLIENT-001",
                hint="check server.url and that the server runs",
            ) from None
        raise_for(resp)
        return resp

    def _json(self, method: str, path: str, **kw) -> Any:
        return self._call(method, path, **kw).json()

    # -- submit / query -----------------------------------------------------------
    def submit(
        self,
        spec: TaskSpec,
        *,
        project: Path | None = None,
        owner: str | None = None,
        reconcile: bool = True,
    ) -> Task:
        from dataclasses import replace

        if project is not None:
            spec = replace(spec, snapshot_id=self.upload_project(Path(project)))
        body = {k: v for k, v in spec.to_dict().items() if k != "extra"}
        return Task.from_dict(self._json("POST", "/api/tasks", json={"spec": body}))

    def upload_project(self, root: Path) -> str:
        """Snapshot ``root`` and upload what the server lacks; returns the snapshot id."""
        from rclaude import snapshot

        manifest = snapshot.scan(root)
        by_sha = {info["sha"]: rel for rel, info in manifest.files.items()}
        plan = self._json("POST", "/api/snapshots/missing", json={"shas": sorted(by_sha)})
        for up in plan["uploads"]:
            path = root / by_sha[up["sha"]]
            with open(path, "rb") as fh:
                if up.get("presigned"):
                    import httpx

                    raise_for(httpx.put(up["url"], content=fh, timeout=300))
                else:
                    self._call(
                        "PUT",
                        up["url"],
                        content=fh,
                        headers={"content-type": "application/octet-stream"},
                    )
        out = self._json(
            "POST", "/api/snapshots", json={"files": manifest.files, "links": manifest.links}
        )
        return out["snapshot_id"]

    def get(self, ref: str, owner: str | None = None) -> Task:
        return Task.from_dict(self._json("GET", f"/api/tasks/{_q(ref)}"))

    def list(self, *, owner: str | None = None, states=None, limit: int = 100) -> list[Task]:
        params: dict[str, Any] = {"limit": limit}
        if states is not None:
            params["states"] = ",".join(TaskState(s).value for s in states)
        return [Task.from_dict(d) for d in self._json("GET", "/api/tasks", params=params)]

    def attempts(self, task: Task) -> list[Attempt]:
        rows = self._json("GET", f"/api/tasks/{task.id}/attempts")
        return [Attempt(**(r | {"state": TaskState(r["state"])})) for r in rows]

    # -- control -------------------------------------------------------------------
    def cancel(self, ref: str, owner: str | None = None) -> Task:
        return Task.from_dict(self._json("POST", f"/api/tasks/{_q(ref)}/cancel"))

    def send_input(self, task: Task, data: bytes) -> None:
        self._call(
            "POST", f"/api/tasks/{task.id}/input", json={"data": base64.b64encode(data).decode()}
        )

    def resize(self, task: Task, cols: int, rows: int) -> None:
        self._call("POST", f"/api/tasks/{task.id}/input", json={"cols": cols, "rows": rows})

    # -- output --------------------------------------------------------------------
    def _poll(self, task: Task, attempt: int, after_seq: int, wait: float):
        d = self._json(
            "GET",
            f"/api/tasks/{task.id}/output",
            params={"attempt": attempt, "after_seq": after_seq, "wait": wait},
        )
        chunks = [
            Chunk(c["seq"], ChunkKind(c["kind"]), base64.b64decode(c["data"]), c["ts"])
            for c in d["chunks"]
        ]
        return chunks, Task.from_dict(d["task"])

    def follow(
        self,
        task: Task,
        *,
        attempt: int | None = None,
        after_seq: int = 0,
        on_idle: Callable[[], None] | None = None,
    ) -> Iterator[FollowEvent]:
        """As ``TaskService.follow``: chunks of the current attempt until FINAL."""
        fixed = attempt is not None
        cur = attempt or max(task.attempt, 1)
        while True:
            chunks, latest = self._poll(task, cur, after_seq, POLL_WAIT)
            switched = False
            for ch in chunks:
                after_seq = ch.seq
                yield FollowEvent(cur, ch)
                if ch.kind is ChunkKind.FINAL:
                    if fixed or ch.final_info().get("state") != TaskState.LOST.value:
                        return
                    cur, after_seq, switched = cur + 1, 0, True
                    yield FollowEvent(cur, new_attempt=True)
                    break
            if not chunks and not switched:
                if not fixed and latest.attempt > cur:
                    cur, after_seq = latest.attempt, 0
                    yield FollowEvent(cur, new_attempt=True)
                elif on_idle:
                    on_idle()

    def read(self, task: Task, attempt: int | None = None, after_seq: int = 0) -> Iterator[Chunk]:
        cur = attempt or max(task.attempt, 1)
        while True:
            chunks, _ = self._poll(task, cur, after_seq, 0)
            if not chunks:
                return
            yield from chunks
            after_seq = chunks[-1].seq

    def download_results(
        self, task: Task, dest: Path, *, apply_deletions: bool = False
    ) -> list[str]:
        from rclaude.fsutil import atomic_write
        from rclaude.snapshot import write_results

        r = self._json("GET", f"/api/tasks/{task.id}/results")

        def fetch(sha: str, path: Path) -> None:
            url = f"/api/tasks/{task.id}/blobs/{sha}"
            atomic_write(path, self._call("GET", url, follow_redirects=True).content, mode=0o600)

        return write_results(
            dest, r["files"], r["links"], r["deleted"], fetch, apply_deletions=apply_deletions
        )

    def close(self) -> None:
        self.http.close()


def _q(ref: str) -> str:
    from urllib.parse import quote

    return quote(ref, safe="")
