"""`rclaude run` end to end: queue → worker → output log → CLI, through the real CLI."""

from __future__ import annotations

import hashlib
import json

GEN = (
    "import hashlib,sys\n"
    "out=sys.stdout.buffer\n"
    "for i in range(10*1024*1024//32):\n"
    "    out.write(hashlib.sha256(i.to_bytes(4,'big')).digest())\n"
)


def expected_10mb() -> bytes:
    return b"".join(
        hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(10 * 1024 * 1024 // 32)
    )


def test_echo_hello_streams_back(cli):
    r = cli("run", "--", "echo", "hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout.replace(b"\r\n", b"\n") == b"hello\n"


def test_exit_code_propagates(cli):
    r = cli("run", "--", "bash", "-c", "echo out; exit 7")
    assert r.returncode == 7
    assert b"out" in r.stdout


def test_signal_gives_128_plus_signal(cli):
    r = cli("run", "--no-pty", "--", "sh", "-c", "kill -TERM $$")
    assert r.returncode == 128 + 15
    task = cli.json("list", "--all", "--json")[0]
    assert task["signal"] == 15 and task["state"] == "failed"


def test_ten_megabytes_arrive_byte_exact_over_pipes(cli):
    r = cli("run", "--no-pty", "--", "python3", "-c", GEN, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == 10 * 1024 * 1024
    assert r.stdout == expected_10mb()


def test_ten_megabytes_arrive_byte_exact_over_a_raw_pty(cli):
    script = f'stty raw -echo; python3 -c "{GEN}"'
    r = cli("run", "--", "bash", "-c", script, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected_10mb()


def test_unicode_survives(cli):
    text = "héllo 世界 🚀 ñ"
    r = cli("run", "--no-pty", "--", "printf", "%s\\n", text)
    assert r.stdout.decode("utf-8") == text + "\n"


def test_timeout_gives_timed_out(cli):
    r = cli("run", "t-slow", "--timeout", "1", "--", "sleep", "30")
    assert r.returncode == 124
    st = cli.json("status", "t-slow", "--json")
    assert st["state"] == "timed_out"
    assert "timed out" in st["reason"]


def test_timeout_kills_the_whole_process_group(cli, tmp_path):
    marker = tmp_path / "grandchild-alive"
    script = f"(sleep 3; touch {marker}) & sleep 30"
    r = cli("run", "--timeout", "1", "--", "bash", "-c", script)
    assert r.returncode == 124
    import time

    time.sleep(3.5)
    assert not marker.exists(), "a grandchild survived the timeout"


def test_env_and_task_identity(cli):
    r = cli(
        "run",
        "--no-pty",
        "-e",
        "GREETING=hi there",
        "--",
        "sh",
        "-c",
        'echo "$GREETING $RCLAUDE_ATTEMPT"',
    )
    assert r.stdout == b"hi there 1\n"


def test_detach_then_logs_and_status(cli):
    r = cli("run", "-d", "job-1", "--no-pty", "--", "sh", "-c", "echo one; echo two")
    assert r.returncode == 0
    tid = r.stdout.decode().strip()
    f = cli("logs", "job-1", "-f")
    assert f.returncode == 0
    assert f.stdout == b"one\ntwo\n"
    st = cli.json("status", tid, "--json")
    assert st["id"] == tid and st["spec"]["name"] == "job-1" and st["state"] == "succeeded"
    assert [a["state"] for a in st["attempts"]] == ["succeeded"]
    lines = [json.loads(x) for x in cli("logs", tid, "--json").stdout.splitlines()]
    assert [x["seq"] for x in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["kind"] == "final"


def test_files_written_and_deleted_show_in_results(cli, tmp_path):
    (cli.project / "keep.txt").write_text("keep\n")
    (cli.project / "gone.txt").write_text("bye\n")
    (cli.project / "edit.txt").write_text("v1\n")
    blob = bytes(range(256)) * 100 + b"\x00\xff\r\n"
    (cli.project / "data.bin").write_bytes(blob)
    (cli.project / ".gitignore").write_text("ignored.log\n")
    (cli.project / "ignored.log").write_text("never uploaded")
    script = (
        "test ! -e ignored.log && cp data.bin copy.bin && rm gone.txt && "
        "echo v2 > edit.txt && mkdir -p sub && echo new > sub/new.txt"
    )
    r = cli("run", "files", "--no-pty", "--", "sh", "-c", script)
    assert r.returncode == 0, r.stdout + r.stderr
    res = cli("results", "files")
    assert res.stdout.decode().splitlines() == [
        "A copy.bin",
        "A sub/new.txt",
        "M edit.txt",
        "D gone.txt",
    ]
    out = tmp_path / "download"
    cli("results", "files", "--download", str(out), check=True)
    assert (out / "copy.bin").read_bytes() == blob
    assert (out / "sub/new.txt").read_text() == "new\n"
    assert (out / "edit.txt").read_text() == "v2\n"
    assert not (out / "keep.txt").exists()


def test_stop_cancels_a_running_task(cli):
    import subprocess
    import time

    tid = cli("run", "-d", "--", "sleep", "60").stdout.decode().strip()
    follower = subprocess.Popen(cli.argv("logs", tid, "-f"), env=cli.env, stdout=subprocess.PIPE)
    deadline = time.time() + 30
    while cli.json("status", tid, "--json")["state"] != "running" and time.time() < deadline:
        time.sleep(0.1)
    assert cli("stop", tid).returncode == 0
    assert follower.wait(30) == 130
    assert cli.json("status", tid, "--json")["state"] == "cancelled"


def test_name_in_use_while_active_is_a_conflict(cli):
    cli("run", "-d", "dup", "--", "sleep", "30", check=True)
    r = cli("run", "dup", "--", "true")
    assert r.returncode == 73
    assert b"RC-TASK-003" in r.stderr
    cli("stop", "dup", check=True)
