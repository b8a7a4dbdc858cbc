"""The Users pages in a browser: the search says how many users it found to a screen reader, and a
refused Add user takes the focus to its summary and asks for the temporary password again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


@pytest.fixture
def page_errors():
    """The refused Add user answers 400, which Chromium logs as a console error: not a fault."""
    refused = re.compile(r"status of 400 .*/admin/users/new")
    return lambda errors: [error for error in errors if not refused.search(error)]


def test_the_users_search_announces_how_many_it_found(page, js):
    sign_in(page, "admin")
    page.goto("/admin/users")
    box = page.get_by_role("searchbox")
    box.press_sequentially("admin")
    if not js:
        box.press("Enter")
        expect(page.locator("#results-heading")).to_contain_text("matching “admin”")
        return
    heading = page.locator("#results-heading")
    expect(heading).to_contain_text("matching “admin”")
    count = int(heading.inner_text().split()[0])
    found = f"{count} user found" if count == 1 else f"{count} users found"
    expect(page.locator("body > [role=status]")).to_have_text(found)


def test_a_refused_add_user_focuses_its_summary_and_asks_for_the_password_again(page, js):
    sign_in(page, "admin")
    page.goto("/admin/users/new")
    page.get_by_label("Username").press_sequentially("admin")  # taken
    page.get_by_label("Full name").press_sequentially("Second Admin")
    page.get_by_label("Email").press_sequentially("second.admin@example.com")
    page.get_by_role("checkbox", name="viewer").press("Space")
    password = page.get_by_label("Temporary password")
    password.press_sequentially("temporary-pass-123")
    password.press("Enter")

    summary = page.get_by_role("alert").filter(has_text="Please correct the fields")
    expect(summary).to_be_focused()
    expect(page.get_by_text(re.compile("is taken"))).to_be_visible()
    expect(password).to_have_value("")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password-error")).to_have_text(
        re.compile("Type the temporary password again")
    )
