"""Where the focus goes after a refusal on the sign-in and profile pages, typed with real keys: a
wrong password back to Password (Username was filled, the error unheard), a refused profile save to
the summary, a wrong code on the two-factor page back to the code box (the three left it on the
body, or on the field already done)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, LiveServer
from tests.e2e.test_two_factor import create_user

REFUSED = re.compile(r"status of 40[01]")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A server of this module's own: its wrong passwords and codes count against the address the
    other browser tests sign in from (four here, under the five that lock it)."""
    server = LiveServer(tmp_path_factory.mktemp("e2e-focus"))
    yield server
    server.stop()


@pytest.fixture
def page_errors():
    """A refused form answers 400 or 401, which Chromium logs as a console error: not a fault."""
    return lambda errors: [error for error in errors if not REFUSED.search(error)]


def type_sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")


def test_a_wrong_password_puts_the_focus_back_in_password(page, js, live_server):
    username = f"focus-pw-{'js' if js else 'nojs'}"
    create_user(live_server, username, "consultant")

    type_sign_in(page, username, "not-the-password")

    password = page.get_by_label("Password")
    expect(password).to_be_focused()
    expect(page.get_by_label("Username")).to_have_value(username)
    error = page.locator("#password-error")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("Wrong username or password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()


def test_a_refused_profile_save_and_a_wrong_code_keep_the_focus(page, js, live_server):
    username = f"focus-profile-{'js' if js else 'nojs'}"
    create_user(live_server, username, "consultant")
    type_sign_in(page, username, PASSWORD)
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()

    # A refused save: the summary has the focus, and Tab goes on into the form.
    page.goto("/profile")
    page.get_by_label("Email").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("not an address")
    page.keyboard.press("Enter")
    summary = page.locator("p.error[role=alert]")
    expect(summary).to_have_text("Please correct the fields marked below.")
    expect(summary).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()

    # Two-factor on, then a wrong code with Make new recovery codes: back in the code box.
    page.goto("/profile/two-factor")
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text().strip())
    expect(page.get_by_label("Authentication code")).to_be_focused()
    page.keyboard.type(totp.now())
    page.keyboard.press("Enter")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.goto("/profile/two-factor")
    code = page.get_by_label("Authentication code")
    code.focus()
    page.keyboard.type(totp.at(time.time() - 3600))  # an hour old: wrong
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Make new recovery codes")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#code-error")).to_be_visible()
    expect(code).to_be_focused()
    expect(code).to_have_attribute("aria-invalid", "true")
