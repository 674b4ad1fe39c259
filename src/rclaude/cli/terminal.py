"""Streaming a task to this terminal: follow, and interactive attach (raw mode).

Attach forwards keystrokes as input events, follows the window size (SIGWINCH → resize
event), and detaches on Ctrl-] without stopping the task.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading

from rclaude.model import ChunkKind
from rclaude.service import exit_status

DETACH_KEY = b"\x1d"  # Ctrl-]


def _notice(text: str) -> None:
    sys.stderr.write(
        f"\r\n\x1b[2m── {text} ──\x1b[0m\r\n" if sys.stderr.isatty() else f"-- {text} --\n"
    )
    sys.stderr.flush()


def stream(
    svc,
    task,
    *,
    attempt: int | None = None,
    after_seq: int = 0,
    quiet: bool = False,
    on_idle=None,
    stop: threading.Event | None = None,
) -> int | None:
    """Copy output to stdout until the FINAL chunk; return the shell exit status."""
    out = sys.stdout.buffer
    for ev in svc.follow(task, attempt=attempt, after_seq=after_seq, on_idle=on_idle):
        if stop is not None and stop.is_set():
            return None
        if ev.new_attempt:
            if not quiet:
                _notice(f"attempt {ev.attempt} (the previous worker was lost)")
            continue
        ch = ev.chunk
        if ch.kind is ChunkKind.OUTPUT:
            out.write(ch.data)
            out.flush()
        elif ch.kind is ChunkKind.FINAL:
            info = ch.final_info()
            if not quiet and info.get("state") not in ("succeeded", "failed", None):
                _notice(f"{info.get('state')}: {info.get('reason') or ''}".strip(": "))
            return exit_status(info)
    return None


def attach(svc, task, *, replay: bool = True, on_idle=None) -> int | None:
    """Interactive session: raw terminal, keystrokes to the task, Ctrl-] detaches."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    if not os.isatty(fd):
        return stream(svc, task, on_idle=on_idle)
    saved = termios.tcgetattr(fd)
    detached = threading.Event()
    result: dict = {}

    def send_size(*_):
        size = shutil.get_terminal_size()
        try:
            svc.resize(task, size.columns, size.lines)
        except Exception:
            pass

    def pump_output():
        after = 0
        if not replay:
            chunks = list(svc.read(task))
            after = chunks[-1].seq if chunks else 0
        result["code"] = stream(svc, task, after_seq=after, on_idle=on_idle, stop=detached)
        detached.set()
        try:
            os.write(wake_w, b"x")
        except OSError:
            pass  # the input loop has already finished

    wake_r, wake_w = os.pipe()
    old_winch = signal.signal(signal.SIGWINCH, send_size)
    tty.setraw(fd)
    send_size()
    t = threading.Thread(target=pump_output, daemon=True)
    t.start()
    import select

    try:
        while not detached.is_set():
            ready, _, _ = select.select([fd, wake_r], [], [], 1.0)
            if fd in ready:
                data = os.read(fd, 4096)
                if not data:
                    break
                if DETACH_KEY in data:
                    before = data.split(DETACH_KEY, 1)[0]
                    if before:
                        svc.send_input(task, before)
                    detached.set()
                    break
                svc.send_input(task, data)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, old_winch)
        os.close(wake_r)
        os.close(wake_w)
    if "code" not in result:
        _notice(
            f"detached from {task.name or task.id}; `rclaude attach {task.name or task.id}` to return"
        )
        return None
    return result["code"]
