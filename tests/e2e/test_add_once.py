"""Add candidate from the keyboard at phone width on a slow network, with JavaScript on and off:
Enter pressed twice while the first Add is on its way adds one person (the form's one-time token),
and an Add of someone whose mobile another candidate has is refused once, naming and linking them,
Enter refusing it again, until Add anyway is pressed on purpose; an Edit to such a mobile likewise,
until Save anyway."""

from __future__ import annotations

import random
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import add_candidate, retype
from tests.e2e.test_slow_network import enter_twice_slowly

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page_errors():
    """The refused Add (or Edit) answers 409, which Chromium logs as a console error: not a
    fault."""
    refused = re.compile(r"status of 409 .*/candidates/(new|\d+/edit)")
    return lambda errors: [error for error in errors if not refused.search(error)]


def own_person() -> tuple[str, str]:
    """A surname and a mobile of this test's own: the server is shared by the browser tests."""
    digits = f"{random.randrange(10**6):06d}"
    return f"Once{digits}", f"0413 {digits[:3]} {digits[3:]}"


def stored(live_server, surname: str) -> int:
    with sqlite3.connect(live_server.database) as connection:
        return connection.execute(
            "SELECT count(*) FROM candidates WHERE last_name = ?", (surname,)
        ).fetchone()[0]


def test_enter_twice_on_a_slow_network_adds_one_candidate(page, js, live_server):
    page.set_viewport_size(PHONE)
    sign_in(page, "consultant")
    surname, mobile = own_person()
    page.goto("/candidates/new")
    retype(page, "First name", "Zoë")
    retype(page, "Last name", surname)
    retype(page, "Mobile", mobile)
    posts = enter_twice_slowly(page)

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Zoë {surname}", timeout=20_000)
    assert stored(live_server, surname) == 1
    if js:  # the second Enter sends nothing while the first Add is on its way (shortcuts.js)
        assert len(posts) == 1
        return
    assert len(posts) == 2  # the server was asked twice
    expect(page.locator(".flashes")).to_contain_text(
        f"Zoë {surname} was already added (the form was sent twice): not added again."
    )


def test_a_second_candidate_on_the_same_mobile_needs_add_anyway(page, js, live_server):
    page.set_viewport_size(PHONE)
    sign_in(page, "consultant")
    surname, mobile = own_person()
    add_candidate(page, "Ann", surname, mobile)
    first = page.url

    page.goto("/candidates/new")
    retype(page, "First name", "Bea")
    retype(page, "Last name", surname)
    retype(page, "Mobile", mobile)
    page.keyboard.press("Enter")

    summary = page.locator("p.error[role=alert]")
    expect(summary).to_contain_text("Not added: a candidate with this mobile or email is already")
    expect(summary).to_contain_text(f"Ann {surname}")
    expect(summary).to_be_focused()
    link = page.get_by_role("list", name="Already stored").get_by_role("link")
    expect(link).to_have_text(f"Ann {surname}")
    assert first.endswith(link.get_attribute("href"))

    # Enter in a field is Add again: refused again, nobody added.
    page.get_by_label("Mobile", exact=True).press("Enter")
    expect(summary).to_be_focused()
    assert stored(live_server, surname) == 1

    page.get_by_role("button", name="Add anyway").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bea {surname}")
    assert stored(live_server, surname) == 2


def test_an_edit_to_another_candidates_mobile_needs_save_anyway(page, js, live_server):
    page.set_viewport_size(PHONE)
    sign_in(page, "consultant")
    surname, mobile = own_person()
    add_candidate(page, "Ann", surname, mobile)
    add_candidate(page, "Bea", surname, mobile.replace("0413", "0414", 1))
    page.goto(re.sub(r"(/candidates/\d+).*", r"\1/edit", page.url))
    retype(page, "Mobile", mobile)
    page.keyboard.press("Enter")

    summary = page.locator("p.error[role=alert]")
    expect(summary).to_contain_text("Not saved: a candidate with this mobile or email is already")
    expect(summary).to_contain_text(f"Ann {surname}")
    expect(summary).to_be_focused()
    # Enter in a field is Save again: refused again, nothing saved.
    page.get_by_label("Mobile", exact=True).press("Enter")
    expect(summary).to_be_focused()

    page.get_by_role("button", name="Save anyway").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bea {surname}")
    with sqlite3.connect(live_server.database) as connection:
        shared = connection.execute(
            "SELECT count(*) FROM candidates WHERE last_name = ? AND mobile_e164 = ?",
            (surname, "+61" + mobile.replace(" ", "")[1:]),
        ).fetchone()[0]
    assert shared == 2
