"""The SMS screen's preview when the counter's answer and Next recipient's cross on the way back:
the preview stays on the recipient Next chose and shows the text as typed last."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_journeys import FIRST_NAMES, bulk_sms
from tests.e2e.test_slow_network import Held, InFlight


@pytest.fixture
def js() -> bool:
    """Answers cross only with JavaScript on (without it each button posts the page)."""
    return True


def first_only():
    """A `which` for Held: the first request only (the counter asked again goes through)."""
    taken = []

    def which(_request) -> bool:
        taken.append(True)
        return len(taken) == 1

    return which


def press(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).focus()
    page.keyboard.press("Enter")


@pytest.mark.parametrize(
    ("left_first", "answered_first"),
    [
        ("counter", "next"),
        ("counter", "counter"),
        ("next", "next"),
        ("next", "counter"),
    ],
    ids=[
        "count-left-first-next-answered-first",
        "count-left-first-and-answered-first",
        "next-left-first-and-answered-first",
        "next-left-first-count-answered-first",
    ],
)
def test_typing_and_next_recipient_crossing_leave_the_preview_on_the_next_one(
    page, left_first, answered_first
):
    """Typed, and Next recipient pressed, both answers held, then let through in either order.
    A late count drew the preview back to recipient 1, or Next's late answer was dropped (the
    count had drawn its preview again): the preview stayed on recipient 1."""
    bulk_sms(page, "consultant", FIRST_NAMES)
    message = page.get_by_label("Message", exact=True)
    message.focus()
    page.keyboard.type("Hi {{first_name}}")
    in_flight = InFlight(page)
    press(page, "Preview")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Recipient 1 of 3")
    in_flight.wait_quiet()

    def type_more() -> Held:
        counts = Held(page, "**/counter", which=first_only())
        message.focus()
        page.keyboard.press("Control+End")
        page.keyboard.type(", see you at 3")
        counts.wait_for(1)
        return counts

    def next_recipient() -> Held:
        nexts = Held(page, "**/preview")
        press(page, "Next recipient")
        nexts.wait_for(1)
        return nexts

    if left_first == "counter":
        counts = type_more()
        nexts = next_recipient()
    else:
        nexts = next_recipient()
        counts = type_more()
    first, second = (nexts, counts) if answered_first == "next" else (counts, nexts)
    first.release()
    if first is nexts:
        expect(preview).to_contain_text("Recipient 2 of 3")
    else:
        expect(preview.locator(".sms-bubble")).to_contain_text("see you at 3")
    second.release()
    in_flight.wait_quiet()

    expect(preview).to_contain_text("Recipient 2 of 3")
    expect(preview.locator(".sms-bubble")).to_have_text(
        f"Hi {FIRST_NAMES[preview_name(preview)]}, see you at 3"
    )
    # And the count is of that text (an older answer drew the count of "Hi {{first_name}}").
    longest = max(len(first) for first in FIRST_NAMES.values())
    expect(page.locator("#sms-counter")).to_have_attribute(
        "data-characters", str(len("Hi , see you at 3") + longest)
    )


def preview_name(preview) -> str:
    """The recipient the preview shows (the order of the three is the server's)."""
    text = preview.inner_text()
    return next(name for name in FIRST_NAMES if name in text)
