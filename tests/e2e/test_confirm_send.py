"""Confirmation before big sends in the browser, with JavaScript on and off: Send for more people
than the threshold shows the confirmation; "Send N messages", pressed from the keyboard, lands on
the batch; Cancel goes back to the draft as it was typed."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import compose_panel, select_people, wait_for_batch
from tests.e2e.test_accessibility import check

WOLLONGONG_DEVELOPERS = "/candidates?job=Software+Developer&location=Wollongong"
PEOPLE = ("Ada Lovelace", "Alan Turing", "Grace Hopper")
TEXT = "Hi {{first_name}}, are you free for a call on Friday?"


@pytest.fixture
def confirm_over_two(live_server):
    """The administrator's setting at 2 for this test only: three recipients make a big send."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(live_server.database, timeout=10) as connection:
        connection.execute(
            "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, '2', ?)",
            ("confirm_over", now),
        )
    yield
    with sqlite3.connect(live_server.database, timeout=10) as connection:
        connection.execute("DELETE FROM settings WHERE key = 'confirm_over'")


def batches(live_server) -> int:
    with sqlite3.connect(live_server.database, timeout=10) as connection:
        return connection.execute("SELECT count(*) FROM batches").fetchone()[0]


def confirmation(page, js: bool):
    """Three people ticked, TEXT typed, Send pressed from the keyboard: the confirmation, its
    heading focused."""
    sign_in(page, "consultant")
    page.goto(WOLLONGONG_DEVELOPERS)
    select_people(page, PEOPLE)
    page.get_by_role("button", name="Bulk SMS").click()
    compose = compose_panel(page)
    expect(compose.get_by_role("heading", name="SMS to 3 people")).to_be_visible()
    page.get_by_label("Message", exact=True).fill(TEXT)
    if js:  # the counter's answer brings the totals beside Send up to date
        expect(page.locator("#send-totals")).to_have_text("3 messages · 3 SMS parts")
    page.get_by_role("button", name="Send", exact=True).press("Enter")
    heading = page.get_by_role("heading", name="Send 3 messages?")
    expect(heading).to_be_focused()
    if not js:
        expect(page).to_have_url(re.compile(r"/sms/compose/[^/?]+\?confirm=1$"))
    confirm = page.locator("#confirm-send")
    expect(confirm.locator("#confirm-messages")).to_have_text("3")
    expect(confirm.locator("#confirm-parts")).to_contain_text("3")
    # One recipient's message, as they will get it.
    expect(confirm.locator("blockquote")).to_have_text(
        re.compile(r"^Hi (Ada|Alan|Grace), are you free for a call on Friday\?$")
    )
    return confirm


def test_send_n_messages_from_the_keyboard_lands_on_the_batch(
    page, js, live_server, confirm_over_two
):
    before = batches(live_server)
    confirm = confirmation(page, js)
    assert batches(live_server) == before  # nothing queued while the confirmation is shown
    if js:  # axe needs the page's scripts
        check(page, "the confirmation before a big send")

    page.keyboard.press("Tab")
    expect(confirm.get_by_role("button", name="Send 3 messages", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    wait_for_batch(page, js, delivered=3)
    assert batches(live_server) == before + 1


def test_cancel_goes_back_to_the_draft_as_typed(page, js, live_server, confirm_over_two):
    before = batches(live_server)
    confirm = confirmation(page, js)

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(confirm.get_by_role("link", name="Cancel", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    message = page.get_by_label("Message", exact=True)
    expect(message).to_have_value(TEXT)
    expect(message).to_be_focused()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()
    expect(page.locator("#confirm-send")).to_have_count(0)
    assert batches(live_server) == before
