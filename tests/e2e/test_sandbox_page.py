"""The Sandbox page in a real browser: each message's Reply field stays on screen beside a long
link, on a phone and on a desktop, and a blank reply is refused beside its field."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import run_seed

# Users and mobiles of their own: past test_sent_replies' setups (from 0), before test_time_zones'
# desks (40-43) and test_record_races' (from 50), and under 50, where a "nojs" mobile would be a
# "js" one's (conversation_seed numbers them 500 apart).
SETUPS = itertools.count(30)

# A link pasted into an SMS: one word, as wide as the table would let it be (150 characters).
LONG_LINK = "https://jobs.example.com/apply?ref=" + "x7Q" * 38 + "ab"


@pytest.fixture
def page_errors():
    """The refused reply answers 400, which Chromium logs as a console error: not a fault."""
    refused = re.compile(r"status of 400 .*/sandbox/reply")
    return lambda errors: [error for error in errors if not refused.search(error)]


def sent(live_server, js: bool, body: str | None = None) -> dict:
    """A consultant of this test's own and their SMS to two candidates, on the sandbox."""
    args = ["setup", "js" if js else "nojs", str(next(SETUPS))]
    return run_seed(live_server, "tests.e2e.conversation_seed", *args, *([body] if body else []))


def reply_field(page, message: dict):
    return page.locator(f"#reply-{message['message']}")


def open_sandbox(page, made: dict) -> None:
    """The page, once the worker has sent the batch (a queued message is not listed)."""
    sign_in(page, made["username"])
    for _ in range(30):
        page.goto("/sandbox")
        if all(reply_field(page, person).count() for person in made["people"]):
            return
        page.wait_for_timeout(500)
    raise AssertionError("the sandbox never listed the batch")


@pytest.mark.parametrize("width", [390, 1280])
def test_every_reply_field_stays_in_view_beside_a_long_link(page, js, live_server, width):
    """A 150-character link made the table 1,953 px wide: the Reply field sat off screen at
    1280 px and at 390 px (where even short messages pushed it to x=545)."""
    made = sent(live_server, js, f"New roles: {LONG_LINK}")
    page.set_viewport_size({"width": width, "height": 844})
    open_sandbox(page, made)

    assert page.locator("td", has_text=LONG_LINK[:40]).count() >= 2  # and any earlier test's
    # Every message's field and button, this test's and any other's listed with them.
    fields = page.get_by_role("textbox", name=re.compile(r"^Reply from "))
    buttons = page.get_by_role("button", name=re.compile(r"^Send reply from "))
    assert fields.count() >= 2 and buttons.count() == fields.count()
    for control in [*fields.all(), *buttons.all()]:
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_blank_reply_is_refused_beside_its_field_with_the_focus_in_it(page, js, live_server):
    made = sent(live_server, js)
    open_sandbox(page, made)
    field = reply_field(page, made["people"][0])

    field.focus()
    page.keyboard.type("   ")
    page.keyboard.press("Enter")

    error = page.locator(f"#reply-{made['people'][0]['message']}-error")
    expect(error).to_have_text("Type the reply text first.")
    field = reply_field(page, made["people"][0])
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
