"""Browser tests: a real server on a free loopback port (its own SQLite database, the sandbox
gateway, the embedded dispatcher) driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = HERE / "screenshots"
PASSWORD = "sms-desk-demo"
# The browser's own background traffic is refused by this network; it only slows the tests.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(config, items):
    """Browser tests are reported as skipped, with the reason, only where Chromium is missing."""
    missing = pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH); "
        "browser tests need Debian's chromium package",
    )
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(missing)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The app served by waitress in a child process, with demo users and a known set of people."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = workdir / "e2e.sqlite3"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.database}",
            "SECRET_KEY": "e2e-secret-key",
            "SMS_PROVIDER": "sandbox",
            "SANDBOX": "1",  # the journeys reply as recipients on /sandbox
            "EMBEDDED_WORKER": "1",
            "PUBLIC_BASE_URL": self.url,
            "MAIL_PORT": "0",
            "SMS_DESK_LOG_LEVEL": "WARNING",
            # The journeys sign in as admin and lead with passwords alone (test_two_factor.py
            # starts a server of its own that requires two-factor sign-in as by default).
            "TWO_FACTOR_ROLES": "none",
            **(env or {}),
        }
        self.env.pop("FLASK_DEBUG", None)
        self.env.pop("DEMO_MODE", None)
        self.log = open(workdir / "server.log", "w")
        self.flask("db-upgrade")
        self.flask("seed-demo", "--candidates", "120", "--contacts", "30", "--clients", "5")
        self.flask("import", "candidates", str(HERE / "people.csv"))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "waitress",
                "--host",
                "127.0.0.1",
                f"--port={self.port}",
                "--threads",
                "8",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait()

    def flask(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            timeout=120,
        )

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited early; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start in 30 s")

    def forget_drafts(self) -> None:
        """Clear the SMS screens left open and unsent: Bulk SMS for the same people would reopen
        one, with what an earlier test typed in it."""
        with sqlite3.connect(self.database) as connection:
            connection.execute(
                "DELETE FROM compose_drafts WHERE id NOT IN "
                "(SELECT draft_id FROM batches WHERE draft_id IS NOT NULL)"
            )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("e2e"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_open_drafts(request):
    """Each browser test starts with no unsent SMS screen to reopen (see forget_drafts)."""
    if "live_server" in request.fixturenames:
        request.getfixturevalue("live_server").forget_drafts()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(params=["js", "nojs"])
def js(request) -> bool:
    """Each journey runs with JavaScript on and again with it off."""
    return request.param == "js"


@pytest.fixture
def context(browser, live_server, js):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=js, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page_errors():
    """Which of the errors a page reported fail the test: all of them, unless a module says less."""
    return lambda errors: errors


@contextmanager
def watched_page(context, *, allowed: re.Pattern | None = None, unexpected=lambda errors: errors):
    """A new page of `context` that fails the test, on leaving, if it reported a script error or a
    console error: bar the console lines `allowed` matches (Chromium logs every 4xx answer as one),
    and bar what `unexpected` leaves out of the list."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message) -> None:
        if message.type == "error" and not (allowed and allowed.search(message.text)):
            errors.append(f"{message.text} @ {message.location} on {page.url}")

    page.on("console", console)
    yield page
    assert not unexpected(errors), f"the page reported errors: {errors}"


@pytest.fixture
def page(context, page_errors):
    with watched_page(context, unexpected=page_errors) as page:
        yield page


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard**")  # the landing page; tests start from the search
    page.goto("/candidates")


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
