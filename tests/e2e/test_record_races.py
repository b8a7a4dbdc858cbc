"""A record page on a slow network, JavaScript on: what the user does while a request is on its
way wins over the request's answer. Typing in the Quick reply while Save Privacy is out stays
typed, with the focus; a tab chosen while the thread's own refresh is out is the tab shown."""

from __future__ import annotations

import itertools
import random
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import add_candidate, posts_made, run_seed
from tests.e2e.test_slow_network import Held, InFlight, throttle, unexpected

pytestmark = pytest.mark.e2e

SETUPS = itertools.count(50)  # apart from test_sent_replies.py's setups in the same database


@pytest.fixture
def js() -> bool:
    """Races between requests exist only with JavaScript on (without it the form posts its page)."""
    return True


@pytest.fixture
def page_errors():
    """The thread's refresh that a tab replaces is aborted on purpose: not an error."""
    return unexpected


def test_typing_in_the_quick_reply_while_privacy_saves_is_kept_with_the_focus(page):
    """The save carries the Quick reply and draws it again for the consent it leaves: the text
    typed after it left was wiped, and the focus went to Save Privacy."""
    sign_in(page, "consultant")
    digits = f"{random.randrange(10**6):06d}"
    add_candidate(page, "Pat", f"Racing{digits}", f"0413 {digits[:3]} {digits[3:]}")
    privacy = page.locator("#privacy")
    in_flight = InFlight(page)
    throttle(page, 1500)

    privacy.get_by_label("Mail", exact=True).focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    while not privacy.get_by_role("button", name="Save Privacy").evaluate(
        "button => button === document.activeElement"
    ):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_text("Quick reply", exact=True).click()  # its label: into the box
    page.keyboard.type("Typed while Privacy saves")
    in_flight.wait_quiet()

    expect(page.locator("#privacy").get_by_role("status")).to_have_text(re.compile("Mail unticked"))
    box = page.get_by_label("Quick reply", exact=True)
    expect(box).to_have_value("Typed while Privacy saves")
    expect(box).to_be_focused()
    page.keyboard.type(", and more")  # the caret where typing stopped
    expect(box).to_have_value("Typed while Privacy saves, and more")


def test_a_reason_typed_in_the_quick_reply_while_privacy_saves_is_kept(page):
    """The Quick reply's reason for ignoring an opt-out is drawn again by the save too."""
    sign_in(page, "lead")  # may ignore opt-outs
    digits = f"{random.randrange(10**6):06d}"
    add_candidate(page, "Sam", f"Optout{digits}", f"0413 {digits[:3]} {digits[3:]}")
    privacy = page.locator("#privacy")
    privacy.get_by_label("SMS", exact=True).uncheck()  # not what is under test: opts them out
    privacy.get_by_role("button", name="Save Privacy").click()
    reason = page.get_by_label("Reason for ignoring opt-outs")
    expect(reason).to_be_visible()
    in_flight = InFlight(page)
    throttle(page, 1500)

    privacy.get_by_label("Mail", exact=True).focus()
    page.keyboard.press("Space")
    privacy.get_by_role("button", name="Save Privacy").focus()
    page.keyboard.press("Enter")
    reason.focus()
    page.keyboard.type("They asked by phone")
    in_flight.wait_quiet()

    expect(page.locator("#privacy").get_by_role("status")).to_have_text(re.compile("Mail unticked"))
    expect(reason).to_have_value("They asked by phone")
    expect(reason).to_be_focused()


def test_a_tab_chosen_while_the_thread_refreshes_is_the_tab_shown(page, live_server):
    """The refresh (every 3 s while an SMS is queued) and the tab both replace the thread: the
    refresh's answer landed first and the tab's was dropped, leaving All under ?tab=sent."""
    made = run_seed(live_server, "tests.e2e.conversation_seed", "setup", "js", str(next(SETUPS)))
    nina = made["people"][0]
    run_seed(live_server, "tests.e2e.conversation_seed", "reply", str(nina["message"]), "Yes")
    run_seed(live_server, "tests.e2e.conversation_seed", "hold", str(nina["message"]))
    sign_in(page, made["username"])
    page.goto(f"/candidates/{nina['id']}")
    conversation = page.locator("#conversation")
    expect(conversation).to_have_attribute("hx-trigger", "every 3s")
    sent = page.locator("#history-tab-sent")
    sent.focus()
    throttle(page, 1000)
    refreshes = []
    page.on(
        "request",
        lambda request: (
            "part=thread" in request.url and "tab=all" in request.url and refreshes.append(request)
        ),
    )
    for _ in range(80):  # until a refresh has left
        if refreshes:
            break
        page.wait_for_timeout(50)
    assert refreshes, "the thread never refreshed itself"

    page.wait_for_timeout(300)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"\?tab=sent"))
    expect(sent).to_have_attribute("aria-current", "page", timeout=5000)
    expect(page.locator("#history-tab-all")).not_to_have_attribute("aria-current", "page")
    expect(page.locator("input[name=tab][form=quick-reply]")).to_have_value("sent")
    # The thread refreshes itself on the tab chosen from now on.
    expect(conversation).to_have_attribute("hx-get", re.compile(r"tab=sent&part=thread"))
    page.wait_for_timeout(4500)  # a refresh or more later
    expect(sent).to_have_attribute("aria-current", "page")
    expect(sent).to_be_focused()


def test_a_reply_sent_while_a_tab_is_on_its_way_comes_back_on_that_tab(page):
    """Received pressed, then Send reply before the tab's answer came: the reply redrew the All
    tab's thread, and the tab's late answer put Received in the address; a reload showed
    Received. The reply comes back on the tab chosen, which the address says."""
    sign_in(page, "consultant")
    digits = f"{random.randrange(10**6):06d}"
    add_candidate(page, "Tab", f"Racer{digits}", f"0413 {digits[:3]} {digits[3:]}")
    page.get_by_text("Quick reply", exact=True).click()  # its label: into the box
    page.keyboard.type("Sent while a tab loads")
    in_flight = InFlight(page)
    tabs = Held(page, "**/candidates/*", lambda request: "part=thread" in request.url)
    received = page.locator("#history-tab-received")

    received.focus()
    page.keyboard.press("Enter")
    tabs.wait_for(1)
    page.get_by_role("button", name="Send reply", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#quick-reply p[role=status]")).to_contain_text("queued")
    tabs.release()
    in_flight.wait_quiet()

    expect(page).to_have_url(re.compile(r"\?tab=received"))
    expect(received).to_have_attribute("aria-current", "page")
    expect(page.locator("#history-tab-all")).not_to_have_attribute("aria-current", "page")


def test_privacy_cannot_be_changed_while_a_save_is_out_and_a_second_save_goes_through(page):
    """A second Save Privacy pressed while the first was out was queued by htmx, then dropped when
    the first answer replaced the form: its change vanished unsaid. The form is disabled until the
    answer comes, then takes the next change."""
    sign_in(page, "consultant")
    digits = f"{random.randrange(10**6):06d}"
    add_candidate(page, "Lee", f"Twice{digits}", f"0413 {digits[:3]} {digits[3:]}")
    record = page.url.split("#")[0]
    privacy = page.locator("#privacy")
    sms = privacy.get_by_label("SMS", exact=True)
    save = privacy.get_by_role("button", name="Save Privacy")
    sms.uncheck()  # the tester's start: SMS unticked
    save.click()
    expect(privacy.get_by_role("status")).to_have_text(re.compile("SMS unticked"))
    posts = posts_made(page, "/privacy")
    in_flight = InFlight(page)
    throttle(page, 2000)

    sms.focus()
    page.keyboard.press("Space")  # ticks it
    save.focus()
    page.keyboard.press("Enter")
    expect(sms).to_be_disabled()
    expect(save).to_be_disabled()
    for field in privacy.locator("input:not([type=hidden])").all():
        expect(field).to_be_disabled()
    sms.focus()  # refused while disabled: the keys below change and send nothing
    page.keyboard.press("Space")
    save.focus()
    page.keyboard.press("Enter")
    in_flight.wait_quiet()

    expect(privacy.get_by_role("status")).to_have_text(re.compile("SMS ticked"))
    expect(sms).to_be_checked()
    expect(sms).to_be_enabled()
    expect(save).to_be_focused()
    assert len(posts) == 1

    sms.focus()
    page.keyboard.press("Space")  # unticks it
    save.focus()
    page.keyboard.press("Enter")
    in_flight.wait_quiet()

    expect(privacy.get_by_role("status")).to_have_text(re.compile("SMS unticked"))
    assert len(posts) == 2
    page.goto(record)
    expect(page.locator("#privacy").get_by_label("SMS", exact=True)).not_to_be_checked()


def test_enter_in_the_quick_replys_reason_sends_nothing(page):
    """Enter in the reason for ignoring an opt-out pressed Send reply, past the opt-out, at once:
    Send is a button pressed on purpose, as on the SMS screen."""
    sign_in(page, "lead")  # may ignore opt-outs
    digits = f"{random.randrange(10**6):06d}"
    add_candidate(page, "Ren", f"Enter{digits}", f"0413 {digits[:3]} {digits[3:]}")
    privacy = page.locator("#privacy")
    privacy.get_by_label("SMS", exact=True).uncheck()  # opts them out
    privacy.get_by_role("button", name="Save Privacy").click()
    reason = page.get_by_label("Reason for ignoring opt-outs")
    expect(reason).to_be_visible()
    sends = []
    page.on(
        "request",
        lambda request: (
            request.method == "POST" and request.url.endswith("/reply") and sends.append(request)
        ),
    )
    box = page.get_by_label("Quick reply", exact=True)
    box.focus()
    page.keyboard.type("Are you still looking?")
    reason.focus()
    page.keyboard.type("They asked by phone")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1000)

    assert sends == []
    expect(box).to_have_value("Are you still looking?")
    expect(reason).to_have_value("They asked by phone")
    expect(reason).to_be_focused()
    expect(page.locator("#quick-reply p[role=status]")).to_have_count(0)
