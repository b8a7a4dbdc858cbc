"""A consultant chooses their Office on Profile from the keyboard alone, JavaScript on and off: the
choice is saved, shown chosen, and its time zone becomes the one the Time zone field falls back
to."""

from __future__ import annotations

import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, ROOT, sign_in
from tests.e2e.helpers import arrow_to

pytestmark = pytest.mark.e2e


def flask(live_server, *args: str, stdin: str | None = None) -> None:
    """A `flask --app wsgi` command against the live server's database."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env={**live_server.env, "EMBEDDED_WORKER": "0"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def tab_to(page, target, limit: int = 20) -> None:
    """Press Tab until `target` (a locator) has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def test_a_consultant_chooses_their_office_on_profile_with_the_keyboard(page, js, live_server):
    variant = "js" if js else "nojs"
    office, username = f"Darwin {variant}", f"darwin-{variant}"
    flask(live_server, "office", "add", office, "--timezone", "Australia/Darwin", "--region", "AU")
    flask(
        live_server,
        "create-user",
        username,
        "--role",
        "consultant",
        "--email",
        f"{username}@example.com",
        stdin=f"{PASSWORD}\n",
    )
    sign_in(page, username)
    page.goto("/profile")

    choice = page.get_by_label("Office", exact=True)
    expect(choice.locator("option:checked")).to_have_text("No office")
    page.get_by_text("Mobile", exact=True).click()
    page.keyboard.press("Tab")
    expect(choice).to_be_focused()
    arrow_to(page, choice, office)
    tab_to(page, page.get_by_role("button", name="Save profile"))
    page.keyboard.press("Enter")

    expect(page.locator(".flashes")).to_contain_text("Your profile is saved.")
    expect(page.get_by_label("Office", exact=True).locator("option:checked")).to_have_text(office)
    expect(page.locator("#timezone-hint")).to_contain_text("your office’s (Australia/Darwin)")


def test_editing_an_office_brings_its_form_into_view_with_the_focus(page, js, live_server):
    """On a phone the edit form is below the list: the page opened at the top, focus on <body>."""
    office = f"Broome {'js' if js else 'nojs'}"
    flask(live_server, "office", "add", office, "--timezone", "Australia/Perth", "--region", "AU")
    page.set_viewport_size({"width": 390, "height": 400})
    sign_in(page, "admin")
    page.goto("/admin/offices")
    link = page.get_by_role("link", name=office, exact=True)
    link.focus()

    page.keyboard.press("Enter")

    heading = page.locator("#office-form-heading")
    expect(heading).to_have_text(f"Edit {office}")
    expect(heading).to_be_focused()
    assert heading.evaluate(
        "element => { const box = element.getBoundingClientRect();"
        " return box.top >= 0 && box.bottom <= window.innerHeight; }"
    )
