"""Add and Edit person from the keyboard: the form opens with the focus in First name, and a refused
save puts the focus on the summary of what to correct, from which Tab walks into the form (the page
used to leave the focus on the body, four Tabs from First name, the refusal unheard)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


@pytest.fixture
def page_errors():
    """The refused Add answers 400, which Chromium logs as a console error: not a fault."""
    refused = re.compile(r"status of 400 .*/candidates/new")
    return lambda errors: [error for error in errors if not refused.search(error)]


def test_add_opens_in_first_name_and_a_refusal_takes_the_focus_to_its_summary(page):
    sign_in(page, "consultant")
    surname = f"Focus{uuid.uuid4().hex[:6]}"  # the server is shared by the browser tests
    page.goto("/candidates/new")

    expect(page.get_by_label("First name", exact=True)).to_be_focused()
    page.keyboard.type("Zoë")
    page.keyboard.press("Tab")
    page.keyboard.type(surname)
    page.keyboard.press("Tab")
    page.keyboard.type("12345")
    page.keyboard.press("Enter")

    summary = page.locator("p.error[role=alert]")
    expect(summary).to_have_text("Please correct the fields marked below.")
    expect(summary).to_be_focused()
    # Tab from the summary is the form's first field, then on to the one in error.
    page.keyboard.press("Tab")
    expect(page.get_by_label("First name", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    mobile = page.get_by_label("Mobile", exact=True)
    expect(mobile).to_be_focused()
    expect(mobile).to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Control+A")
    # Unique too (a mobile already stored is refused once, until Add anyway), and a mobile: every
    # 0438 number is one, where a random 04 one may not be.
    page.keyboard.type(f"0438{uuid.uuid4().int % 10**6:06d}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Zoë {surname}")

    page.goto(re.sub(r"(/candidates/\d+).*", r"\1/edit", page.url))
    expect(page.get_by_label("First name", exact=True)).to_be_focused()
