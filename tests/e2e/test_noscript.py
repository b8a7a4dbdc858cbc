"""Without JavaScript the batch page reloads itself while its messages are on their way (or still
being checked with the gateway), lets the reader stop that, and stops by itself once every message
is final: a <noscript> meta refresh that only a browser without JavaScript obeys."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

REFRESH = "head meta[http-equiv=refresh]"


@pytest.fixture
def js() -> bool:
    return False


def reload_after(page) -> str | None:
    """The delay of the page's meta refresh, if it has one (JavaScript off: <noscript> counts):
    its seconds, before the address it reloads."""
    meta = page.locator(REFRESH)
    return meta.get_attribute("content").split(";")[0] if meta.count() else None


def send_from_record(page, name: str, mobile: str, text: str) -> None:
    """From `name`'s record, the SMS link, `text` typed, Send: the batch page."""
    page.goto("/candidates?q=" + name.replace(" ", "+"))
    page.locator("#results").get_by_role("link", name=name, exact=True).click()
    page.get_by_role("link", name=f"SMS {mobile}", exact=True).click()
    page.get_by_label("Message", exact=True).press_sequentially(text)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sms/batches/\d+$"))


def add_candidate(page, first: str, last: str, mobile: str) -> None:
    page.goto("/candidates/new")
    page.get_by_label("First name", exact=True).press_sequentially(first)
    page.get_by_label("Last name", exact=True).press_sequentially(last)
    page.get_by_label("Mobile", exact=True).press_sequentially(mobile)
    page.get_by_role("button", name="Add candidate").click()
    expect(page.get_by_role("heading", level=1, name=f"{first} {last}")).to_be_visible()


def test_a_batch_still_in_flight_reloads_itself_until_the_reader_stops_it(page):
    sign_in(page, "lead")
    # The sandbox times out on numbers ending 9999: the message stays unknown while the gateway
    # is asked about it, so the page has something to wait for throughout this test.
    add_candidate(page, "Tim", "Timeout", "0412 349 999")
    send_from_record(page, "Tim Timeout", "0412 349 999", "Hi {{first_name}}, still there?")

    assert reload_after(page) in ("5", "15"), page.content()[:2000]
    progress = page.locator("#progress")
    expect(progress).to_contain_text("updating by itself")
    notice = progress.get_by_text(re.compile(r"This page reloads every (5|15) seconds"))
    expect(notice).to_be_visible()

    stop = progress.get_by_role("link", name="Stop reloading")
    stop.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?refresh=off$"))
    assert reload_after(page) is None
    expect(progress).not_to_contain_text("updating by itself")
    # Still on its way, or gone and unknown (every message final, the gateway being asked).
    expect(progress).to_contain_text(
        re.compile(r"not finished yet|unknown ones still being checked")
    )
    expect(progress.get_by_role("link", name="Reload", exact=True)).to_be_visible()


def test_a_batch_reloads_itself_to_the_end_and_then_stops(page):
    sign_in(page, "consultant")
    # Navigations are counted as they commit, which is before any of the new page can be read. The
    # "load" event comes after the page's stylesheet and script, so on a slow machine the reloaded
    # page could already show "done" while its load had not been counted yet.
    loads: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: loads.append(frame.url) if frame == page.main_frame else None,
    )
    # The sandbox delivers a second or two after sending: the page opens while the message is on
    # its way, unless this machine is slow enough to miss that (then try again, at most twice).
    for _ in range(3):
        send_from_record(page, "Grace Hopper", "0412 345 680", "Hi {{first_name}}, no script")
        in_flight = reload_after(page)
        if in_flight:
            break
    assert in_flight == "5", "each batch was delivered before its page opened"
    expect(page.locator("#progress")).to_contain_text("updating by itself")
    opened = len(loads)

    # Only the page's own reloads can bring this in: the test never reloads it.
    expect(page.locator("#progress")).to_contain_text("— done", timeout=20_000)
    assert len(loads) > opened, loads
    expect(page.get_by_role("table").locator(".state")).to_have_text("delivered")
    assert reload_after(page) is None
    expect(page.locator("#progress")).not_to_contain_text("updating by itself")
    expect(page.get_by_role("link", name="Stop reloading")).to_have_count(0)
    # Once final it stays put: no further reload within twice the reload interval.
    settled = len(loads)
    page.wait_for_timeout(10_000)
    assert len(loads) == settled, loads


def test_the_search_shows_no_keyboard_shortcuts_that_need_javascript(page):
    """The shortcuts are shortcuts.js's: without it their button (a dead Tab stop) and the key
    hints beside Search and Bulk SMS stay hidden (a class's display once outdid `hidden`)."""
    sign_in(page, "consultant")
    page.goto("/candidates")
    expect(page.get_by_role("button", name=re.compile("Keyboard shortcuts"))).to_be_hidden()
    expect(page.get_by_role("region", name="Keyboard shortcuts")).to_be_hidden()
    expect(page.locator("kbd", has_text="/").first).to_be_hidden()
    expect(page.get_by_role("button", name="Bulk SMS").locator("kbd")).to_be_hidden()
    page.get_by_label("Search", exact=True).focus()
    page.keyboard.press("Shift+Tab")  # the button sat just before Search
    focused = page.evaluate("document.activeElement.textContent")
    assert "Keyboard shortcuts" not in focused


@pytest.fixture(scope="module")
def cancellers(live_server, tmp_path_factory) -> str:
    """Two people found by their own search; the surname to search for."""
    rows = [
        "first_name,last_name,mobile,email,sms_consent,job_title,location",
        "Cara,Cancelnojs,0413 778 301,,yes,Nurse,Hobart",
        "Cole,Cancelnojs,0413 778 302,,yes,Nurse,Hobart",
    ]
    path = tmp_path_factory.mktemp("noscript-cancel") / "people.csv"
    path.write_text("\n".join(rows) + "\n")
    live_server.flask("import", "candidates", str(path))
    return "Cancelnojs"


def test_cancel_keeps_the_message_and_goes_back_to_the_same_search(page, cancellers):
    """Cancel was a link to the bare search: the search, its sort, and the message typed were
    gone, and Bulk SMS for the same people reopened an empty Message."""
    sign_in(page, "consultant")
    search = f"/candidates?q={cancellers}&sort=-created"

    def bulk_sms() -> None:
        page.goto(search)
        page.locator("input.row-select").nth(0).check()
        page.locator("input.row-select").nth(1).check()
        page.get_by_role("button", name="Bulk SMS").click()
        expect(page.locator("#compose-heading")).to_contain_text("SMS to 2 people")

    bulk_sms()
    screen = page.url
    page.get_by_label("Message", exact=True).press_sequentially("Hi there, new role for you")
    page.get_by_role("button", name="Cancel", exact=True).click()

    expect(page).to_have_url(re.compile(re.escape(search) + "$"))
    expect(page.get_by_label("Search", exact=True)).to_have_value(cancellers)
    bulk_sms()
    assert page.url == screen
    expect(page.get_by_label("Message", exact=True)).to_have_value("Hi there, new role for you")
