"""Interactive use through a real pseudo-terminal: attach, type, detach."""

from __future__ import annotations

import os
import pty
import select
import time


def read_until(fd: int, needle: bytes, timeout: float = 20, count: int = 1) -> bytes:
    buf = b""
    end = time.time() + timeout
    while buf.count(needle) < count and time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            buf += data
    return buf


def spawn(cli, *args):
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cli.project)
        os.execve(cli.argv()[0], cli.argv(*args), cli.env)
    return pid, fd


def test_attach_to_cat_echoes_typed_input_and_detaches(cli):
    tid = cli("run", "-d", "cat-task", "--", "cat").stdout.decode().strip()
    pid, fd = spawn(cli, "attach", "cat-task")
    try:
        time.sleep(1.0)  # attach puts the terminal in raw mode and starts following
        os.write(fd, b"hello from the keyboard\r")
        out = read_until(fd, b"hello from the keyboard", count=2)
        # The PTY echoes the line and cat prints it once more.
        assert out.count(b"hello from the keyboard") >= 2, out
        os.write(fd, b"\x1d")  # Ctrl-] detaches
        out = read_until(fd, b"detached")
        assert b"detached" in out
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.close(fd)
    # The task still runs after detaching, and everything typed is in its log.
    assert cli.json("status", tid, "--json")["state"] == "running"
    log = cli("logs", tid).stdout
    assert log.count(b"hello from the keyboard") == 2
    cli("stop", tid, check=True)


def test_resize_reaches_the_command(cli):
    tid = cli("run", "-d", "--", "bash", "-c", "read line; stty size").stdout.decode().strip()
    from rclaude.config.schema import Config
    from rclaude.platform import Platform

    p = Platform(Config(data_dir=cli.root / "data"))
    task = p.service.get(tid)
    p.service.resize(task, 132, 43)
    p.service.send_input(task, b"go\r")
    out = cli("logs", tid, "-f").stdout
    assert b"43 132" in out
    p.close()


def test_ctrl_c_reaches_the_foreground_process_through_the_terminal(cli):
    """The command owns its terminal (controlling tty, foreground group): a typed ^C is
    turned into SIGINT by the terminal itself, as in a local shell."""
    tid = cli("run", "-d", "--", "sh", "-c", "tty; exec sleep 60").stdout.decode().strip()
    from rclaude.config.schema import Config
    from rclaude.platform import Platform

    p = Platform(Config(data_dir=cli.root / "data"))
    try:
        deadline = time.time() + 30
        while b"/dev/pts/" not in cli("logs", tid).stdout and time.time() < deadline:
            time.sleep(0.1)
        p.service.send_input(p.service.get(tid), b"\x03")
        r = cli("logs", tid, "-f")
        assert r.returncode == 128 + 2  # killed by SIGINT
        assert cli.json("status", tid, "--json")["signal"] == 2
    finally:
        p.close()
