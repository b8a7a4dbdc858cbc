"""The SMS screen when answers cross on the way back: the counter's, Preview's and Next
recipient's, and a redraw's (Commercial ticked). The preview stays on the recipient Next chose and
shows the text as typed last, the count is of that text, and the focus stays where the user is."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import unexpected
from tests.e2e.test_journeys import FIRST_NAMES, bulk_sms
from tests.e2e.test_slow_network import Held, InFlight, throttle


@pytest.fixture
def page_errors():
    """A count aborted by a newer one (the counter's hx-sync "replace") is not an error."""
    return unexpected


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
    message, in_flight = typed_to_three(page)
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


class HeldAnswers(Held):
    """Requests matching `pattern` reach the server at once, in the order they leave; their
    answers are held in the browser until the test lets them through."""

    def _hold(self, route) -> None:
        self.routes.append((route, route.fetch()))

    def release(self) -> None:
        for route, answer in self.routes:
            route.fulfill(response=answer)
        self.routes = []


def typed_to_three(page):
    """The SMS screen for the three, "Hi {{first_name}}" typed in the Message (and counted)."""
    bulk_sms(page, "consultant", FIRST_NAMES)
    in_flight = InFlight(page)
    message = page.get_by_label("Message", exact=True)
    message.focus()
    page.keyboard.type("Hi {{first_name}}")
    in_flight.wait_quiet()
    return message, in_flight


def type_while_the_preview_comes(page, message, in_flight) -> None:
    """Back to the Message (a click) and ", see" typed while the Preview is out, " you" once it
    has come; then the focus and the text are where they were typed."""
    message.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type(", see")
    expect(page.locator("#preview")).to_contain_text("Recipient 1 of 3")
    page.keyboard.type(" you")
    in_flight.wait_quiet()

    expect(message).to_be_focused()
    expect(message).to_have_value("Hi {{first_name}}, see you")


def test_typing_after_preview_is_kept_where_it_is_typed(page):
    """Preview pressed, then back to the Message (a click) and typing while its answer is on its
    way on a slow network: the answer took the focus to the preview's heading, and what was typed
    after it went nowhere. The focus stays in the Message, and the preview shows what was typed."""
    message, in_flight = typed_to_three(page)
    throttle(page, 1200)
    press(page, "Preview")
    type_while_the_preview_comes(page, message, in_flight)
    preview = page.locator("#preview")
    expect(preview.locator(".sms-bubble")).to_have_text(
        f"Hi {FIRST_NAMES[preview_name(preview)]}, see you"
    )


def test_a_count_answered_after_commercial_is_ticked_does_not_undo_it(page):
    """Typing, then Commercial ticked (Space): the screen redrawn for a commercial message, with
    the opt-out line counted. The count for the typing came back after it and was drawn over it:
    the line's characters gone from the count."""
    message, in_flight = typed_to_three(page)
    counts = HeldAnswers(page, "**/counter")
    page.keyboard.type(" there")
    counts.wait_for(1)
    commercial = page.get_by_label("Commercial message", exact=True)
    commercial.focus()
    page.keyboard.press("Space")
    expect(page.locator("#opt-out-line .fixed-line")).to_be_visible()
    counter = page.locator("#sms-counter")
    with_line = counter.get_attribute("data-characters")
    assert int(with_line) > len("Hi Grace there")

    counts.release()
    in_flight.wait_quiet()

    expect(commercial).to_be_checked()
    expect(counter).to_have_attribute("data-characters", with_line)
    expect(message).to_have_value("Hi {{first_name}} there")


def test_typing_while_a_redraw_and_a_preview_are_out_keeps_the_focus(page):
    """Commercial ticked, Preview pressed straight after, then back to the Message to type while
    both are out: the redraw came back first and took the Preview's target from the page, so the
    Preview's answer was not seen coming, and its heading took the focus mid-word."""
    message, in_flight = typed_to_three(page)
    throttle(page, 1200)
    page.get_by_label("Commercial message", exact=True).focus()
    page.keyboard.press("Space")
    press(page, "Preview")
    type_while_the_preview_comes(page, message, in_flight)
    expect(page.get_by_label("Commercial message", exact=True)).to_be_checked()
    expect(page.locator("#preview .sms-bubble")).to_contain_text(", see you")
