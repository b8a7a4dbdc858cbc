"""The Sent page and the Replies inbox in a real browser, with JavaScript on and off: a consultant
finds their batch and filters by keyboard, reads, marks and opens replies while the count beside
the Replies link follows; a team leader switches to everyone's; a viewer has neither page."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in, watched_page
from tests.e2e.helpers import run_seed
from tests.e2e.test_accessibility import REFUSED, check
from webapp.sms.inbox import PAGE_SIZE


def seed(live_server, *args: str) -> dict:
    """Run tests/e2e/conversation_seed.py against the live server's database."""
    return run_seed(live_server, "tests.e2e.conversation_seed", *args)


SETUPS = itertools.count()


@pytest.fixture
def desk(live_server, js):
    """A consultant of this test's own, a batch of theirs to two candidates, and Nina's reply."""
    made = seed(live_server, "setup", "js" if js else "nojs", str(next(SETUPS)))
    nina = made["people"][0]
    made["reply"] = seed(live_server, "reply", str(nina["message"]), "YES, Friday works")["reply"]
    return made


def seed_more_replies(live_server, message_id: int, count: int) -> dict:
    """`count` replies to the message, as new as can be, in one process (this module's main)."""
    return run_seed(live_server, "tests.e2e.test_sent_replies", str(message_id), str(count))


def replies_link(page):
    return page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile(r"^Replies")
    )


def reload_until(page, locator, text: str, tries: int = 30) -> None:
    """Without JS nothing refreshes by itself: reload (bounded) until `locator` says `text`."""
    for _ in range(tries):
        if text in locator.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(locator).to_contain_text(text)


def type_filter(page, js: bool, text: str) -> None:
    """Replace the text filter's words by typing; without JS, Enter submits the filters."""
    page.get_by_label("Message or template", exact=True).focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    if not js:
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"text=" + text.replace(" ", r"\+")))


def choose_state(page, js: bool, key: str, times: int) -> None:
    """Arrow through the State list; without JS, Tab on to Filter and press Enter."""
    page.get_by_label("State", exact=True).focus()
    for _ in range(times):
        page.keyboard.press(key)
    if not js:
        page.keyboard.press("Tab")  # the text filter
        page.keyboard.press("Tab")  # Filter
        expect(page.get_by_role("button", name="Filter", exact=True)).to_be_focused()
        page.keyboard.press("Enter")


def test_a_consultant_finds_their_batch_on_sent_and_filters_it_by_keyboard(page, js, desk):
    sign_in(page, desk["username"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sent", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Sent")).to_be_visible()
    row = page.locator(f"#batch-{desk['batch']}")
    expect(row).to_contain_text("Hi {{first_name}}, night shift this Friday")
    expect(row.locator("td").nth(2)).to_have_text("2")
    # The sandbox delivers in about a second; the bar and its words follow.
    reload_until(page, row, "2 delivered")
    expect(row.locator("svg rect[data-state=delivered]")).to_have_attribute("width", "100.0%")
    if js:
        screenshot(page, "sent")
        check(page, "the Sent page")  # axe: WCAG A and AA

    # Text: typed; with JS the list follows as you type, without it Enter submits the filters.
    type_filter(page, js, "no such words")
    expect(page.locator("#results")).to_contain_text("No batches match")
    type_filter(page, js, "night shift")
    expect(row).to_be_visible()

    # State: arrowed to on the list, then applied (JS: as it changes; without: Enter on Filter).
    choose_state(page, js, "ArrowDown", 4)  # Any state → queued → sending → sent → delivered
    expect(page).to_have_url(re.compile(r"state=delivered"))
    expect(row).to_be_visible()
    choose_state(page, js, "ArrowUp", 1)  # → sent: none of ours stopped at sent
    expect(page).to_have_url(re.compile(r"state=sent"))
    expect(page.locator("#results")).to_contain_text("No batches match")

    page.goto("/sms/sent")
    row.get_by_role("link", name=re.compile("night shift")).click()
    expect(page).to_have_url(re.compile(rf"/sms/batches/{desk['batch']}$"))


def test_a_consultant_reads_marks_and_opens_a_reply(page, js, desk, live_server):
    nina = desk["people"][0]
    sign_in(page, desk["username"])
    expect(replies_link(page)).to_have_text("Replies 1")
    replies_link(page).click()
    row = page.locator(f"#reply-{desk['reply']}")
    expect(row).to_contain_text(nina["name"])
    expect(row).to_contain_text("YES, Friday works")
    expect(row).to_contain_text("night shift this Friday")
    expect(row.locator("td").nth(2)).to_have_css("font-weight", "700")
    if js:
        screenshot(page, "replies")
        check(page, "the Replies inbox")

    # Mark read from the keyboard: with JS the row and the count change in place, and focus stays
    # on the button (now "Mark unread"); without JS the form posts and the list comes back.
    mark = row.get_by_role("button", name=f"Mark read the reply from {nina['name']}")
    mark.focus()
    page.keyboard.press("Enter")
    unmark = page.locator(f"#reply-{desk['reply']}").get_by_role(
        "button", name=f"Mark unread the reply from {nina['name']}"
    )
    expect(unmark).to_be_visible()
    expect(replies_link(page)).to_have_text("Replies")
    expect(page.locator(f"#reply-{desk['reply']} td").nth(2)).to_have_css("font-weight", "400")
    if js:
        expect(unmark).to_be_focused()
        expect(page).to_have_url(re.compile(r"/sms/replies$"))
    else:
        expect(page).to_have_url(re.compile(rf"/sms/replies#reply-{desk['reply']}$"))
    page.keyboard.press("Enter") if js else unmark.click()
    expect(replies_link(page)).to_have_text("Replies 1")

    page.locator(f"#reply-{desk['reply']}").get_by_role(
        "button", name=f"Open the reply from {nina['name']}"
    ).click()
    expect(page).to_have_url(re.compile(rf"/candidates/{nina['id']}#message-{desk['reply']}$"))
    expect(page.get_by_role("heading", level=1, name=nina["name"])).to_be_visible()
    expect(replies_link(page)).to_have_text("Replies")
    assert seed(live_server, "read", str(desk["reply"]))["read_at"] is not None


def test_marking_a_reply_newer_ones_pushed_to_page_2_goes_there_with_it(
    page, js, desk, live_server
):
    """Back on the page the form was on, which no longer held the reply: with JS the focus fell to
    the page; without, the anchor found nothing."""
    nina = desk["people"][0]
    sign_in(page, desk["username"])
    page.goto("/sms/replies")
    mark = page.locator(f"#reply-{desk['reply']}").get_by_role(
        "button", name=f"Mark read the reply from {nina['name']}"
    )
    mark.focus()
    # A page's worth of Omar's replies come in while the list is read: Nina's is now on page 2.
    more = seed_more_replies(live_server, desk["people"][1]["message"], PAGE_SIZE)
    assert more["replies"] == PAGE_SIZE

    page.keyboard.press("Enter")

    expect(page.locator("#results-heading")).to_have_text("Replies to your messages, page 2")
    unmark = page.locator(f"#reply-{desk['reply']}").get_by_role(
        "button", name=f"Mark unread the reply from {nina['name']}"
    )
    expect(unmark).to_be_in_viewport()
    if js:
        expect(unmark).to_be_focused()
        expect(page).to_have_url(re.compile(r"/sms/replies\?page=2$"))
        page.keyboard.press("Enter")  # and back: still there, and the focus with it
        expect(
            page.locator(f"#reply-{desk['reply']}").get_by_role(
                "button", name=f"Mark read the reply from {nina['name']}"
            )
        ).to_be_focused()
        assert seed(live_server, "read", str(desk["reply"]))["read_at"] is None
    else:
        expect(page).to_have_url(re.compile(rf"/sms/replies\?page=2#reply-{desk['reply']}$"))
        assert seed(live_server, "read", str(desk["reply"]))["read_at"] is not None


def test_the_count_follows_new_replies_every_minute_with_javascript(page, js, desk, live_server):
    if not js:
        pytest.skip("without JavaScript the count is fresh on each page load (the other tests)")
    page.clock.install()
    sign_in(page, desk["username"])
    expect(replies_link(page)).to_have_text("Replies 1")
    omar = desk["people"][1]
    seed(live_server, "reply", str(omar["message"]), "Can't, sorry")

    # The page's clock is faked (and also runs on by itself): a minute on, the poll has asked.
    expect(replies_link(page)).to_have_text("Replies 1")
    page.clock.run_for(61_000)
    expect(replies_link(page)).to_have_text("Replies 2")
    # Both copies of the navigation (the folded one too) are refreshed.
    expect(page.locator(".unread-count")).to_have_text(["2", "2"])


# A link pasted into a reply: one word, as wide as the table would let it be.
LONG_LINK = "https://jobs.example.com/apply?ref=" + "x7Q" * 100


@pytest.mark.parametrize("width", [390, 1280])
def test_a_replys_buttons_stay_in_view_beside_a_long_link(page, js, desk, live_server, width):
    """The Actions column sat past the screen's edge on a phone, and past any screen's once one
    reply was a long link (3,500 px to the right)."""
    seed(live_server, "reply", str(desk["people"][1]["message"]), LONG_LINK)
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, desk["username"])
    page.goto("/sms/replies")
    buttons = page.locator("#results table button")
    expect(buttons).to_have_count(4)  # Open and Mark read, for each of the two replies
    for button in buttons.all():
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (button.inner_text(), box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_team_leader_sees_everyones_and_opening_leaves_the_reply_unread(
    page, js, desk, live_server
):
    nina = desk["people"][0]
    sign_in(page, "lead")
    page.goto("/sms/sent")
    everyone = page.get_by_label("Everyone’s", exact=True)
    page.get_by_label("Mine", exact=True).focus()
    page.keyboard.press("ArrowDown")  # a radio group is arrowed through
    expect(everyone).to_be_checked()
    if not js:
        page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(r"who=everyone"))
    row = page.locator(f"#batch-{desk['batch']}")
    expect(row).to_contain_text(desk["full_name"])

    page.goto("/sms/replies")
    tabs = page.get_by_role("navigation", name="Whose replies")
    tabs.get_by_role("link", name="Everyone’s").click()
    # The tab marked current is the list shown (htmx swaps the list and the tabs).
    expect(tabs.get_by_role("link", name="Everyone’s")).to_have_attribute("aria-current", "page")
    expect(tabs.get_by_role("link", name="Mine")).not_to_have_attribute("aria-current", "page")
    reply = page.locator(f"#reply-{desk['reply']}")
    expect(reply).to_contain_text(desk["full_name"])
    reply.get_by_role("button", name=f"Open the reply from {nina['name']}").click()
    expect(page.get_by_role("heading", level=1, name=nina["name"])).to_be_visible()
    # It was meant for the consultant: still unread for them.
    assert seed(live_server, "read", str(desk["reply"]))["read_at"] is None


@pytest.mark.parametrize("js", [True], ids=["js"])  # without it, Back reloads the page
def test_back_to_a_list_shows_a_reply_marked_since_as_it_is_now(page, js, desk):
    """Back to an earlier Replies list brought htmx's copy of it: the reply marked read since was
    bold with Mark read, beside a count that no longer counted it."""
    nina = desk["people"][0]
    sign_in(page, "lead")
    page.goto("/sms/replies?who=everyone")
    name = f"the reply from {nina['name']}"
    reply = page.locator(f"#reply-{desk['reply']}")
    expect(reply.get_by_role("button", name=f"Mark read {name}")).to_be_visible()
    tabs = page.get_by_role("navigation", name="Whose replies")
    for tab in ("Mine", "Everyone’s"):
        tabs.get_by_role("link", name=tab).focus()
        page.keyboard.press("Enter")
        expect(tabs.get_by_role("link", name=tab)).to_have_attribute("aria-current", "page")
    reply.get_by_role("button", name=f"Mark read {name}").focus()
    page.keyboard.press("Enter")
    expect(reply.get_by_role("button", name=f"Mark unread {name}")).to_be_focused()

    page.go_back()  # Mine
    expect(tabs.get_by_role("link", name="Mine")).to_have_attribute("aria-current", "page")
    page.go_back()  # the first Everyone's, where it was unread

    expect(tabs.get_by_role("link", name="Everyone’s")).to_have_attribute("aria-current", "page")
    expect(reply.get_by_role("button", name=f"Mark unread {name}")).to_be_visible()
    expect(reply.get_by_role("button", name=f"Mark read {name}")).to_have_count(0)


def test_a_viewer_has_no_sent_or_replies(page, js):
    sign_in(page, "viewer")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Candidates", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Sent", exact=True)).to_have_count(0)
    expect(nav.get_by_role("link", name=re.compile("^Replies"))).to_have_count(0)
    # Asked with the viewer's cookies (a page showing the 403 would report it as an error).
    assert page.request.get("/sms/replies").status == 403
    assert page.request.get("/sms/sent").status == 403


@pytest.mark.parametrize("js", [True])
def test_back_puts_the_filters_as_the_url_has_them(page, js):
    """Back restores the list from htmx's history, and the filters with it: Sent's State showed
    the first page's choice while the list and the URL were for another. (A team leader, for the
    Whose choice: Mine is the one with no value in the URL.)"""
    sign_in(page, "lead")
    page.goto("/sms/sent")
    mine = page.get_by_role("radio", name="Mine")
    expect(mine).to_be_checked()
    state = page.get_by_label("State", exact=True)
    state.focus()
    page.keyboard.press("ArrowDown")
    expect(page).to_have_url(re.compile(r"[?&]state=\w+"))
    first = re.search(r"state=(\w+)", page.url).group(1)
    page.keyboard.press("ArrowDown")
    expect(page).not_to_have_url(re.compile(rf"state={first}\b"))

    page.go_back()

    expect(page).to_have_url(re.compile(rf"state={first}\b"))
    expect(state).to_have_value(first)
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"state="))
    expect(state).to_have_value("")
    expect(mine).to_be_checked()


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_a_filter_corrected_by_typing_stops_saying_it_is_wrong(context, js):
    """The list came back for the dates typed, but "Sent to is before Sent from." stayed under
    the field, marked invalid: a filter form refreshes only the results."""
    with watched_page(context, allowed=REFUSED) as page:
        filter_corrected_by_typing(page)


def filter_corrected_by_typing(page) -> None:
    sign_in(page, "consultant")
    page.goto("/sms/sent?date_from=2026-12-07&date_to=2026-12-01")
    sent_to = page.get_by_label("Sent to", exact=True)
    expect(page.locator("#date_to-error")).to_have_text("Sent to is before Sent from.")

    sent_to.focus()
    sent_to.press_sequentially("12082026")

    expect(page).to_have_url(re.compile(r"date_to=2026-12-08"))
    expect(page.locator("#date_to-error")).to_have_count(0)
    expect(sent_to).not_to_have_attribute("aria-invalid", "true")

    sent_to.focus()
    for _ in range(2):  # back to the month, from the year typed last
        page.keyboard.press("ArrowLeft")
    sent_to.press_sequentially("11302026")  # before Sent from again

    expect(page.locator("#date_to-error")).to_have_text("Sent to is before Sent from.")
    expect(sent_to).to_have_attribute("aria-invalid", "true")
    expect(sent_to).to_have_attribute("aria-describedby", re.compile(r"\bdate_to-error\b"))


if __name__ == "__main__":
    import json
    import sys

    from tests.e2e.conversation_seed import reply
    from webapp import create_app

    message_id, count = (int(arg) for arg in sys.argv[1:3])
    with create_app().app_context():
        for n in range(count):
            reply(message_id, f"More news {n}")
        print(json.dumps({"replies": count}))
