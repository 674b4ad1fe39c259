"""Playwright driving Debian's headless Chromium against a real ``rclaude serve``."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.server.support import Server, base_env, free_port

CHROMIUM = os.environ.get("RCLAUDE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DIST = os.path.join(
    os.path.dirname(__file__), "..", "..", "src", "rclaude", "server", "static", "dist", "app.js"
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def web_server(tmp_path_factory):
    if not os.path.exists(DIST):
        pytest.fail("the web UI is not built: run scripts/build-web.sh")
    root = tmp_path_factory.mktemp("web")
    env = base_env(root) | {"RCLAUDE_SERVER__LOGIN_LIMIT": "1000"}  # many sign-ins, one IP
    srv = Server(root, free_port(), env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (scripts/apt-packages.txt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def sign_in(page, server: Server, email: str) -> None:
    """The user's path: the sign-in form, then the link from the mail."""
    page.goto(server.url + "/")
    page.wait_for_url("**/login")
    page.fill("#email", email)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-note:has-text('link is on its way')")
    link = f"{server.url}/login#token={server.magic_token(email)}"
    page.goto(link)
    page.wait_for_url(server.url + "/")
    page.wait_for_selector(f"header .who:has-text('{email}')")


@pytest.fixture(scope="session")
def context(browser, web_server):
    ctx = browser.new_context(viewport={"width": 1200, "height": 800})
    page = ctx.new_page()
    sign_in(page, web_server, "browser-user@example.com")
    page.close()
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    p = context.new_page()
    yield p
    p.close()
