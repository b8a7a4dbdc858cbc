"""A template's preview drawn again by the counter while the user types in Record type and Record
id: the counter's answer held in the browser until the test lets it through (as on a slow network,
but on cue), and what was typed meanwhile is still there when it lands."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import retype
from tests.e2e.test_slow_network import Held
from tests.e2e.test_template_preview_follows import preview_candidate_1


def is_a_count(request) -> bool:
    return "action=counter" in (request.post_data or "")


@pytest.mark.parametrize("js", [True], ids=["js"])  # without it, the counter is never asked
def test_a_record_id_typed_while_the_counter_is_on_its_way_is_kept(page, js):
    """The counter's answer drew the whole preview box again, Record type and Record id in it:
    the id typed meanwhile went back to the one previewed before, and Enter previewed that."""
    in_flight = preview_candidate_1(page)
    bubble = page.locator("#preview blockquote.sms-bubble")
    expect(bubble).to_have_text(re.compile(r"^Hi .+ abc$"))  # candidate 1's first name
    record_type = page.get_by_label("Record type", exact=True)
    record_id = page.get_by_label("Record id", exact=True)

    counts = Held(page, "**/templates/new", is_a_count)
    message = page.get_by_label("Message", exact=True)
    message.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type(" more")
    counts.wait_for(1)  # its 300 ms delay over: on its way, for candidate 1
    record_type.focus()
    page.keyboard.press("ArrowDown")  # Client contacts
    expect(record_type).to_have_value("contact")
    retype(page, "Record id", "2")
    expect(record_id).to_have_value("2")

    counts.release()
    in_flight.wait_quiet()
    # The answer drew the preview's result for the text typed, and nothing typed since.
    expect(bubble).to_have_text(re.compile(r"^Hi .+ abc more$"))
    expect(record_id).to_have_value("2")
    expect(record_type).to_have_value("contact")
    expect(record_id).to_be_focused()
    page.keyboard.type("0")
    expect(record_id).to_have_value("20")  # the caret stayed where it was, at the end


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_a_late_count_does_not_draw_the_preview_back_over_a_later_preview(page, js):
    """The counter's answer, drawing only the preview's result now, still draws nothing over the
    result of a Preview pressed after it left: Record id 2 previewed, not candidate 1 again."""
    in_flight = preview_candidate_1(page)
    heading = page.locator("#preview-heading")
    expect(heading).to_be_focused()
    first = heading.inner_text()

    counts = Held(page, "**/templates/new", is_a_count)
    page.get_by_label("Message", exact=True).focus()
    page.keyboard.press("Control+End")
    page.keyboard.type(" more")
    counts.wait_for(1)  # for candidate 1
    retype(page, "Record id", "2")
    page.keyboard.press("Enter")  # Preview, let through
    expect(heading).not_to_have_text(first)
    second = heading.inner_text()

    counts.release()
    in_flight.wait_quiet()
    expect(heading).to_have_text(second)
    expect(page.locator("#preview blockquote.sms-bubble")).to_have_text(
        re.compile(r"^Hi .+ abc more$")
    )
    expect(page.get_by_label("Record id", exact=True)).to_have_value("2")
