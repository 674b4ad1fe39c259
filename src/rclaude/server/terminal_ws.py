"""The WebSocket of one task: replay its output log from a seq, then stream it live;
carry keystrokes and resizes to the worker.

URL: ``/api/tasks/{ref}/terminal?attempt=N&after_seq=S&flow=ack[&fixed=1]``

``attempt`` and ``after_seq`` say where to start (a reconnecting client passes the last
seq it rendered); later attempts follow unless ``fixed=1`` pins that one attempt.

Upgrade checks, before anything is sent: the Origin must be this server's (a browser
always sends one); a request without Origin must carry a bearer token (not a cookie);
the caller must be signed in; the task must be theirs. Refusals are HTTP responses to
the upgrade (403 / 401 / 404) when the ASGI server supports denial responses, else a
close with code 4403 / 4401 / 4404 right after accepting.

Server → client:
- binary frame ``[u32 big-endian seq][bytes]``: terminal output up to and including
  chunk ``seq`` of the current attempt (consecutive chunks are coalesced);
- text ``{"type": "hello", "task": {...}, "attempt": n}`` first, then
  ``{"type": "attempt", "attempt": n}`` when the task is redelivered (seqs restart),
  ``{"type": "event", "seq": s, "data": "…"}`` for event chunks, and finally
  ``{"type": "final", "seq": s, "info": {...}, "exit_status": n}`` before a normal close.

Client → server: binary frames are keystrokes; text frames are
``{"type": "resize", "cols": c, "rows": r}`` and, with ``flow=ack``,
``{"type": "ack", "seq": s}`` once the bytes up to ``s`` have been rendered.

Flow control: with ``flow=ack`` the server stops reading the log while more than
``WINDOW`` bytes are unacknowledged and resumes on the next ack (pause/resume, as
xterm.js recommends). Without it, each send awaits the transport's drain (the
ASGI server's bounded write buffer), so a client that reads slowly slows the
sender. Either way nothing is queued in server memory beyond one batch: the output
log is the buffer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct

from anyio import to_thread
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from rclaude.errors import NotFoundError, RclaudeError
from rclaude.model import ChunkKind, InputKind
from rclaude.server import http, logstream
from rclaude.service import exit_status

log = logging.getLogger("rclaude.server")

WINDOW = 2 * 1024 * 1024
MAX_FRAME = 256 * 1024
MAX_INPUT = 64 * 1024


async def _refuse(ws: WebSocket, status: int, message: str) -> None:
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(
            Response(message, status_code=status, media_type="text/plain")
        )
    else:
        await ws.accept()
        await ws.close(code=4000 + status, reason=message)


def _int(value: str | None, default: int | None) -> int | None:
    try:
        return default if value in (None, "") else max(0, int(value))
    except ValueError:
        return default


class _Flow:
    """Acknowledged-bytes window: ``sent`` grows as frames go out, ``acked`` on acks."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.frames: list[tuple[int, int]] = []  # (seq, size) not yet acknowledged
        self.unacked = 0
        self.opened = asyncio.Event()
        self.opened.set()

    def sent(self, seq: int, size: int) -> None:
        if self.enabled:
            self.frames.append((seq, size))
            self.unacked += size
            if self.unacked > WINDOW:
                self.opened.clear()

    def ack(self, seq: int) -> None:
        while self.frames and self.frames[0][0] <= seq:
            self.unacked -= self.frames.pop(0)[1]
        if self.unacked <= WINDOW:
            self.opened.set()

    def reset(self) -> None:
        self.frames.clear()
        self.unacked = 0
        self.opened.set()


async def terminal(ws: WebSocket) -> None:
    app = ws.app
    if not http.origin_ok(ws):
        log.warning("websocket refused: foreign origin %r", ws.headers.get("origin"))
        return await _refuse(ws, 403, "origin not allowed")
    user, how = await to_thread.run_sync(http.authenticate, ws)
    if user is None or (how == "cookie" and ws.headers.get("origin") is None):
        return await _refuse(ws, 401, "sign in first")
    svc = app.state.platform.service
    try:
        task = await to_thread.run_sync(svc.get, ws.path_params["ref"], user.id)
    except NotFoundError:
        return await _refuse(ws, 404, "no such task")
    except RclaudeError as exc:
        return await _refuse(ws, 400, exc.message)
    q = ws.query_params
    attempt = _int(q.get("attempt"), None) or None
    after_seq = _int(q.get("after_seq"), 0) or 0
    flow = _Flow(q.get("flow") == "ack")
    await ws.accept()
    metrics = app.state.metrics
    metrics.ws_clients.inc()
    cur = attempt or max(task.attempt, 1)
    try:
        await ws.send_text(
            json.dumps(
                {"type": "hello", "attempt": cur, "after_seq": after_seq, "task": _brief(task)}
            )
        )
        fixed = q.get("fixed") in ("1", "true")
        pump = asyncio.create_task(
            _pump(ws, app.state.platform, task, attempt, after_seq, flow, fixed)
        )
        reader = asyncio.create_task(_read_client(ws, svc, task, flow))
        done, pending = await asyncio.wait({pump, reader}, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            t.cancel()
        for t in done:
            if (
                not t.cancelled()
                and t.exception()
                and not isinstance(t.exception(), WebSocketDisconnect | RuntimeError)
            ):
                log.warning("websocket of task %s: %r", task.id, t.exception())
        if pump in done and not pump.cancelled() and pump.exception() is None:
            await ws.close(code=1000)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        metrics.ws_clients.dec()


def _brief(task) -> dict:
    return {
        "id": task.id,
        "name": task.name,
        "state": task.state.value,
        "attempt": task.attempt,
        "command": list(task.spec.command),
        "cols": task.spec.cols,
        "rows": task.spec.rows,
    }


async def _pump(
    ws: WebSocket, platform, task, attempt, after_seq, flow: _Flow, fixed: bool
) -> None:
    batches = logstream.follow(
        platform,
        task,
        attempt=attempt if fixed else None,
        start_attempt=attempt,
        after_seq=after_seq,
    )
    async for batch in batches:
        if batch.new_attempt:
            flow.reset()
            await ws.send_text(json.dumps({"type": "attempt", "attempt": batch.attempt}))
            continue
        out: list[bytes] = []
        size = 0
        last = 0
        for ch in batch.chunks:
            if ch.kind is ChunkKind.OUTPUT:
                out.append(ch.data)
                size += len(ch.data)
                last = ch.seq
                if size >= MAX_FRAME:
                    await _send_output(ws, flow, last, out)
                    out, size = [], 0
                continue
            if out:
                await _send_output(ws, flow, last, out)
                out, size = [], 0
            if ch.kind is ChunkKind.FINAL:
                info = ch.final_info()
                if info.get("state") == "lost" and not fixed:
                    continue  # the worker was lost: an "attempt" message follows
                await ws.send_text(
                    json.dumps(
                        {
                            "type": "final",
                            "seq": ch.seq,
                            "info": info,
                            "exit_status": exit_status(info),
                        }
                    )
                )
            else:
                await ws.send_text(
                    json.dumps(
                        {"type": "event", "seq": ch.seq, "data": ch.data.decode("utf-8", "replace")}
                    )
                )
        if out:
            await _send_output(ws, flow, last, out)


async def _send_output(ws: WebSocket, flow: _Flow, seq: int, parts: list[bytes]) -> None:
    await flow.opened.wait()
    data = b"".join(parts)
    await ws.send_bytes(struct.pack(">I", seq) + data)
    flow.sent(seq, len(data))


async def _read_client(ws: WebSocket, svc, task, flow: _Flow) -> None:
    log_port = svc.p.log
    while True:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            return
        data = msg.get("bytes")
        if data is not None:
            for start in range(0, len(data), MAX_INPUT):  # a big paste: several events
                await to_thread.run_sync(
                    log_port.send_input, task.id, InputKind.DATA, data[start : start + MAX_INPUT]
                )
            continue
        try:
            ctl = json.loads(msg.get("text") or "{}")
            kind = ctl.get("type")
            if kind == "ack":
                flow.ack(int(ctl["seq"]))
            elif kind == "resize":
                cols, rows = int(ctl["cols"]), int(ctl["rows"])
                if 1 <= cols <= 1000 and 1 <= rows <= 1000:
                    await to_thread.run_sync(svc.resize, task, cols, rows)
            elif kind == "input":  # text keystrokes for clients that cannot send binary
                raw = str(ctl.get("data", "")).encode()
                for start in range(0, len(raw), MAX_INPUT):
                    await to_thread.run_sync(
                        log_port.send_input, task.id, InputKind.DATA, raw[start : start + MAX_INPUT]
                    )
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a malformed control message is ignored, not fatal
