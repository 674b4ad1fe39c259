"""The browser terminal end to end: sign-in, a live bash, colours, resize, copy,
reload mid-stream, and a task started from the CLI watched and driven in the browser."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import time

import pytest

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def start_task(page, server, command: str) -> str:
    page.goto(server.url + "/")
    page.fill("#new-command", command)
    page.click("#new-submit")
    page.wait_for_url("**/tasks/*")
    poll(page, "() => !!(window.rclaude && window.rclaude.socket)")
    return page.url.rsplit("/", 1)[1]


def poll(page, js: str, arg=None, timeout: float = 20.0):
    """Evaluate ``js`` until truthy. (``wait_for_function`` would need 'unsafe-eval',
    which the app's CSP rightly forbids; ``evaluate`` goes through DevTools instead.)"""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(js, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true in {timeout}s: {js}")
        time.sleep(0.05)


def wait_output(page, text: str, timeout: float = 20.0) -> None:
    poll(page, "t => window.rclaude.output.includes(t)", text, timeout)


def type_line(page, line: str) -> None:
    page.click("#terminal")
    page.keyboard.type(line)
    page.keyboard.press("Enter")


def buffer_lines(page) -> list[str]:
    return page.evaluate("""() => {
        const b = window.rclaude.term.buffer.active, out = [];
        for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
        return out;
    }""")


def test_sign_in_by_magic_link_then_bash_with_colours_resize_and_copy(browser, web_server):
    ctx = browser.new_context(viewport={"width": 1200, "height": 800})
    page = ctx.new_page()
    sign_in(page, web_server, "first-visit@example.com")  # (/api/me answers 401 before)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    start_task(page, web_server, "bash --norc --noprofile")
    page.wait_for_selector("#task-state:has-text('running')")
    type_line(page, "echo answer=$((6*7))")
    wait_output(page, "answer=42")
    assert any(line.startswith("answer=42") for line in buffer_lines(page))

    type_line(page, r"printf '\e[31mRED\e[0m\n'")
    wait_output(page, "\x1b[31mRED")
    red = page.evaluate("""() => {
        const b = window.rclaude.term.buffer.active;
        for (let i = 0; i < b.length; i++) {
            const line = b.getLine(i);
            if (line.translateToString(true) === 'RED') {
                const cell = line.getCell(0);
                return {palette: cell.isFgPalette(), colour: cell.getFgColor()};
            }
        }
        return null;
    }""")
    assert red == {"palette": True, "colour": 1}  # ANSI red, rendered as a colour

    page.set_viewport_size({"width": 700, "height": 420})
    poll(page, "() => window.rclaude.term.cols < 100")
    cols, rows = page.evaluate("[window.rclaude.term.cols, window.rclaude.term.rows]")
    type_line(page, "echo size=$(stty size | tr ' ' x)")
    wait_output(page, f"size={rows}x{cols}")

    page.evaluate("window.rclaude.term.selectAll()")
    assert "answer=42" in page.evaluate("window.rclaude.term.getSelection()")

    type_line(page, "exit 0")
    page.wait_for_selector("#task-state:has-text('succeeded')")
    assert page.evaluate("window.rclaude.final.exit_status") == 0
    assert problems == []  # no script error, nothing blocked by the CSP
    ctx.close()


def test_reload_mid_stream_shows_every_byte_exactly_once(page, web_server):
    tid = start_task(
        page, web_server, "bash -c 'for i in $(seq 1 400); do echo n-$i; sleep 0.01; done'"
    )
    wait_output(page, "n-60\r\n")
    page.reload()
    poll(page, "() => !!(window.rclaude && window.rclaude.final)", timeout=30)
    expected = [f"n-{i}" for i in range(1, 401)]
    assert page.evaluate("window.rclaude.output").splitlines() == expected
    assert [ln for ln in buffer_lines(page) if ln] == expected
    assert page.url.endswith(tid)


def test_task_started_from_the_cli_is_watched_and_driven_in_the_browser(
    page, context, web_server, tmp_path
):
    token = web_server.api_token("browser-user@example.com")  # same user as the browser
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLAUDE_")}
    env.update(
        {
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "RCLAUDE_SERVER__URL": web_server.url,
            "RCLAUDE_SERVER_TOKEN": token,
            "RCLAUDE_DATA_DIR": str(tmp_path / "local"),
        }
    )
    project = tmp_path / "proj"
    project.mkdir()
    cmd = ["sh", "-c", "read who; echo hello-$who | tee greeting.txt"]
    run = subprocess.run(
        [sys.executable, "-m", "rclaude.cli", "run", "-d", "greet", "--", *cmd],
        env=env,
        cwd=project,
        capture_output=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    tid = run.stdout.decode().strip()

    page.goto(web_server.url + "/")
    row = page.wait_for_selector(f"tr[data-task='{tid}']")
    assert "greet" in row.inner_text()
    page.click(f"tr[data-task='{tid}'] a")
    page.wait_for_selector("#task-state:has-text('running')")
    type_line(page, "browser")
    wait_output(page, "hello-browser")
    page.wait_for_selector("#task-state:has-text('succeeded')")
    link = page.wait_for_selector("#task-download:not([hidden])")
    archive = context.request.get(web_server.url + link.get_attribute("href"))
    with tarfile.open(fileobj=io.BytesIO(archive.body())) as tar:
        assert tar.extractfile("greeting.txt").read() == b"hello-browser\n"

    nap = subprocess.run(
        [sys.executable, "-m", "rclaude.cli", "run", "-d", "--no-sync", "--", "sleep", "60"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    page.goto(f"{web_server.url}/tasks/{nap.stdout.decode().strip()}")
    page.wait_for_selector("#task-state:has-text('running')")
    page.click("#task-cancel")
    page.wait_for_selector("#task-state:has-text('cancelled')")


def test_start_form_uploads_a_project_folder(page, web_server, tmp_path):
    project = tmp_path / "myproj"
    (project / "sub").mkdir(parents=True)
    (project / "hello.txt").write_text("from the folder\n")
    (project / "sub" / "x.bin").write_bytes(bytes(range(256)))
    page.goto(web_server.url + "/")
    page.set_input_files("#new-project", str(project))
    page.fill("#new-command", "sh -c 'cat hello.txt; md5sum sub/x.bin'")
    page.click("#new-submit")
    page.wait_for_url("**/tasks/*")
    poll(page, "() => !!(window.rclaude && window.rclaude.final)")
    out = page.evaluate("window.rclaude.output")
    # bytes 0..255 survive the browser's hashing and upload unchanged
    assert out == "from the folder\r\ne2c865db4162bed963bfaa9ef6ac18f0  sub/x.bin\r\n"
