"""The search page's shortcuts and the SMS screen beside the list, JavaScript on: what is typed on
the screen's heading is no shortcut for the list behind it, and Esc cancels a screen still on its
way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import results_heading, unexpected
from tests.e2e.test_slow_network import Held, InFlight

YOUNG = 6  # candidates of the e2e data a search for "young" finds


@pytest.fixture
def js() -> bool:
    return True


@pytest.fixture
def page_errors():
    """The SMS screen Esc cancels is aborted on purpose: not an error."""
    return unexpected


def tick_two_rows(page: Page) -> None:
    """By keyboard: / to Search, ↓ into the list, x on the first row and the second."""
    page.goto("/candidates?q=young")
    expect(page.locator("#results-heading")).to_have_text(results_heading(YOUNG))
    page.keyboard.press("/")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("2 selected")


def focus_in_panel(page: Page) -> bool:
    return page.evaluate(
        "() => document.getElementById('compose-panel').contains(document.activeElement)"
    )


def test_typing_on_the_sms_screens_heading_sets_off_no_shortcut_of_the_list(page):
    """Typed straight after Bulk SMS, j went into the list, s opened the first row's SMS screen in
    place of the two people's, and a ticked every row behind the screen."""
    sign_in(page, "consultant")
    tick_two_rows(page)
    names = page.locator("input.row-select:checked").evaluate_all(
        "boxes => boxes.map(box => box.getAttribute('aria-label').replace('Select ', ''))"
    )
    in_flight = InFlight(page)
    page.keyboard.press("b")
    heading = page.locator("#compose-heading")
    expect(heading).to_have_text(re.compile(r"SMS to 2 people"))
    expect(heading).to_be_focused()

    page.keyboard.type("Hi, just confirming. Hi all xkb")
    in_flight.wait_quiet()
    expect(heading).to_have_text(re.compile(r"SMS to 2 people"))
    recipients = page.get_by_role("group", name="Mobile Number")
    for name in names:
        expect(recipients).to_contain_text(name)
    expect(page.locator("input.row-select:checked")).to_have_count(2)
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    assert focus_in_panel(page)

    page.keyboard.press("?")  # still a shortcut there
    help_section = page.get_by_role("region", name="Keyboard shortcuts")
    expect(help_section).to_be_visible()
    page.keyboard.press("?")
    expect(help_section).to_be_hidden()
    page.keyboard.press("Escape")  # and so is Esc
    expect(page.locator("#compose-panel #compose")).to_have_count(0)
    expect(page.get_by_role("button", name="Bulk SMS")).to_be_focused()


def test_esc_cancels_a_bulk_sms_still_on_its_way(page):
    """On a slow network Esc did nothing while the panel was empty; the screen came later, for the
    ticks as they were, and took the focus out of the list."""
    sign_in(page, "consultant")
    tick_two_rows(page)
    second = page.locator("input.row-select").nth(1)
    expect(second).to_be_focused()
    in_flight = InFlight(page)
    # Held in the browser (a slow network on cue): on a busy CI machine a throttled answer could
    # land before Esc was pressed.
    screens = Held(page, "**/sms/compose")
    page.keyboard.press("b")
    screens.wait_for(1)
    page.keyboard.press("Escape")
    screens.release()  # aborted by Esc: nothing to let through
    in_flight.wait_quiet()
    expect(page.locator("#compose-panel #compose")).to_have_count(0)
    expect(page.locator("#compose-panel")).to_be_empty()
    expect(second).to_be_focused()
    expect(page.locator("#live-status")).to_have_text("The SMS screen was not opened.")

    page.unroute("**/sms/compose")
    page.keyboard.press("b")  # Bulk SMS still works
    heading = page.locator("#compose-heading")
    expect(heading).to_have_text(re.compile(r"SMS to 2 people"))
    expect(heading).to_be_focused()
