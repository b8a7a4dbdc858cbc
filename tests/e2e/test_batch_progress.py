"""The batch page's progress in a real browser, with JavaScript on and off: the stacked bar and its
legend in words, and a message sent with no receipt after the wait shown as "sent, no receipt",
after which the page neither polls (htmx) nor reloads itself (no JavaScript); while it polls, a
keyboard user's focus stays on the link they were on."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import send_single_from_record
from webapp.sms.batches import RECEIPT_WAIT

# People of this module's own, one for each run (numbers apart from people.csv's and others').
PEOPLE = {True: ("Petra Pending", "0412 345 780"), False: ("Paul Pending", "0412 345 781")}


def add_candidate(page, name: str, mobile: str) -> None:
    first, last = name.split()
    page.goto("/candidates/new")
    page.get_by_label("First name", exact=True).press_sequentially(first)
    page.get_by_label("Last name", exact=True).press_sequentially(last)
    page.get_by_label("Mobile", exact=True).press_sequentially(mobile)
    page.get_by_role("button", name="Add candidate").click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()


def no_receipt_for_a_day(live_server, batch_id: int) -> None:
    """Make the batch's message one the gateway took (and the batch one made) over RECEIPT_WAIT
    ago, never confirmed.

    At another gateway: the sandbox would deliver a `sent` message of its own at once."""
    long_ago = datetime.now(UTC) - RECEIPT_WAIT
    stored = long_ago.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    with sqlite3.connect(live_server.database) as connection:
        connection.execute(
            "UPDATE messages SET state = 'sent', provider = 'smscentral', sent_at = ?, "
            "delivered_at = NULL, updated_at = ? WHERE batch_id = ?",
            (stored, stored, batch_id),
        )
        connection.execute("UPDATE batches SET created_at = ? WHERE id = ?", (stored, batch_id))


def test_a_message_with_no_receipt_after_the_wait_stops_the_page(page, js, live_server):
    name, mobile = PEOPLE[js]
    sign_in(page, "consultant")
    add_candidate(page, name, mobile)
    send_single_from_record(page, js, name, mobile, "Hi {{first_name}}, any news?")
    batch_id = int(re.search(r"/sms/batches/(\d+)", page.url).group(1))
    legend = page.locator("#progress .bar-legend")
    expect(legend).to_have_text("1 delivered")

    no_receipt_for_a_day(live_server, batch_id)
    page.reload()

    progress = page.locator("#progress")
    expect(progress).to_contain_text("1 of 1 sent; 1 of 1 finished — done")
    expect(legend).to_have_text("1 sent, no receipt")
    expect(page.locator("#no-receipt")).to_contain_text("no receipt has come")
    expect(page.get_by_role("table").locator(".state")).to_have_text("sent, no receipt")
    expect(page.get_by_role("progressbar").locator("rect")).to_have_attribute("width", "100.0%")
    # Nothing can change now: no poll with JavaScript, no reload without it.
    expect(progress).not_to_have_attribute("hx-trigger", re.compile("."))
    assert page.locator("head meta[http-equiv=refresh]").count() == 0
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.wait_for_timeout(6_000)  # longer than htmx's 2 s and the reload's 5 s
    assert not [url for url in asked if f"/sms/batches/{batch_id}" in url], asked


def set_messages_now(live_server, batch_id: int, assignments: str) -> None:
    """Set the batch's messages' columns (`assignments`, each `?` the time now), as the worker or
    a gateway's receipt would have."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    with sqlite3.connect(live_server.database) as connection:
        connection.execute(
            f"UPDATE messages SET {assignments}, updated_at = ? WHERE batch_id = ?",
            (*[now] * assignments.count("?"), now, batch_id),
        )


def awaiting_receipt(live_server, batch_id: int) -> None:
    """Make the batch's message one a gateway took a moment ago and has not confirmed yet, so the
    page polls every 2 seconds (at another gateway: the sandbox would deliver it at once)."""
    set_messages_now(
        live_server,
        batch_id,
        "state = 'sent', provider = 'smscentral', sent_at = ?, delivered_at = NULL",
    )


@pytest.mark.parametrize("js", [True])
def test_the_focus_stays_on_its_link_while_the_progress_refreshes(page, js, live_server):
    name, mobile = "Fiona Focus", "0412 345 782"
    sign_in(page, "consultant")
    add_candidate(page, name, mobile)
    send_single_from_record(page, js, name, mobile, "Hi {{first_name}}, still there?")
    batch_id = int(re.search(r"/sms/batches/(\d+)", page.url).group(1))
    awaiting_receipt(live_server, batch_id)
    page.reload()
    progress = page.locator("#progress")
    expect(progress).to_have_attribute("hx-trigger", "every 2s")

    # A keyboard user on their way through the list: the state's link, then the person's.
    for link in (
        progress.locator(".state-counts").get_by_role("link", name="sent 1", exact=True),
        progress.get_by_role("table").get_by_role("link", name=name),
    ):
        for _ in range(40):
            page.keyboard.press("Tab")
            if link.evaluate("element => element === document.activeElement"):
                break
        expect(link).to_be_focused()
        # Wait for the next refresh to replace the section, then look again.
        progress.evaluate("section => { section.dataset.before = 'yes'; }")
        expect(page.locator("#progress[data-before]")).to_have_count(0, timeout=5_000)
        expect(link).to_be_focused()


def delivered_now(live_server, batch_id: int) -> None:
    """The gateway's receipt came: the batch's message is delivered, and the page stops polling."""
    set_messages_now(live_server, batch_id, "state = 'delivered', delivered_at = ?")


@pytest.mark.parametrize("js", [True])
def test_a_link_no_longer_drawn_leaves_the_focus_on_the_progress_heading(page, js, live_server):
    """The state's link the keyboard user is on goes with its count (sent 1, then delivered):
    htmx finds no element of its id, and the focus went to the page, the next Tab to "Skip to
    content". It goes to the section's heading, and Tab goes on through the new section."""
    name, mobile = "Gina Gone", "0412 345 783"
    sign_in(page, "consultant")
    add_candidate(page, name, mobile)
    send_single_from_record(page, js, name, mobile, "Hi {{first_name}}, still there?")
    batch_id = int(re.search(r"/sms/batches/(\d+)", page.url).group(1))
    awaiting_receipt(live_server, batch_id)
    page.reload()
    progress = page.locator("#progress")
    expect(progress).to_have_attribute("hx-trigger", "every 2s")
    sent = progress.locator(".state-counts").get_by_role("link", name="sent 1", exact=True)
    sent.focus()
    expect(sent).to_be_focused()

    delivered_now(live_server, batch_id)

    expect(page.locator("#show-sent")).to_have_count(0, timeout=5_000)
    expect(page.locator("#progress-heading")).to_be_focused()
    page.keyboard.press("Tab")
    expect(progress.get_by_role("link", name="delivered 1", exact=True)).to_be_focused()
