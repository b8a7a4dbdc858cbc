"""A template's merge-field picker redrawn late: For changed, its redraw held in the browser until
the test lets it through (as on a slow network, but on cue), and a field chosen in the picker while
the redraw was on its way stays chosen, with the focus, so Enter inserts it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_slow_network import Held, InFlight


def is_a_picker_redraw(request) -> bool:
    return "action=picker" in (request.post_data or "")


@pytest.mark.parametrize("js", [True])
def test_a_field_chosen_while_for_redraws_the_picker_stays_chosen(page):
    """The late answer put the picker back on "Choose a field…", and Enter inserted nothing."""
    sign_in(page, "consultant")
    page.goto("/templates/new")
    picker = page.get_by_label("Insert merge field", exact=True)
    message = page.get_by_label("Message", exact=True)
    expect(message).to_have_value("")
    in_flight = InFlight(page)
    # Held, not throttled: on a busy CI machine the key presses below outlasted even 4 s of latency,
    # and the redraw came back before the field was chosen.
    redraws = Held(page, "**/templates/new", is_a_picker_redraw)

    page.get_by_label("For", exact=True).focus()
    page.keyboard.press("ArrowDown")  # Candidates: the picker is asked for again
    expect(page.get_by_label("For", exact=True)).to_have_value("candidate")
    redraws.wait_for(1)
    page.keyboard.press("Tab")
    expect(picker).to_be_focused()
    for _ in range(5):
        if picker.evaluate("list => list.options[list.selectedIndex].text.trim()") == "Last name":
            break
        page.keyboard.press("ArrowDown")
    expect(picker).to_have_value("last_name")
    expect(picker.locator("option[value='client_name']")).to_have_count(1)  # not redrawn yet

    redraws.release()
    in_flight.wait_quiet()
    # Redrawn for candidates (Client name is not theirs), the choice and the focus kept.
    expect(picker.locator("option[value='client_name']")).to_have_count(0)
    expect(picker).to_have_value("last_name")
    expect(picker).to_be_focused()

    page.keyboard.press("Enter")
    expect(message).to_have_value("{{last_name}}")
