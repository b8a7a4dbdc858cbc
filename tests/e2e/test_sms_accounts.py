"""An administrator adds a Twilio SMS account from the keyboard alone, JavaScript on and off: the
account's page then shows its webhook addresses and says the auth token is saved, never showing
it; the page passes axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import check

pytestmark = pytest.mark.e2e

TOKEN = "0123456789abcdef0123456789abcdef"


def tab_to(page, target, limit: int = 40) -> None:
    """Press Tab until `target` (a locator) has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def test_an_administrator_adds_a_twilio_account_with_the_keyboard(page, js, live_server):
    name, country = ("NZ SMS js", "NZ") if js else ("NZ SMS nojs", "FJ")
    slug = name.lower().replace(" ", "-")
    sign_in(page, "admin")
    page.goto("/admin/sms-accounts")
    expect(page.get_by_role("cell", name="Default account (from the environment)")).to_be_visible()

    add = page.get_by_role("link", name="Add SMS account")
    tab_to(page, add)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Add SMS account")).to_be_visible()

    page.get_by_label("Name", exact=True).fill(name)
    gateway = page.get_by_label("Gateway")
    tab_to(page, gateway)
    page.keyboard.press("ArrowDown")  # SMS Central → Twilio, as a keyboard user picks it
    expect(gateway).to_have_value("twilio")
    page.get_by_label("Account SID").fill("AC" + "b" * 32)
    page.get_by_label("Auth token").fill(TOKEN)
    page.get_by_label("From number").fill("+64 21 765 4321")
    page.get_by_label("Destination countries it serves").fill(country)
    submit = page.get_by_role("button", name="Add SMS account")
    tab_to(page, submit)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name=f"Edit {name}")).to_be_visible()
    expect(page.locator(".flashes")).to_contain_text(f"{name} added")
    expect(page.locator("body")).to_contain_text(f"{live_server.url}/webhooks/twilio/{slug}/status")
    expect(page.locator("#auth_token-hint")).to_contain_text("Saved — leave empty to keep")
    expect(page.get_by_label("Auth token")).to_have_value("")
    assert TOKEN not in page.content()
    if js:
        check(page, "the new SMS account's page")

    page.goto("/admin/sms-accounts")
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("Twilio")
    expect(row).to_contain_text("+64217654321")
    expect(row).to_contain_text(country)
    if js:
        check(page, "the SMS accounts list")
