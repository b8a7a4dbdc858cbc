"""Save Privacy from the keyboard, JavaScript on and off: the focus goes where the user is needed
next, never to the page's start: to the refused reason field when ticking SMS again after a STOP
needs one, and back to Save Privacy, beside what was saved, once it is."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import add_candidate, send_single_from_record


@pytest.fixture
def page_errors():
    """The save refused for want of a reason answers 400, which Chromium logs as a console error:
    not a fault."""
    refused = re.compile(r"status of 400 .*/privacy")
    return lambda errors: [error for error in errors if not refused.search(error)]


def replies_stop(page: Page, e164: str) -> None:
    page.goto("/sandbox")
    row = page.locator("tbody tr", has_text=e164).first
    row.get_by_label(re.compile(rf"^Reply from {re.escape(e164)} to the SMS sent ")).fill("STOP")
    row.get_by_role("button", name=f"Send reply from {e164}").click()
    expect(page.locator(".flashes")).to_contain_text(f"Reply from {e164} received.")


def test_the_focus_follows_save_privacy(page, js):
    sign_in(page, "lead")  # may ignore opt-outs: only such a user ticks SMS again after a STOP
    # A person and a number of this test's own: the server is shared by the browser tests.
    digits = f"{random.randrange(10**6):06d}"
    last = f"Privacy{digits}"
    mobile = f"0413 {digits[:3]} {digits[3:]}"
    add_candidate(page, "Kim", last, mobile)
    send_single_from_record(page, js, f"Kim {last}", mobile, "Hi {{first_name}}")
    replies_stop(page, f"+61413{digits}")
    page.goto("/candidates")
    page.get_by_label("Search", exact=True).focus()
    page.keyboard.type(f"Kim {last}")
    if not js:
        page.keyboard.press("Enter")
    page.locator("#results").get_by_role("link", name=f"Kim {last}", exact=True).click()
    privacy = page.locator("#privacy")
    expect(privacy.get_by_label("SMS", exact=True)).not_to_be_checked()

    privacy.get_by_label("SMS", exact=True).focus()
    page.keyboard.press("Space")
    save = privacy.get_by_role("button", name="Save Privacy")
    while not save.evaluate("element => element === document.activeElement"):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    reason = page.locator("#privacy").get_by_label("Reason for ticking SMS again", exact=True)
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_be_focused()
    page.keyboard.type("Asked for job alerts again by phone today")
    page.keyboard.press("Tab")  # past the hint to Save Privacy
    while (
        not page.locator("#privacy")
        .get_by_role("button", name="Save Privacy")
        .evaluate("element => element === document.activeElement")
    ):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    if js:
        privacy = page.locator("#privacy")
        expect(privacy.get_by_role("status")).to_have_text(re.compile("SMS ticked"))
        expect(privacy.get_by_role("button", name="Save Privacy")).to_be_focused()
    else:  # the record page again, as after any save without JavaScript
        expect(page.locator(".flashes")).to_contain_text("SMS ticked")
    expect(page.locator("#privacy").get_by_label("SMS", exact=True)).to_be_checked()
