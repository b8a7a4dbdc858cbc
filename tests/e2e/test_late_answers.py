"""Answers that come back in another order than their requests left, JavaScript on: a Quick reply
sending while Privacy is saved or a history tab is pressed, and a reply marked on the Replies page
while the other tab is on its way. Each first request is held in the browser (Held) until the key
presses after it are made: what the user did last is what the page shows, and where the focus is.

    python -m tests.e2e.test_late_answers LAST_NAME MOBILE   (seeds a reply to one of lead's SMS)
"""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import add_candidate, posts_made, run_seed
from tests.e2e.test_slow_network import Held, InFlight, refusal_expected, unexpected

pytestmark = pytest.mark.e2e

SENDS = "**/candidates/*/reply"  # Send reply's post (not its counter's, /reply/counter)


@pytest.fixture
def js() -> bool:
    """Races between requests exist only with JavaScript on (without it the form posts its page)."""
    return True


@pytest.fixture
def page_errors():
    """A request that htmx aborts on purpose (a tab replacing the thread's refresh) is no error."""
    return unexpected


def digits() -> str:
    return f"{random.randrange(10**6):06d}"


def candidate_with_a_typed_reply(page, first: str, text: str) -> str:
    """A candidate of this test's own (sorting after every seeded name) on their record, `text`
    typed in the Quick reply; their full name."""
    number = digits()
    last = f"Zzlate{number}"
    add_candidate(page, first, last, f"0413 {number[:3]} {number[3:]}")
    page.get_by_text("Quick reply", exact=True).click()  # its label: into the box
    page.keyboard.type(text)
    return f"{first} {last}"


def press(page, locator) -> None:
    """Enter on `locator`, reached as the keyboard reaches it (focused, then the key)."""
    locator.focus()
    expect(locator).to_be_focused()
    page.keyboard.press("Enter")


@pytest.mark.parametrize("page_errors", [refusal_expected], ids=["refused"])
def test_a_privacy_save_made_while_a_quick_reply_sends_leaves_the_reply_sent(page):
    """Send reply, then Email unticked and Save Privacy while the reply was out: the save's answer
    drew the Quick reply as the save took it, the sent text back in the box under its used token
    (Send reply again repeated the batch unsaid), the sent notice gone, the focus in the box."""
    sign_in(page, "lead")
    name = candidate_with_a_typed_reply(page, "Ivy", "Interview at 10")
    token = page.locator("#quick-reply input[name=reply_token]").input_value()
    privacy = page.locator("#privacy")
    save = privacy.get_by_role("button", name="Save Privacy")
    in_flight = InFlight(page)
    sends = Held(page, SENDS)
    saves = Held(page, "**/candidates/*/privacy")

    press(page, page.get_by_role("button", name="Send reply", exact=True))
    sends.wait_for(1)
    privacy.get_by_label("Email", exact=True).focus()
    page.keyboard.press("Space")
    press(page, save)
    saves.wait_for(1)
    sends.release()  # the reply is sent first and answers first
    expect(page.locator("#quick-reply p[role=status]")).to_contain_text("queued")
    saves.release()
    in_flight.wait_quiet()

    expect(privacy.get_by_role("status")).to_have_text("Privacy saved: Email unticked.")
    box = page.get_by_label("Quick reply", exact=True)
    expect(box).to_have_value("")
    expect(page.locator("#quick-reply p[role=status]")).to_have_text(
        f"Reply to {name} queued: it shows in the conversation as it goes."
    )
    fresh = page.locator("#quick-reply input[name=reply_token]").input_value()
    assert fresh and fresh != token  # the next reply is an SMS of its own
    expect(save).to_be_focused()  # where the user was, not in the box
    expect(page.locator("#thread li.sms-out", has_text="Interview at 10")).to_have_count(1)

    page.unroute(SENDS)  # no longer held: Send reply again is refused (400), nothing to send
    posts = posts_made(page, "/reply")
    press(page, page.get_by_role("button", name="Send reply", exact=True))
    expect(page.locator("#quick-reply-error")).to_have_text("Type a reply.")
    assert len(posts) == 1
    page.reload()
    expect(page.locator("#thread li.sms-out", has_text="Interview at 10")).to_have_count(1)


def test_a_tab_pressed_while_a_quick_reply_sends_is_the_tab_shown(page):
    """Send reply, then Received while the reply was out: the reply's answer redrew the whole
    history on All, and the tab's answer, for the thread that answer took away, was dropped: the
    address said Received, the page All."""
    sign_in(page, "consultant")
    candidate_with_a_typed_reply(page, "Kit", "Sent before a tab")
    in_flight = InFlight(page)
    sends = Held(page, SENDS)
    tabs = Held(page, "**/candidates/*", lambda request: "part=thread" in request.url)
    received = page.locator("#history-tab-received")

    press(page, page.get_by_role("button", name="Send reply", exact=True))
    sends.wait_for(1)
    press(page, received)
    tabs.wait_for(1)
    sends.release()  # the reply answers first
    expect(page.locator("#quick-reply p[role=status]")).to_contain_text("queued")
    tabs.release()
    in_flight.wait_quiet()

    then_received_is_shown_and_focused(page)


def test_a_tab_whose_answer_comes_before_the_quick_replys_is_the_tab_shown(page):
    """Send reply, then Received, its answer first: the reply's answer came last and drew All."""
    sign_in(page, "consultant")
    candidate_with_a_typed_reply(page, "Lou", "Sent before a quick tab")
    in_flight = InFlight(page)
    sends = Held(page, SENDS)
    received = page.locator("#history-tab-received")

    press(page, page.get_by_role("button", name="Send reply", exact=True))
    sends.wait_for(1)
    press(page, received)
    expect(received).to_have_attribute("aria-current", "page")  # the tab's answer, first
    sends.release()
    expect(page.locator("#quick-reply p[role=status]")).to_contain_text("queued")
    in_flight.wait_quiet()

    then_received_is_shown_and_focused(page)


def then_received_is_shown_and_focused(page) -> None:
    received = page.locator("#history-tab-received")
    expect(page).to_have_url(re.compile(r"\?tab=received"))
    expect(received).to_have_attribute("aria-current", "page")
    expect(page.locator("#history-tab-all")).not_to_have_attribute("aria-current", "page")
    expect(page.locator("input[name=tab][form=quick-reply]")).to_have_value("received")
    expect(page.locator("#thread")).to_contain_text("No replies received from this person yet.")
    expect(received).to_be_focused()


def test_a_tab_pressed_while_a_reply_is_marked_is_the_list_shown(page, live_server):
    """Mark read on Mine, then Everyone's while the mark was out: the mark's answer came last,
    and though its list was for a part no longer on the page, its tabs (Mine current) and its
    address (/sms/replies) were drawn over Everyone's list."""
    number = digits()
    made = run_seed(
        live_server, "tests.e2e.test_late_answers", f"Zzmarked{number}", f"0413{number}"
    )
    sign_in(page, "lead")
    page.goto("/sms/replies")
    tabs = page.get_by_role("navigation", name="Whose replies")
    everyone = tabs.get_by_role("link", name="Everyone’s")
    row = page.locator(f"#reply-{made['reply']}")
    which = f"the reply from {made['name']}"
    in_flight = InFlight(page)
    marks = Held(page, "**/sms/replies/*/read")

    press(page, row.get_by_role("button", name=f"Mark read {which}"))
    marks.wait_for(1)
    press(page, everyone)
    expect(page.locator("#results-heading")).to_have_text("Replies to everyone’s messages")
    marks.release()
    in_flight.wait_quiet()

    expect(page).to_have_url(re.compile(r"/sms/replies\?who=everyone$"))
    expect(everyone).to_have_attribute("aria-current", "page")
    expect(tabs.get_by_role("link", name="Mine")).not_to_have_attribute("aria-current", "page")
    expect(page.locator("#results-heading")).to_have_text("Replies to everyone’s messages")
    expect(everyone).to_be_focused()
    # The mark was made, and the list shown shows it.
    expect(row.get_by_role("button", name=f"Mark unread {which}")).to_be_visible()
    assert run_seed(live_server, "tests.e2e.conversation_seed", "read", str(made["reply"]))[
        "read_at"
    ]


def seed_reply_to_lead(last_name: str, mobile: str) -> dict:
    """A candidate, an SMS to them from lead, and their reply: in lead's Mine, unread."""
    import sqlalchemy as sa

    from tests.delivery import queue
    from tests.e2e.conversation_seed import reply
    from webapp.database import begin_write
    from webapp.extensions import db
    from webapp.models import Candidate, Message, User

    session = db.session
    begin_write(session)  # the server's worker writes too: take the lock before reading
    lead = session.scalar(sa.select(User).where(User.username == "lead"))
    person = Candidate(first_name="Mara", last_name=last_name, sms_consent=True)
    person.set_mobile(mobile, "AU")
    session.add(person)
    session.commit()
    batch = queue(session, lead, [person], provider="sandbox", body="Can you do Monday?")
    message = session.scalar(sa.select(Message.id).where(Message.batch_id == batch.id))
    made = reply(message, "Monday is fine")
    return {"reply": made["reply"], "name": f"Mara {last_name}"}


if __name__ == "__main__":
    import json
    import sys

    from webapp import create_app

    with create_app().app_context():
        print(json.dumps(seed_reply_to_lead(*sys.argv[1:3])))
