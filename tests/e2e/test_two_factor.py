"""Two-factor sign-in in a real browser, with JavaScript on and off: a team leader is sent to
enrol after the password, scans (reads) the key, types a code, keeps the recovery codes; then signs
in with a code, is refused a code used before, and signs in once with a recovery code."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, ROOT, LiveServer

ALLOWED_CONSOLE = re.compile(r"status of 401")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A server of this module's own, requiring two-factor sign-in of the default roles (the
    shared one requires it of none)."""
    server = LiveServer(tmp_path_factory.mktemp("e2e-2fa"), env={"TWO_FACTOR_ROLES": ""})
    yield server
    server.stop()


@pytest.fixture
def page_errors():
    """A refused code answers 401, which Chromium logs as a console error: not a fault."""
    return lambda errors: [error for error in errors if not ALLOWED_CONSOLE.search(error)]


def create_user(server: LiveServer, username: str, role: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "create-user", username]
        + ["--role", role, "--email", f"{username}@example.com"],
        cwd=ROOT,
        env=server.env,
        input=PASSWORD + "\n",
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def password_step(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")


def enter_code(page, code: str) -> None:
    field = page.get_by_label("Authentication code")
    expect(field).to_be_focused()
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_enrol_then_sign_in_with_a_code_and_a_recovery_code(page, js, live_server):
    username = f"tf-lead-{'js' if js else 'nojs'}"
    create_user(live_server, username, "team-leader")

    # The password alone leads to enrolment, and nowhere else.
    password_step(page, username)
    expect(page).to_have_url(re.compile(r"/profile/two-factor"))
    expect(page.get_by_text("Your role requires two-factor sign-in")).to_be_visible()
    page.goto("/candidates")
    expect(page).to_have_url(re.compile(r"/profile/two-factor"))
    expect(page.locator("svg.qr")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Authentication code").click()
    page.keyboard.type(totp.now())
    page.get_by_role("button", name="Turn on two-factor").press("Enter")
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    recovery = codes.first.inner_text().strip()
    assert re.fullmatch(r"[2-9a-z]{4}-[2-9a-z]{4}", recovery)
    page.get_by_role("link", name=re.compile("I have kept my recovery codes")).click()
    expect(page.get_by_role("heading", level=1, name="Candidates")).to_be_visible()
    sign_out(page)

    # A code after the password (the next step's: enrolment spent the current one).
    next_code = totp.at(time.time() + 30)
    password_step(page, username)
    expect(page).to_have_url(re.compile(r"/login/code"))
    enter_code(page, next_code)
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    sign_out(page)

    # The same code again: refused, on the form.
    password_step(page, username)
    enter_code(page, next_code)
    expect(page.locator("#code-error")).to_contain_text("used already")
    expect(page.get_by_label("Authentication code")).to_have_attribute("aria-invalid", "true")

    # A recovery code works, once.
    page.get_by_label("Authentication code").fill("")
    enter_code(page, recovery)
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    expect(page.get_by_text("You signed in with a recovery code")).to_be_visible()
    sign_out(page)
    password_step(page, username)
    enter_code(page, recovery)
    expect(page.locator("#code-error")).to_contain_text("used already")
    page.goto("/candidates")
    expect(page).to_have_url(re.compile(r"/login"))


def test_reloading_the_recovery_codes_says_they_were_shown(page, js, live_server):
    """The codes come on the page a redirect leads to: Reload asks for it again (not the used
    code posted again, a failed sign-in), and is told they are shown once."""
    username = f"tf-reload-{'js' if js else 'nojs'}"
    create_user(live_server, username, "consultant")
    password_step(page, username)
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    page.goto("/profile/two-factor")
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text().strip())
    page.get_by_label("Authentication code").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor").click()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    for renewed in (False, True):
        page.reload()
        expect(page.locator("#codes-shown-already")).to_contain_text("are not shown again")
        expect(codes).to_have_count(0)
        expect(page.locator("#code-error")).to_have_count(0)
        if not renewed:
            # The next step's code: turning it on spent the current one.
            page.get_by_label("Authentication code").fill(totp.at(time.time() + 30))
            page.get_by_role("button", name="Make new recovery codes").click()
            expect(codes).to_have_count(10)
    expect(page.get_by_text("You have 10 unused recovery codes")).to_be_visible()
