"""REST API for tasks: submit, list, get, cancel, input, output (long poll), results.

Every handler resolves the caller first and passes ``owner=user.id`` to the
``TaskService``: a task of someone else is indistinguishable from a missing one (404).
Blocking service calls run in worker threads, never on the event loop.
"""

from __future__ import annotations

import base64
from dataclasses import replace

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from rclaude.errors import ConflictError, NotFoundError, ValidationError
from rclaude.model import ACTIVE_STATES, TaskSpec, TaskState
from rclaude.server import http, logstream

#: Spec fields a client may set; everything else is decided by the server.
_SPEC_FIELDS = {
    "command",
    "name",
    "env",
    "timeout",
    "pty",
    "cols",
    "rows",
    "max_attempts",
    "snapshot_id",
    "backend",
    "aws_mode",
    "prompt",
    "repo",
    "branch",
    "labels",
}


def _svc(request: Request):
    return request.app.state.platform.service


def task_json(task) -> dict:
    d = task.to_dict()
    d["exit_status"] = None
    if task.state.terminal:
        from rclaude.service import exit_status

        d["exit_status"] = exit_status(
            {"state": task.state.value, "exit_code": task.exit_code, "signal": task.signal}
        )
    return d


def chunk_json(ch) -> dict:
    return {
        "seq": ch.seq,
        "kind": ch.kind.value,
        "ts": ch.ts,
        "data": base64.b64encode(ch.data).decode(),
    }


async def list_tasks(request: Request) -> Response:
    user = await http.require_user(request)
    q = request.query_params
    states = None
    if q.get("states") == "active":
        states = ACTIVE_STATES
    elif q.get("states"):
        try:
            states = [TaskState(s) for s in q["states"].split(",")]
        except ValueError:
            raise ValidationError(f"unknown state in {q['states']!r}", code="RC-API-003") from None
    limit = min(max(int(q.get("limit", "100") or 100), 1), 1000)
    tasks = await to_thread.run_sync(
        lambda: _svc(request).list(owner=user.id, states=states, limit=limit)
    )
    return JSONResponse([task_json(t) for t in tasks])


async def submit(request: Request) -> Response:
    user = await http.require_user(request)
    body = await http.json_body(request)
    raw = body.get("spec", body)
    if not isinstance(raw, dict):
        raise ValidationError("'spec' must be an object", code="RC-API-001")
    unknown = set(raw) - _SPEC_FIELDS
    if unknown:
        raise ValidationError(
            f"unknown task field(s): {', '.join(sorted(unknown))}",
            code="RC-API-004",
            hint=f"allowed: {', '.join(sorted(_SPEC_FIELDS))}",
        )
    if isinstance(raw.get("command"), str):
        import shlex

        raw = raw | {"command": shlex.split(raw["command"])}
    try:
        spec = TaskSpec.from_dict(raw)
    except TypeError as exc:
        raise ValidationError(f"invalid task: {exc}", code="RC-API-005") from None
    if not all(isinstance(a, str) for a in spec.command):
        raise ValidationError("command must be a list of strings", code="RC-API-005")
    platform = request.app.state.platform
    if spec.snapshot_id:
        from rclaude import snapshot

        exists = await to_thread.run_sync(
            platform.store.exists, snapshot.manifest_key(spec.snapshot_id)
        )
        if not exists:
            raise NotFoundError(
                f"no snapshot {spec.snapshot_id}",
                code="RC-SNAP-004",
                hint="upload the project first (POST /api/snapshots)",
            )
    if not raw.get("backend"):
        spec = replace(spec, backend=platform.config.backend)
    # Scale up at once when this server runs the orchestrator; otherwise leave it to the
    # external one (``serve --no-orchestrator``).
    scale = request.app.state.orchestrator
    task = await to_thread.run_sync(
        lambda: _svc(request).submit(spec, owner=user.id, reconcile=scale)
    )
    return JSONResponse(task_json(task), status_code=201)


async def _task(request: Request, user):
    return await to_thread.run_sync(_svc(request).get, request.path_params["ref"], user.id)


async def get_task(request: Request) -> Response:
    user = await http.require_user(request)
    return JSONResponse(task_json(await _task(request, user)))


async def attempts(request: Request) -> Response:
    user = await http.require_user(request)
    task = await _task(request, user)
    rows = await to_thread.run_sync(_svc(request).attempts, task)
    return JSONResponse([a.__dict__ | {"state": a.state.value} for a in rows])


async def cancel(request: Request) -> Response:
    user = await http.require_user(request)
    task = await to_thread.run_sync(_svc(request).cancel, request.path_params["ref"], user.id)
    return JSONResponse(task_json(task))


async def send_input(request: Request) -> Response:
    user = await http.require_user(request)
    body = await http.json_body(request)
    task = await _task(request, user)
    svc = _svc(request)
    if "cols" in body or "rows" in body:
        cols, rows = int(body.get("cols", 0)), int(body.get("rows", 0))
        if not (1 <= cols <= 1000 and 1 <= rows <= 1000):
            raise ValidationError("cols and rows must be 1..1000", code="RC-API-006")
        await to_thread.run_sync(svc.resize, task, cols, rows)
    if "data" in body:
        try:
            data = base64.b64decode(body["data"], validate=True)
        except (ValueError, TypeError):
            raise ValidationError("'data' must be base64", code="RC-API-007") from None
        await to_thread.run_sync(svc.send_input, task, data)
    return JSONResponse({"ok": True})


async def output(request: Request) -> Response:
    """Long poll: chunks of ``attempt`` after ``after_seq``, waiting up to ``wait`` s."""
    user = await http.require_user(request)
    task = await _task(request, user)
    q = request.query_params
    try:
        attempt = int(q.get("attempt") or 0) or max(task.attempt, 1)
        after = int(q.get("after_seq") or 0)
        wait = min(max(float(q.get("wait") or 0), 0.0), 30.0)
    except ValueError:
        raise ValidationError(
            "attempt, after_seq and wait must be numbers", code="RC-API-008"
        ) from None
    platform = request.app.state.platform
    if wait > 0:
        batch = await logstream.read_once(platform, task, attempt, after, wait)
        chunks = batch.chunks if batch else []
    else:
        chunks = await to_thread.run_sync(platform.log.read, task.id, attempt, after, 64)
    latest = await to_thread.run_sync(platform.tasks.get, task.id)
    return JSONResponse(
        {"attempt": attempt, "chunks": [chunk_json(c) for c in chunks], "task": task_json(latest)}
    )


def _result_manifest(platform, task):
    from rclaude import snapshot

    if not task.result:
        raise ConflictError(
            f"task {task.id} has no results yet ({task.state.value})",
            code="RC-TASK-007",
            hint="wait for it to finish",
        )
    return snapshot.load(platform.store, task.result["snapshot"])


async def results(request: Request) -> Response:
    """The task's changes and, for each added/modified path, its blob sha and mode."""
    user = await http.require_user(request)
    task = await _task(request, user)
    platform = request.app.state.platform
    manifest = await to_thread.run_sync(_result_manifest, platform, task)
    r = task.result
    files = {
        rel: manifest.files[rel] for rel in r["added"] + r["modified"] if rel in manifest.files
    }
    links = {rel: manifest.links[rel] for rel in r["added"] if rel in manifest.links}
    return JSONResponse(r | {"files": files, "links": links})


async def result_blob(request: Request) -> Response:
    """One blob of a task's results (only blobs the task's result manifest names)."""
    from rclaude import snapshot

    user = await http.require_user(request)
    task = await _task(request, user)
    platform = request.app.state.platform
    manifest = await to_thread.run_sync(_result_manifest, platform, task)
    sha = request.path_params["sha"]
    if not any(info["sha"] == sha for info in manifest.files.values()):
        raise NotFoundError(
            f"task {task.id} has no file with content {sha[:12]}", code="RC-API-009"
        )
    url = await to_thread.run_sync(platform.store.presign, snapshot.blob_key(sha), "GET", 300)
    if url:
        return Response(status_code=307, headers={"location": url})
    data = await to_thread.run_sync(platform.store.get, snapshot.blob_key(sha))
    return Response(data, media_type="application/octet-stream")


async def results_archive(request: Request) -> Response:
    """A tar.gz of the added and modified files (the web UI's download button)."""
    import io
    import tarfile

    from rclaude import snapshot

    user = await http.require_user(request)
    task = await _task(request, user)
    platform = request.app.state.platform
    manifest = await to_thread.run_sync(_result_manifest, platform, task)
    r = task.result

    def build() -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for rel in r["added"] + r["modified"]:
                info = manifest.files.get(rel)
                if info is None:
                    continue
                data = platform.store.get(snapshot.blob_key(info["sha"]))
                ti = tarfile.TarInfo(rel)
                ti.size, ti.mode = len(data), info["mode"] & 0o777
                tar.addfile(ti, io.BytesIO(data))
        return buf.getvalue()

    data = await to_thread.run_sync(build)
    name = f"{task.name or task.id}-results.tar.gz"
    return StreamingResponse(
        iter([data]),
        media_type="application/gzip",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
