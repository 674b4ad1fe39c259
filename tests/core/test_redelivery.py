"""A worker killed mid-task: the lease expires, attempt 2 runs, attempt 1 stays readable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.support.waiting import wait_for


def test_kill_9_worker_leads_to_attempt_2_and_correct_final_state(cli):
    cli.env["RCLAUDE_TASKS__VISIBILITY_TIMEOUT"] = "2"
    script = (
        'echo "attempt $RCLAUDE_ATTEMPT started"; sleep 2; echo "attempt $RCLAUDE_ATTEMPT done"'
    )
    tid = cli("run", "-d", "--no-pty", "--", "sh", "-c", script).stdout.decode().strip()
    wait_for(lambda: b"attempt 1 started" in cli("logs", tid).stdout)
    for pid in cli.worker_pids():
        os.kill(pid, signal.SIGKILL)
    # A follower keeps following: it reconciles (starting a new worker) and switches attempts.
    follow = subprocess.run(
        cli.argv("logs", tid, "-f"), env=cli.env, capture_output=True, timeout=60
    )
    assert follow.returncode == 0, follow.stderr
    assert b"attempt 2 done" in follow.stdout
    st = cli.json("status", tid, "--json")
    assert st["state"] == "succeeded" and st["attempt"] == 2
    assert [(a["number"], a["state"]) for a in st["attempts"]] == [(1, "lost"), (2, "succeeded")]
    first = cli("logs", tid, "--attempt", "1").stdout
    assert b"attempt 1 started" in first and b"attempt 1 done" not in first


def test_worker_lost_every_time_ends_failed_via_dead_letter(cli):
    cli.env["RCLAUDE_TASKS__VISIBILITY_TIMEOUT"] = "1"
    tid = (
        cli(
            "run",
            "-d",
            "--max-attempts",
            "1",
            "--no-pty",
            "--",
            "sh",
            "-c",
            "echo started; sleep 30",
        )
        .stdout.decode()
        .strip()
    )
    wait_for(lambda: b"started" in cli("logs", tid).stdout)
    for pid in cli.worker_pids():
        os.kill(pid, signal.SIGKILL)
    follow = subprocess.run(
        cli.argv("logs", tid, "-f"), env=cli.env, capture_output=True, timeout=60
    )
    assert follow.returncode == 1
    st = cli.json("status", tid, "--json")
    assert st["state"] == "failed"
    assert "dead-letter" in st["reason"]


def test_sigterm_drains_a_running_task(cli):
    tid = (
        cli("run", "-d", "--no-pty", "--", "sh", "-c", "echo begin; sleep 1; echo end")
        .stdout.decode()
        .strip()
    )
    wait_for(lambda: b"begin" in cli("logs", tid).stdout)
    (pid,) = cli.worker_pids()
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: json.loads(cli("status", tid, "--json").stdout)["state"] == "succeeded")
    assert cli("logs", tid).stdout == b"begin\nend\n"
    wait_for(lambda: not cli.worker_pids(), timeout=10)


def test_a_worker_that_lost_its_lease_stops_its_attempt(cli, tmp_path):
    """A worker stalls (SIGSTOP) past the visibility timeout; another worker takes the
    task over as attempt 2. When the first one wakes, its heartbeat finds the lease gone
    and it kills attempt 1 instead of letting it run on beside attempt 2."""
    cli.env["RCLAUDE_TASKS__VISIBILITY_TIMEOUT"] = "2"
    marker = tmp_path / "attempt-1-ran-on"
    script = (
        'echo "attempt $RCLAUDE_ATTEMPT started"; '
        f'if [ "$RCLAUDE_ATTEMPT" = 1 ]; then sleep 23.5; touch {marker}; fi'
    )
    tid = cli("run", "-d", "--no-pty", "--", "sh", "-c", script).stdout.decode().strip()
    wait_for(lambda: b"attempt 1 started" in cli("logs", tid).stdout)
    (first,) = cli.worker_pids()
    os.kill(first, signal.SIGSTOP)
    # The stalled worker still looks alive and busy, so nothing would scale up: start a
    # second one, which leases the message once its visibility timeout has passed.
    second = subprocess.Popen(
        [sys.executable, "-m", "rclaude.worker", "--idle-timeout", "3"],
        env=cli.env,
        cwd=cli.project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: b"attempt 2 started" in cli("logs", tid, "--attempt", "2").stdout)
    finally:
        os.kill(first, signal.SIGCONT)

    def sleeping() -> bool:
        # (anchored: a worker forked from the CLI shows the CLI's command line)
        ps = subprocess.run(["pgrep", "-f", r"^sleep 23\.5$"], capture_output=True)
        return ps.returncode == 0

    wait_for(lambda: not sleeping(), timeout=15)  # killed well before its 23.5 s
    second.wait(30)
    st = wait_for(lambda: (st := cli.json("status", tid, "--json"))["state"] == "succeeded" and st)
    assert st["state"] == "succeeded" and st["attempt"] == 2
    lost = [a for a in st["attempts"] if a["number"] == 1]
    assert lost and lost[0]["state"] == "lost"
    assert lost[0]["reason"].startswith("lease lost")  # ended by its own worker
    time.sleep(1)
    assert not marker.exists()
