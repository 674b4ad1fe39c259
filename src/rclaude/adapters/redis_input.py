"""The Redis log's input listener: a file descriptor that wakes the worker on input."""

from __future__ import annotations

import os
import threading

from rclaude.errors import BackendError

#: Longest XREAD BLOCK of the listener thread (so ``close`` takes effect soon).
BLOCK_MS = 500


def _seq(entry_id: bytes | str) -> int:
    raw = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(raw.split("-", 1)[0])


class InputListener:
    """Readable (``fileno``) when input arrives for a task.

    A daemon thread runs ``XREAD BLOCK`` on the task's input stream, starting from the
    newest event at creation, and writes one byte to a pipe per batch of new events.
    Do not use ``fileno()`` after ``close()``.
    """

    def __init__(self, log, task_id: str) -> None:
        """``log`` is the RedisOutputLog whose input stream of ``task_id`` to watch."""
        self._log = log
        self._key = log.keys.input(task_id)
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self._stop = threading.Event()
        try:
            self._after = log.last_input_seq(task_id)
        except BackendError:
            self._after = 0
        self._thread = threading.Thread(target=self._run, name=f"input-{task_id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._listen()
        finally:
            for fd in (self._rfd, self._wfd):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                rows = self._log._xread(self._key, self._after, BLOCK_MS, 100)
            except self._log._errors:
                self._stop.wait(0.2)
                continue
            except Exception:
                if self._stop.is_set():
                    return
                self._stop.wait(0.2)
                continue
            if rows:
                self._after = _seq(rows[-1][0])
                try:
                    os.write(self._wfd, b"!")
                except (BlockingIOError, OSError):
                    pass  # the pipe is full (already readable) or closed

    def fileno(self) -> int:
        return self._rfd

    def drain(self) -> bool:
        got = False
        while True:
            try:
                if not os.read(self._rfd, 4096):
                    return got
                got = True
            except (BlockingIOError, OSError):
                return got

    def close(self) -> None:
        """Stop listening. Returns at once: the thread finishes its current XREAD BLOCK
        (at most ``BLOCK_MS``) and then closes the pipe itself."""
        self._stop.set()

    def __enter__(self) -> InputListener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
