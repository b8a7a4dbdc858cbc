"""A template chosen on the SMS screen whose text comes late (its request held in the browser until
the test lets it through, as on a slow network but on cue), with words typed into the Message
meanwhile: the typed words stay, and the template asks before it replaces them, as it asks when
they were typed before the template was chosen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_compose_keyboard import single_sms, tab_to_button
from tests.e2e.test_slow_network import Held, InFlight

TYPED = "P.S. bring ID"


def first_use_template():
    """Holds only the first "Use template": the question asked after it goes through."""
    seen = []

    def which(request) -> bool:
        if "action=use_template" not in (request.post_data or "") or seen:
            return False
        seen.append(request)
        return True

    return which


@pytest.mark.parametrize("js", [True])
def test_words_typed_while_a_template_comes_are_kept_and_the_template_asks(page, js):
    """Its late answer put the template's text over the words typed meanwhile, without asking."""
    single_sms(page, "Hopper", "Grace Hopper")
    template = page.get_by_label("Template", exact=True)
    message = page.get_by_label("Message", exact=True)
    expect(template).to_be_focused()
    in_flight = InFlight(page)
    held = Held(page, "**/sms/compose/*/update", first_use_template())

    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    name = template.evaluate("list => list.options[list.selectedIndex].text.trim()")
    page.keyboard.press("Enter")  # Use template
    held.wait_for(1)
    message.click()
    page.keyboard.type(TYPED)
    expect(message).to_have_value(TYPED)

    held.release()
    in_flight.wait_quiet()
    question = page.locator(".question")
    expect(question).to_contain_text(
        f"The Message holds text you typed. Replace it with the text of “{name}”?"
    )
    expect(message).to_have_value(TYPED)
    expect(page.get_by_role("button", name="Replace", exact=True)).to_be_focused()

    tab_to_button(page, "Keep my text")
    page.keyboard.press("Enter")
    expect(question).to_have_count(0)
    expect(message).to_have_value(TYPED)

    # Back on the Template list, asked again: Replace puts the template's text in, on their word.
    expect(template).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Replace", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(question).to_have_count(0)
    expect(message).not_to_have_value(TYPED)
    expect(message).not_to_have_value("")
