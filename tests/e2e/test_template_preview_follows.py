"""A template's preview follows the Message typed and Commercial ticked after Preview, as the
counter below it does, and the focus stays where the user is; Deactivate on the list lands on the
list with the focus on what it did."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import retype
from tests.e2e.test_slow_network import InFlight


def preview_candidate_1(page) -> InFlight:
    """A new template "Hi {{first_name}} abc", previewed with Enter in Record id for candidate 1,
    its answer drawn: the requests watched from here on."""
    sign_in(page, "consultant")
    page.goto("/templates/new")
    retype(page, "Message", "Hi {{first_name}} abc")
    retype(page, "Record id", "1")
    in_flight = InFlight(page)
    page.keyboard.press("Enter")
    in_flight.wait_quiet()
    return in_flight


@pytest.mark.parametrize("js", [True], ids=["js"])  # without it, each change is a page of its own
def test_the_preview_follows_typing_and_commercial_without_taking_the_focus(page, js):
    """The counter said "22 characters (for Arjun Wang)" while the bubble still showed the text
    as it was when Preview was pressed, and no opt-out line once Commercial was ticked."""
    in_flight = preview_candidate_1(page)
    bubble = page.locator("#preview blockquote.sms-bubble")
    expect(bubble).to_contain_text(" abc")
    expect(page.locator("#preview-heading")).to_be_focused()  # Preview pressed: what it shows

    message = page.get_by_label("Message", exact=True)
    message.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type(" MORE TEXT")
    page.wait_for_timeout(400)  # the counter's delay
    in_flight.wait_quiet()

    expect(bubble).to_contain_text("abc MORE TEXT")
    expect(message).to_be_focused()  # not the preview's heading
    plain = bubble.inner_text()
    counter = page.locator("#sms-counter")
    expect(counter).to_contain_text("(for ")

    commercial = page.get_by_label("Commercial", exact=True)
    commercial.focus()
    page.keyboard.press("Space")
    in_flight.wait_quiet()

    expect(counter).to_contain_text("with the opt-out line")
    expect(bubble).not_to_have_text(plain)
    expect(bubble).to_contain_text("abc MORE TEXT")
    expect(commercial).to_be_focused()
    expect(commercial).to_be_checked()


def test_deactivate_on_the_list_puts_the_focus_on_what_it_did(page, js):
    """After Deactivate the focus was on the page's body: the next Tab started from the top and a
    screen reader said nothing of it."""
    sign_in(page, "consultant")
    name = f"Catch-up {uuid.uuid4().hex[:6]}"
    page.goto("/templates/new")
    retype(page, "Message", "See you soon")
    retype(page, "Name", name)
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text(f"Template “{name}” added.")
    page.goto(f"/templates?q={name}")

    page.get_by_role("button", name=f"Deactivate {name}").focus()
    page.keyboard.press("Enter")

    notice = page.locator("#results .flash")
    expect(notice).to_have_text(f"Template “{name}” deactivated.")
    expect(notice).to_be_focused()
