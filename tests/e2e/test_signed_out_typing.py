"""Typing in a page whose session ended meanwhile (signed out in another tab, or everywhere from
another computer): the page goes to the sign-in page at its next request, and signing in again
brings back the same page with what was typed in it, not an empty form."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, sign_in, watched_page
from tests.e2e.helpers import arrow_to, retype, signed_in, unexpected

pytestmark = pytest.mark.e2e

# Chromium logs each 4xx answer as a console error: the refused counter is one, and expected.
REFUSED = re.compile(r"status of 40[01]")
# And the refusal of a clashing save (409). (`unexpected`: the For list aborts its own requests.)
CLASH = re.compile(r"status of 40[019]")
NAME = "Interview reminder"
BODY = "Hi {{first_name}}, see you at 10 am tomorrow. Bring your ID"


@pytest.fixture
def js() -> bool:
    return True


def sign_in_again(page, username: str = "consultant") -> None:
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")


def type_template(page) -> None:
    page.goto("/templates/new")
    page.get_by_label("Name", exact=True).click()
    page.keyboard.type(NAME)
    page.get_by_label("Message", exact=True).click()
    page.keyboard.type(BODY)
    expect(page.locator("#sms-counter")).to_have_attribute("data-characters", str(len(BODY)))


@pytest.mark.parametrize("ended", ["signed out in another tab", "signed out everywhere"])
def test_a_template_typed_when_the_session_ended_is_back_after_signing_in(
    browser, context, live_server, ended
):
    with watched_page(context, allowed=REFUSED) as page:
        sign_in(page, "consultant")
        type_template(page)
        if ended == "signed out in another tab":
            other = context.new_page()
            other.goto("/profile")
            other.get_by_role("button", name="Sign out", exact=True).click()
            expect(other).to_have_url(re.compile(r"/login$"))  # closed mid-navigation, close() hung
            other.close()
        else:
            with signed_in(browser, live_server.url, "consultant", 10_000) as elsewhere:
                elsewhere.goto("/profile")
                elsewhere.get_by_role("button", name="Sign out everywhere").click()
                # Done before its context closes: a close during the navigation hung once in CI.
                expect(elsewhere).to_have_url(re.compile(r"/login$"))
        page.bring_to_front()
        # One more word: the counter's request finds the session gone.
        page.get_by_label("Message", exact=True).press("End")
        page.keyboard.type(" please.")
        sign_in_again(page)
        expect(page).to_have_url(re.compile(r"/templates/new$"))
        expect(page.get_by_label("Name", exact=True)).to_have_value(NAME)
        expect(page.get_by_label("Message", exact=True)).to_have_value(BODY + " please.")
        expect(page.get_by_label("Message", exact=True)).to_be_focused()  # typing carries on
        # The counter follows the text put back.
        expect(page.locator("#sms-counter")).to_have_attribute(
            "data-characters", str(len(BODY + " please."))
        )
        # Put back once: the next visit to the page is an empty form again.
        page.goto("/templates/new")
        expect(page.get_by_label("Message", exact=True)).to_have_value("")


def test_what_one_user_typed_is_not_put_back_for_another(context):
    """A shared computer: the next person to sign in at that tab gets the page, not the text."""
    with watched_page(context, allowed=REFUSED) as page:
        sign_in(page, "consultant")
        type_template(page)
        other = context.new_page()
        other.goto("/profile")
        other.get_by_role("button", name="Sign out", exact=True).click()
        expect(other).to_have_url(re.compile(r"/login$"))  # closed mid-navigation, close() hung
        other.close()
        page.bring_to_front()
        page.get_by_label("Message", exact=True).press("End")
        page.keyboard.type(" please.")
        sign_in_again(page, "lead")
        expect(page).to_have_url(re.compile(r"/templates/new$"))
        expect(page.get_by_label("Message", exact=True)).to_have_value("")
        expect(page.get_by_label("Name", exact=True)).to_have_value("")


def sign_out_in_another_tab(context) -> None:
    other = context.new_page()
    other.goto("/profile")
    other.get_by_role("button", name="Sign out", exact=True).click()
    expect(other).to_have_url(re.compile(r"/login$"))  # closed mid-navigation, close() hung
    other.close()


def choose_for_and_commercial(page) -> None:
    """For and Commercial as a keyboard user changes them: arrow keys, then Space."""
    arrow_to(page, page.get_by_label("For", exact=True), "Client contacts")
    page.get_by_label("Commercial", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Commercial", exact=True)).to_be_checked()


def expect_for_and_commercial_back(page) -> None:
    expect(page.get_by_label("For", exact=True).locator("option:checked")).to_have_text(
        "Client contacts"
    )
    expect(page.get_by_label("Commercial", exact=True)).to_be_checked()
    # What follows them by hand follows them put back: the counter, the fields For offers.
    expect(page.locator("#sms-counter")).to_contain_text("with the opt-out line")
    picker = page.get_by_label("Insert merge field", exact=True)
    expect(picker.locator("option", has_text="Client name")).to_have_count(1)


def test_the_choices_of_a_new_template_are_back_with_its_text(context):
    """Only the text came back: For and Commercial showed as the fresh form draws them, and a
    marketing template saved so went out without its opt-out line."""
    with watched_page(context, allowed=REFUSED, unexpected=unexpected) as page:
        sign_in(page, "consultant")
        type_template(page)
        choose_for_and_commercial(page)
        sign_out_in_another_tab(context)
        page.bring_to_front()
        page.get_by_label("Message", exact=True).press("End")
        page.keyboard.type(" please.")
        sign_in_again(page)
        expect(page).to_have_url(re.compile(r"/templates/new$"))
        expect(page.get_by_label("Message", exact=True)).to_have_value(BODY + " please.")
        expect_for_and_commercial_back(page)
        expect(page.get_by_label("Message", exact=True)).to_be_focused()


def test_a_colleagues_save_meanwhile_is_refused_not_overwritten(browser, context, live_server):
    """The text came back over a form loaded afresh, so Save took it for a change made over the
    colleague's save and silently undid it; it is refused as a clash, as for two tabs."""
    name = f"Opt out {uuid.uuid4().hex[:6]}"  # a template of this test's own: the server is shared
    with watched_page(context, allowed=CLASH, unexpected=unexpected) as page:
        sign_in(page, "lead")
        page.goto("/templates/new")
        retype(page, "Message", BODY)
        page.get_by_label("Shared with everyone who sends SMS", exact=True).focus()
        page.keyboard.press("Space")  # so that the admin may change it too
        retype(page, "Name", name)
        page.keyboard.press("Enter")
        expect(page.locator(".flashes")).to_contain_text(f"Template “{name}” added.")
        page.goto(f"/templates?q={name}")
        page.get_by_role("link", name=f"Edit {name}").click()
        edit = page.url
        page.wait_for_load_state("load")
        choose_for_and_commercial(page)
        page.get_by_label("Message", exact=True).press("End")
        page.keyboard.type(" please.")

        with signed_in(browser, live_server.url, "admin", 10_000) as admin:
            admin.goto(edit)
            admin.get_by_label("Message", exact=True).press("Control+Home")
            admin.keyboard.type("[ADMIN] ")
            admin.get_by_role("button", name="Save", exact=True).click()
            expect(admin.locator(".flashes")).to_contain_text(f"Template “{name}” saved.")

        sign_out_in_another_tab(context)
        page.bring_to_front()
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
        page.get_by_role("link", name="Sign in again").click()
        sign_in_again(page, "lead")
        expect(page).to_have_url(edit)
        expect(page.get_by_label("Message", exact=True)).to_have_value(BODY + " please.")
        expect_for_and_commercial_back(page)

        page.get_by_role("button", name="Save", exact=True).click()

        refusal = page.locator("p.error[role=alert]")
        expect(refusal).to_contain_text(f"Message is now “[ADMIN] {BODY}”")
        expect(page.get_by_label("Message", exact=True)).to_have_value(BODY + " please.")
        expect_for_and_commercial_back(page)
