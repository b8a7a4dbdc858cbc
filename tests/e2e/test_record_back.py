"""Back onto a record page or its Edit form, and the Quick reply without JavaScript: Back never
brings back what the page held before (a box ticked or a value typed) beside the loaded values of
the page as it is now, which would undo a colleague's save as if it were this user's change; Back
after a history tab fetches the page again rather than showing htmx's copy of it from before a
save; and a Quick reply sent without JavaScript says so in its form, with the focus."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import add_candidate, posts_made
from tests.e2e.test_slow_network import InFlight, throttle

pytestmark = pytest.mark.e2e


def person(page: Page, first: str, last: str) -> str:
    """A candidate of this test's own (the server is shared by the browser tests): their record's
    address."""
    digits = f"{random.randrange(10**6):06d}"
    add_candidate(page, first, f"{last}{digits}", f"0413 {digits[:3]} {digits[3:]}")
    return page.url.split("#")[0]


@pytest.fixture
def colleague(browser, live_server):
    """Another consultant, JavaScript on, in a browser of their own."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, "consultant")
    yield page
    context.close()


def save_privacy(page: Page, js: bool) -> None:
    button = page.locator("#privacy").get_by_role("button", name="Save Privacy")
    if js:
        button.click()
        expect(page.locator("#privacy").get_by_role("status")).to_be_visible()
    else:
        with page.expect_navigation():
            button.click()


def test_back_onto_a_record_does_not_tick_again_the_sms_a_colleague_unticked(page, js, colleague):
    sign_in(page, "consultant")
    record = person(page, "Bea", "Back")
    with page.expect_navigation():
        page.get_by_role("link", name="Edit", exact=True).click()
    colleague.goto(record)
    colleague.locator("#privacy").get_by_label("SMS", exact=True).uncheck()
    save_privacy(colleague, js=True)

    page.go_back()
    sms = page.locator("#privacy").get_by_label("SMS", exact=True)
    expect(sms).not_to_be_checked()  # as stored now, not as the page was left
    page.locator("#privacy").get_by_label("Privacy statement read").check()
    save_privacy(page, js)

    page.goto(record)
    expect(sms).not_to_be_checked()
    expect(page.locator("#privacy").get_by_label("Privacy statement read")).to_be_checked()


def test_back_onto_the_edit_form_does_not_undo_a_colleagues_save(page, js, colleague):
    sign_in(page, "consultant")
    record = person(page, "Eli", "Back")
    page.goto(f"{record}/edit")
    page.get_by_label("Job title").fill("Plumber")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    colleague.goto(f"{record}/edit")
    colleague.get_by_label("Job title").fill("Fitter")
    with colleague.expect_navigation():
        colleague.get_by_role("button", name="Save", exact=True).click()

    page.go_back()
    expect(page.get_by_label("Job title")).to_have_value("Fitter")  # not "Plumber" as typed
    page.get_by_label("Location").fill("Darwin")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()

    details = page.locator("dl.details").first
    expect(details).to_contain_text("Fitter")
    expect(details).to_contain_text("Darwin")


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_back_after_a_history_tab_fetches_the_record_again(page, js):
    sign_in(page, "consultant")
    record = person(page, "Ida", "Back")
    page.locator("#history-tab-sent").click()
    expect(page).to_have_url(re.compile(r"\?tab=sent"))
    email = page.locator("#privacy").get_by_label("Email", exact=True)
    email.uncheck()
    save_privacy(page, js)

    page.go_back()
    expect(page).to_have_url(record)
    expect(page.locator("#history-tab-all")).to_have_attribute("aria-current", "page")
    expect(email).not_to_be_checked()  # as saved, not htmx's copy from before the save
    # Nor is the person's record kept in the browser's storage.
    cached = page.evaluate("() => sessionStorage.getItem('htmx-history-cache') || ''")
    assert "Ida Back" not in cached


@pytest.mark.parametrize("js", [False], ids=["nojs"])
def test_without_javascript_a_quick_reply_says_it_went_in_its_form_with_the_focus(page, js):
    sign_in(page, "consultant")
    record = person(page, "Uma", "Back")
    page.get_by_label("Quick reply", exact=True).fill("Checking in")
    with page.expect_navigation():
        page.get_by_role("button", name="Send reply").click()

    expect(page).to_have_url(record)  # no #fragment: the page would then focus no [autofocus]
    said = page.locator("#quick-reply p[role=status]")
    expect(said).to_have_text(re.compile(r"^Reply to Uma Back\d+ queued"))
    expect(said).to_be_focused()
    expect(said).to_be_in_viewport()
    expect(page.locator(".flashes")).to_have_count(0)


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_back_after_a_history_tab_keeps_what_was_typed_in_the_quick_reply(page, js):
    """Back fetches the record again (it is kept out of htmx's cache): its Quick reply came back
    empty, and what was typed in it was lost."""
    sign_in(page, "consultant")
    record = person(page, "Ola", "Back")
    box = page.get_by_label("Quick reply", exact=True)
    box.fill("Before the tab")
    page.locator("#history-tab-sent").click()
    expect(page).to_have_url(re.compile(r"\?tab=sent"))
    box.focus()
    page.keyboard.type(", and after it")

    page.go_back()
    expect(page).to_have_url(record)
    expect(page.locator("#history-tab-all")).to_have_attribute("aria-current", "page")
    expect(box).to_have_value("Before the tab, and after it")
    expect(page.locator("#quick-reply-counter")).to_contain_text("28 characters")

    page.go_forward()
    expect(page.locator("#history-tab-sent")).to_have_attribute("aria-current", "page")
    expect(box).to_have_value("Before the tab, and after it")
    # Sent, it is not put back: Back then finds the box empty.
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#quick-reply p[role=status]")).to_have_text(re.compile("^Reply to Ola"))
    expect(box).to_have_value("")
    page.locator("#history-tab-all").click()
    expect(page).to_have_url(re.compile(r"\?tab=all"))
    page.go_back()
    expect(page.locator("#history-tab-sent")).to_have_attribute("aria-current", "page")
    expect(box).to_have_value("")
    cached = page.evaluate("() => JSON.stringify(sessionStorage)")
    assert "Before the tab" not in cached


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_back_while_a_send_reply_is_out_does_not_put_its_text_back_to_send_twice(page, js):
    """Back as Send reply left: its POST still went (Back aborts only GETs), and the text put back
    on the fresh page (a new reply token) would have sent a second SMS at the next press."""
    sign_in(page, "consultant")
    person(page, "Pia", "Back")
    page.locator("#history-tab-sent").click()
    expect(page).to_have_url(re.compile(r"\?tab=sent"))
    box = page.get_by_label("Quick reply", exact=True)
    box.focus()
    page.keyboard.type("Are you free at ten?")
    posts = posts_made(page, "/reply")
    in_flight = InFlight(page)
    throttle(page, 1500)
    page.get_by_role("button", name="Send reply").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Send reply")).to_be_disabled()
    page.go_back()
    in_flight.wait_quiet()

    expect(page.locator("#history-tab-all")).to_have_attribute("aria-current", "page")
    expect(box).to_have_value("")
    assert len(posts) == 1
