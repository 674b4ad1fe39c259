"""Run one command under a pseudo-terminal (or pipes) and pump its I/O.

The command runs in its own session and process group, so a timeout or cancel kills
the whole group (SIGTERM, then SIGKILL after a grace period). Output is read as soon as
it is available and coalesced (up to ``MAX_BATCH`` bytes per log append) so a fast
producer costs few log writes. Input events (keystrokes, resize, signals, cancel) are
applied as they arrive; once the command has lived a moment, the caller's ``listen`` gives
the fd that makes the loop notice them at once.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass

from rclaude.model import InputEvent, InputKind

READ_SIZE = 64 * 1024
MAX_BATCH = 256 * 1024
#: Streaming detection and coalescing (see Process._read_batch).
STREAMING_SIZE = 4096  # a batch this large filled the terminal's buffer: output streams
STREAMING_GAP = 0.002
COALESCE_WAIT = 0.001
STREAM_BATCH = 64 * 1024


@dataclass
class Outcome:
    exit_code: int | None
    signal: int | None
    timed_out: bool = False
    cancelled: bool = False
    error: str | None = None


@functools.lru_cache(maxsize=256)
def _cached_which(name: str, path: str | None) -> str | None:
    return shutil.which(name, path=path)


def _which(name: str, path: str | None) -> str | None:
    """``shutil.which`` remembered per (name, PATH): a worker runs the same few commands
    over and over. A remembered path that has disappeared is looked up again."""
    exe = _cached_which(name, path)
    if exe is not None and not os.access(exe, os.X_OK):
        _cached_which.cache_clear()
        exe = _cached_which(name, path)
    return exe


@functools.cache
def _setsid_with_ctty() -> str | None:
    """util-linux ``setsid`` if it supports ``--ctty`` (Linux), else None."""
    path = shutil.which("setsid")
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if "--ctty" in out.stdout + out.stderr else None


def set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Process:
    """A started command. Call :meth:`pump` to run it to completion."""

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: str,
        env: dict[str, str],
        pty: bool,
        cols: int = 80,
        rows: int = 24,
    ) -> None:
        self.pty = pty
        self.pid = 0
        self.popen: subprocess.Popen | None = None
        exe = _which(argv[0], env.get("PATH")) if "/" not in argv[0] else argv[0]
        if exe is None or not os.access(exe, os.X_OK):
            raise FileNotFoundError(argv[0])
        if pty:
            master, slave = os.openpty()
            set_winsize(master, cols, rows)
            setsid = _setsid_with_ctty()
            if setsid:
                # vfork+exec of util-linux setsid, which makes the command a session
                # leader with this terminal as its controlling tty: ~0.25 ms instead of
                # ~1.6 ms to fork the whole worker.
                try:
                    self.popen = subprocess.Popen(
                        [setsid, "--ctty", *argv],
                        cwd=cwd,
                        env=env,
                        stdin=slave,
                        stdout=slave,
                        stderr=slave,
                        close_fds=True,
                    )
                finally:
                    os.close(slave)
                pid = self.popen.pid
            else:
                pid = self._fork_pty(exe, argv, cwd, env, master, slave)
            self.pid = pid
            self.out_fd = master
            self.in_fd = master
        else:
            self.popen = subprocess.Popen(
                [exe, *argv[1:]],
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.pid = self.popen.pid
            self.out_fd = self.popen.stdout.fileno()
            self.in_fd = self.popen.stdin.fileno()
        os.set_blocking(self.out_fd, False)
        self._status: int | None = None
        self._last_batch = 0
        self._last_emit = 0.0

    @staticmethod
    def _fork_pty(
        exe: str, argv: list[str], cwd: str, env: dict[str, str], master: int, slave: int
    ) -> int:
        """Fork and exec under the terminal (no setsid binary on this system)."""
        errr, errw = os.pipe()  # close-on-exec: reports exec failure to the parent
        pid = os.fork()
        if pid == 0:  # child: only async-signal-safe-ish work until exec
            try:
                os.close(master)
                os.close(errr)
                os.login_tty(slave)
                os.chdir(cwd)
                os.execve(exe, argv, env)
            except BaseException as exc:
                try:
                    os.write(errw, str(getattr(exc, "errno", 0) or 1).encode())
                finally:
                    os._exit(127)
        os.close(slave)
        os.close(errw)
        failure = os.read(errr, 32)
        os.close(errr)
        if failure:
            os.waitpid(pid, 0)
            os.close(master)
            raise OSError(int(failure), os.strerror(int(failure)), argv[0])
        return pid

    # -- control ----------------------------------------------------------------
    def kill_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _reap(self, block: bool = False) -> bool:
        if self._status is not None:
            return True
        try:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self._status = 0
            return True
        if pid == 0:
            return False
        self._status = status
        if self.popen is not None:
            self.popen.returncode = os.waitstatus_to_exitcode(status)
        return True

    def _write_input(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 5
        while view and time.monotonic() < deadline:
            try:
                n = os.write(self.in_fd, view)
                view = view[n:]
            except BlockingIOError:
                select.select([], [self.in_fd], [], 0.05)
            except OSError:
                return  # the process closed its input

    def apply(self, ev: InputEvent) -> str | None:
        """Apply one input event; returns "cancel" when the task must be cancelled."""
        if ev.kind is InputKind.DATA:
            if not ev.data and not self.pty and self.popen and self.popen.stdin:
                self.popen.stdin.close()  # empty data on pipes = end of input
            else:
                self._write_input(ev.data)
        elif ev.kind is InputKind.RESIZE and self.pty and ev.cols and ev.rows:
            set_winsize(self.in_fd, ev.cols, ev.rows)  # the kernel sends SIGWINCH
        elif ev.kind is InputKind.SIGNAL and ev.data:
            self.kill_group(int(ev.data))
        elif ev.kind is InputKind.CANCEL:
            return "cancel"
        return None

    # -- the I/O loop -----------------------------------------------------------
    def pump(
        self,
        *,
        emit: Callable[[bytes], None],
        listen: Callable[[], int] | None,
        on_wake: Callable[[], list[InputEvent]],
        timeout: float | None,
        kill_grace: float = 5.0,
        should_stop: Callable[[], bool] = lambda: False,
        on_running: Callable[[], None] | None = None,
        running_after: float = 0.02,
    ) -> Outcome:
        """Run to completion. When the command has lived ``running_after`` seconds or
        printed something, ``on_running`` is called once and ``listen`` returns the fd
        that becomes readable when input arrives, whereupon ``on_wake`` returns the new
        input events (it is also called right after ``listen``). A command that ends
        sooner costs neither a state write nor a listener."""
        start = time.monotonic()
        announce_at = start + running_after if (on_running or listen) else None
        deadline = start + timeout if timeout else None
        kill_at: float | None = None
        timed_out = cancelled = False
        eof = False
        exited_at: float | None = None
        fds = [self.out_fd]
        wake_fd: int | None = None

        def apply_input() -> None:
            nonlocal cancelled, kill_at
            for ev in on_wake():
                if self.apply(ev) == "cancel" and not cancelled:
                    cancelled = True
                    self.kill_group(signal.SIGTERM)
                    kill_at = time.monotonic() + kill_grace

        def announce() -> None:
            nonlocal wake_fd
            if on_running:
                on_running()
            if listen:
                wake_fd = listen()
                fds.append(wake_fd)
                apply_input()

        while True:
            now = time.monotonic()
            if deadline and not timed_out and not cancelled and now >= deadline:
                timed_out = True
                self.kill_group(signal.SIGTERM)
                kill_at = now + kill_grace
            if kill_at and now >= kill_at:
                self.kill_group(signal.SIGKILL)
                kill_at = None
            if not cancelled and should_stop():
                cancelled = True
                self.kill_group(signal.SIGTERM)
                kill_at = now + kill_grace
            if eof or (exited_at and now - exited_at > 0.2):
                break
            if announce_at and now >= announce_at:
                announce_at = None
                announce()
            wait = 1.0
            for t in (deadline if not timed_out else None, kill_at, announce_at):
                if t:
                    wait = min(wait, max(0.0, t - now))
            if exited_at is None and self._reap():
                exited_at = now  # drain what is left, then finish
                wait = min(wait, 0.05)
            ready, _, _ = select.select(fds, [], [], wait)
            if self.out_fd in ready:
                batch, eof = self._read_batch()
                if batch:
                    emit(batch)
                    if announce_at:
                        announce_at = None
                        announce()
                    if exited_at:
                        exited_at = time.monotonic()
            if wake_fd is not None and wake_fd in ready:
                apply_input()
        if not self._reap():
            # Output closed but the leader lives on (e.g. closed its stdout): end it.
            if not (timed_out or cancelled):
                self._reap_wait(0.5)
            if not self._reap():
                self.kill_group(signal.SIGTERM)
                if not self._reap_wait(kill_grace):
                    self.kill_group(signal.SIGKILL)
                    self._reap(block=True)
        self.kill_group(signal.SIGHUP)  # hang up on leftovers still holding the terminal
        self._close()
        status = self._status or 0
        code = os.waitstatus_to_exitcode(status)
        sig = -code if code < 0 else None
        return Outcome(
            exit_code=None if sig else code, signal=sig, timed_out=timed_out, cancelled=cancelled
        )

    def abort(self) -> None:
        """Kill the whole group now, reap the leader and release the terminal/pipes
        (when the output can no longer be recorded)."""
        self.kill_group(signal.SIGKILL)
        self._reap(block=True)
        self._close()

    def _reap_wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the child to exit, woken by its exit (pidfd)."""
        if self._reap():
            return True
        try:
            pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # not Linux ≥ 5.3: poll
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if self._reap():
                    return True
                time.sleep(0.005)
            return self._reap()
        try:
            select.select([pidfd], [], [], seconds)
        finally:
            os.close(pidfd)
        return self._reap()

    def _read_batch(self) -> tuple[bytes, bool]:
        """What is readable now. While output streams (the last batch was large and
        recent) it also waits up to ``COALESCE_WAIT`` for more, up to ``STREAM_BATCH``
        bytes: fewer, larger log appends. A keystroke echo is never held back."""
        parts: list[bytes] = []
        size = 0
        now = time.monotonic()
        streaming = self._last_batch >= STREAMING_SIZE and now - self._last_emit < STREAMING_GAP
        hold_until = now + COALESCE_WAIT if streaming else 0.0
        while size < MAX_BATCH:
            try:
                data = os.read(self.out_fd, READ_SIZE)
            except BlockingIOError:
                left = hold_until - time.monotonic()
                if size >= STREAM_BATCH or left <= 0:
                    break
                select.select([self.out_fd], [], [], left)
                continue
            except OSError as exc:
                if exc.errno == errno.EIO:  # PTY: every writer closed the terminal
                    return b"".join(parts), True
                raise
            if not data:
                return b"".join(parts), True
            parts.append(data)
            size += len(data)
        self._last_batch, self._last_emit = size, time.monotonic()
        return b"".join(parts), False

    def _close(self) -> None:
        if not self.pty and self.popen is not None:
            for f in (self.popen.stdout, self.popen.stdin):
                try:
                    if f:
                        f.close()
                except OSError:
                    pass
        else:
            try:
                os.close(self.out_fd)
            except OSError:
                pass
