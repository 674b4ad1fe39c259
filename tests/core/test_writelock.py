"""The SQLite write lock: re-entrant in a thread, exclusive across threads and processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from rclaude.adapters.writelock import for_database


def other_process_can_lock(path: str) -> bool:
    code = (
        "import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n fcntl.flock(fd, fcntl.LOCK_EX|fcntl.LOCK_NB); print('free')\n"
        "except BlockingIOError: print('held')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, path], capture_output=True, text=True, check=True
    )
    return out.stdout.strip() == "free"


def test_reentrant_and_exclusive(tmp_path):
    db = str(tmp_path / "x.db")
    lock = for_database(db)
    assert for_database(db) is lock  # one lock per file per process
    with lock:
        with lock:  # a thread may nest
            assert not other_process_can_lock(db + ".lock")
        assert not other_process_can_lock(db + ".lock")  # still held by the outer level
        got = []
        t = threading.Thread(target=lambda: (lock.acquire(), got.append(1), lock.release()))
        t.start()
        t.join(0.2)
        assert got == []  # another thread waits
    t.join(5)
    assert got == [1]
    assert other_process_can_lock(db + ".lock")
    os.close(os.open(db + ".lock", os.O_RDONLY))  # the lock file exists, mode 0600
    assert os.stat(db + ".lock").st_mode & 0o777 == 0o600


def test_many_processes_write_without_losing_anything(tmp_path):
    script = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from rclaude.adapters.sqlite_db import SqliteDB\n"
        "from rclaude.adapters.sqlite_queue import SqliteQueue\n"
        "from rclaude.doorbell import Doorbells\n"
        "from rclaude.model import QueueMessage\n"
        "db = SqliteDB(sys.argv[1], '')\n"
        "q = SqliteQueue(db, Doorbells(sys.argv[1]))\n"
        "for i in range(200): q.send(QueueMessage(task_id=f't{i}'))\n"
    )
    db = str(tmp_path / "q.db")
    src = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "src")
    procs = [subprocess.Popen([sys.executable, "-c", script, db, src]) for _ in range(4)]
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    from rclaude.adapters.sqlite_db import SqliteDB
    from rclaude.adapters.sqlite_queue import SqliteQueue
    from rclaude.doorbell import Doorbells

    assert SqliteQueue(SqliteDB(db, ""), Doorbells(db)).depth() == 800
