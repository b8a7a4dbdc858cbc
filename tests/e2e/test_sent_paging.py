"""Paging the Sent page from the keyboard in a real browser: with JavaScript, Older and Newer swap
the list in place, and the focus goes to the new list's heading, which says which page it is (not
back to the top of the document, as when the link pressed went with the list it was in); on a slow
network, Older pressed while a filter is on its way is dropped (its link is the old filters'), so
the list and the address both say the filter; a date typed from the keyboard filters once it
has its whole year, not at each digit of it (each a refused request, an alert and a history step).

Run as a module (`python -m tests.e2e.test_sent_paging`) it seeds a consultant with one batch more
than a page holds into the live server's database and prints what it made as JSON.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in, watched_page
from tests.e2e.helpers import run_seed
from tests.e2e.test_dashboard import tab_to


def seed() -> dict:
    """A consultant of this module's own with one batch more than the Sent page shows at once."""
    import sqlalchemy as sa

    from tests.delivery import queue
    from webapp.database import begin_write
    from webapp.extensions import db
    from webapp.models import Candidate, Role, User
    from webapp.sms.sent_log import PAGE_SIZE

    session = db.session
    begin_write(session)  # the server's worker writes too: take the lock before reading
    role = session.scalar(sa.select(Role).where(Role.name == "consultant"))
    user = User(username="pager", full_name="Paige Pager", email="pager@example.com", roles=[role])
    user.set_password("sms-desk-demo")
    person = Candidate(first_name="Percy", last_name="Paged", sms_consent=True)
    person.set_mobile("0412 345 790", "AU")
    session.add_all([user, person])
    session.commit()
    for n in range(PAGE_SIZE + 1):
        queue(session, user, [person], provider="sandbox", body=f"Paging {n}: any news?")
    return {"username": user.username, "batches": PAGE_SIZE + 1}


@pytest.fixture(scope="module")
def pager(live_server) -> dict:
    return run_seed(live_server, "tests.e2e.test_sent_paging")


@pytest.mark.parametrize("js", [True])
def test_older_and_newer_leave_the_focus_on_the_new_lists_heading(page, js, pager):
    sign_in(page, pager["username"])
    page.goto("/sms/sent")
    heading = page.locator("#results-heading")
    expect(heading).to_have_text("Your batches")

    tab_to(page, "Older")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sms/sent\?page=2$"))
    expect(heading).to_have_text("Your batches, page 2")
    expect(heading).to_be_focused()
    expect(page.locator("#results tbody tr")).to_have_count(1)

    # The next Tab goes on from the list, not from the top of the page.
    page.keyboard.press("Tab")
    expect(page.locator("#results").get_by_role("link", name="Download CSV")).to_be_focused()

    tab_to(page, "Newer")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sms/sent\?page=1$"))
    expect(heading).to_have_text("Your batches")
    expect(heading).to_be_focused()


@pytest.mark.parametrize("js", [True])
def test_older_pressed_while_a_filter_is_on_its_way_is_dropped(page, js, pager):
    sign_in(page, pager["username"])
    page.goto("/sms/sent")
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    slow = {"latency": 1500, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
    network.send("Network.emulateNetworkConditions", {"offline": False, **slow})
    page.get_by_label("Message or template", exact=True).focus()
    page.keyboard.type("Paging 1")
    page.wait_for_timeout(700)  # the filter has gone (400 ms after the last key), not yet back
    tab_to(page, "Older")
    page.keyboard.press("Enter")

    heading = page.locator("#results-heading")
    expect(heading).to_have_text("Your batches that match", timeout=15_000)
    page.wait_for_timeout(4_000)  # time for the page Older asked for, had it been sent
    expect(heading).to_have_text("Your batches that match")
    expect(page).to_have_url(re.compile(r"text=Paging(\+|%20)1"))
    # 1, 10 to 19 and 21 of 0 to 25: each word is looked for on its own, "1" in "21" too
    expect(page.locator("#results tbody tr")).to_have_count(12)


@pytest.mark.parametrize("js", [True])
def test_clear_filters_comes_and_goes_with_the_filters_typed(page, js, pager):
    """The link sat in the form, outside the results a filter swaps: typed with JavaScript on,
    a filter left no Clear filters. It comes with the results now, and the focus stays where the
    user types."""
    sign_in(page, pager["username"])
    page.goto("/sms/sent")
    clear = page.get_by_role("link", name="Clear filters")
    field = page.get_by_label("Message or template", exact=True)
    expect(clear).to_have_count(0)

    field.focus()
    page.keyboard.type("Paging 1")
    expect(page.locator("#results-heading")).to_have_text("Your batches that match")
    expect(clear).to_be_visible()
    expect(field).to_be_focused()

    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Backspace")
    expect(page.locator("#results-heading")).to_have_text("Your batches")
    expect(clear).to_have_count(0)
    expect(field).to_be_focused()

    # From the keyboard, as without JavaScript: the link goes back to the whole list.
    page.keyboard.type("Paging 2")
    expect(clear).to_be_visible()
    tab_to(page, "Clear filters")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sms/sent$"))
    expect(field).to_have_value("")
    expect(clear).to_have_count(0)


def dates_sent(page) -> list[str]:
    """The Sent from of each Sent filter the page asks for from now on."""
    sent: list[str] = []

    def request(request) -> None:
        path, _, query = request.url.partition("?")
        if path.endswith("/sms/sent") and query:
            sent.append(dict(parse_qsl(query, keep_blank_values=True)).get("date_from", ""))

    page.on("request", request)
    return sent


@pytest.mark.parametrize("js", [True])
def test_a_date_typed_from_the_keyboard_filters_only_once_its_year_is_whole(page, js, pager):
    """Typed a digit at a time, 2026 makes the field hold 0002-03-01, 0020-03-01 and 0202-03-01
    on its way: each used to filter the list (350 ms later), be refused with an alert and add a
    history step. (The page fails on any 400, which Chromium logs as a console error.)"""
    sign_in(page, pager["username"])
    page.goto("/sms/sent")
    sent = dates_sent(page)
    history = page.evaluate("history.length")
    page.get_by_label("Sent from", exact=True).focus()

    page.keyboard.type("0301", delay=100)
    page.keyboard.type("2026", delay=600)  # each digit longer than the filter waits for typing

    expect(page.locator("#results-heading")).to_have_text("Your batches that match")
    expect(page).to_have_url(re.compile(r"/sms/sent\?date_from=2026-03-01&"))
    page.wait_for_timeout(1_000)  # time for any other request to go out
    assert sent == ["2026-03-01"]
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator("#results tbody tr")).to_have_count(25)  # a page of the 26 since then
    assert page.evaluate("history.length") == history + 1

    page.keyboard.type("1")  # a fifth digit of the year: past 2999, refused, so not sent
    page.wait_for_timeout(1_000)
    assert page.get_by_label("Sent from", exact=True).input_value().startswith("20261")
    assert sent == ["2026-03-01"]
    expect(page.get_by_role("alert")).to_have_count(0)


@pytest.fixture
def page_refused(context):
    """A page the app answers 400 (a date it refuses): Chromium logs each 4xx as a console error,
    so those lines are allowed, and nothing else."""
    with watched_page(context, allowed=re.compile("status of 400 ")) as page:
        yield page


@pytest.mark.parametrize("js", [True])
def test_enter_still_filters_by_a_date_with_a_year_typed_in_part(page_refused, js, pager):
    """Enter (and Filter) send the date as it is, for the server to say what is wrong with it."""
    page = page_refused
    sign_in(page, pager["username"])
    page.goto("/sms/sent")
    sent = dates_sent(page)
    page.get_by_label("Sent from", exact=True).focus()
    page.keyboard.type("030120", delay=100)
    page.wait_for_timeout(700)
    assert sent == []

    page.keyboard.press("Enter")

    expect(page.get_by_role("alert")).to_contain_text("Sent from must be a day from 1900 to 2999.")
    assert sent == ["0020-03-01"]


if __name__ == "__main__":
    from webapp import create_app

    with create_app().app_context():
        print(json.dumps(seed()))
