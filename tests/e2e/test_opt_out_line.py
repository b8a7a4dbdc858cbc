"""The opt-out line in a real browser, JavaScript on and off, by keyboard: a commercial template
chosen with the arrow keys ticks "Commercial message" for good and shows the line under the
Message (not in it), counted; ticking the box with Space does the same for typed text."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, sign_in

LINE = "Reply STOP to opt out"
NAME = "Marketing: roles near you"
ALERT = "New roles near you, {{first_name}}."
FOCUSED_ID = "() => document.activeElement && document.activeElement.id"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A server of its own, with one shared commercial template (NAME) the other browser tests'
    template pickers do not have."""
    server = LiveServer(tmp_path_factory.mktemp("e2e-opt-out"))
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(server.database) as connection:
        connection.execute(
            "INSERT INTO sms_templates (name, folder, body, owner_id, shared, record_type,"
            " commercial, active, created_at, updated_at)"
            " VALUES (?, 'Alerts', ?, NULL, 1, 'both', 1, 1, ?, ?)",
            (NAME, ALERT, now, now),
        )
    yield server
    server.stop()


def sms_to_alan(page) -> None:
    """Signed in as a consultant, the SMS screen for Alan Turing, from his record's mobile link."""
    sign_in(page, "consultant")
    page.goto("/candidates?q=Turing")
    row = page.locator("tbody tr", has_text="Alan Turing")
    page.goto(row.locator("a[href*='/sms/compose?candidate=']").first.get_attribute("href"))
    expect(page.locator("#compose-heading")).to_contain_text("SMS to")


def press_until_focused(page, element_id: str, key: str, limit: int = 20) -> None:
    for _ in range(limit):
        if page.evaluate(FOCUSED_ID) == element_id:
            return
        page.keyboard.press(key)
    assert page.evaluate(FOCUSED_ID) == element_id, f"{key} never reached #{element_id}"


def expect_counter(page, characters: int, segments: int) -> None:
    counter = page.locator("#sms-counter")
    expect(counter).to_have_attribute("data-characters", str(characters))
    expect(counter).to_have_attribute("data-segments", str(segments))


def test_a_commercial_template_chosen_by_keyboard_shows_the_line_counted(page, js):
    sms_to_alan(page)
    picker = page.get_by_label("Template", exact=True)
    expect(picker).to_be_focused()
    options = picker.locator("option").all_text_contents()
    for _ in range(options.index(NAME)):
        page.keyboard.press("ArrowDown")
    expect(picker.locator("option:checked")).to_have_text(NAME)
    if not js:
        page.keyboard.press("Tab")  # Enter on a list does nothing without JS: its button does
    page.keyboard.press("Enter")

    message = page.get_by_label("Message", exact=True)
    expect(message).to_have_value(ALERT)  # the line is not in the text box
    expect(page.locator("#opt-out-line .fixed-line")).to_have_text(LINE)
    box = page.get_by_label("Commercial message", exact=True)
    expect(box).to_be_checked()
    expect(box).to_be_disabled()
    expect_counter(page, len(f"New roles near you, Alan.\n{LINE}"), 1)


def test_ticking_commercial_message_with_space_adds_the_line_to_the_count(page, js):
    sms_to_alan(page)
    message = page.get_by_label("Message", exact=True)
    message.fill("x" * 150)
    if js:
        expect_counter(page, 150, 1)
    expect(page.locator("#opt-out-line .fixed-line")).to_have_count(0)

    press_until_focused(page, "commercial", "Shift+Tab")
    page.keyboard.press("Space")
    if not js:
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Update message")).to_be_focused()
        page.keyboard.press("Enter")

    expect(page.locator("#opt-out-line .fixed-line")).to_have_text(LINE)
    box = page.get_by_label("Commercial message", exact=True)
    expect(box).to_be_checked()
    expect(box).to_be_focused()
    expect(message).to_have_value("x" * 150)
    expect_counter(page, 172, 2)  # one part alone; two with the line
    if js:
        press_until_focused(page, "message", "Tab")
        page.keyboard.press("End")
        page.keyboard.type("y")
        expect_counter(page, 173, 2)
