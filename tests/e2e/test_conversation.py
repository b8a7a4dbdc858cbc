"""The conversation on a record in a real browser, JavaScript on and off: typing a Quick reply and
sending it by keyboard (twice in a row sends once), the team leader's reason for an opted-out
person, and the viewer who reads the conversation but cannot reply."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.helpers import open_record

pytestmark = pytest.mark.e2e

# People of this module's own (numbers apart from people.csv's and the other modules'), one set
# per JavaScript setting so the two runs never see each other's messages.
PEOPLE = {
    "js": {"reply": ("Quinn", "Quickreply"), "optout": ("Otto", "Declinedreply")},
    "nojs": {"reply": ("Quentin", "Quickreply"), "optout": ("Olga", "Declinedreply")},
}
NUMBERS = {"js": ("0413 777 001", "0413 777 002"), "nojs": ("0413 777 011", "0413 777 012")}


@pytest.fixture(scope="module")
def people(live_server, tmp_path_factory) -> dict:
    """Imported once through the CLI, as an administrator would: {variant: {role: full name}}."""
    rows = ["first_name,last_name,mobile,email,sms_consent,job_title,location"]
    for variant, roles in PEOPLE.items():
        for (first, last), number, consent in zip(
            roles.values(), NUMBERS[variant], ("yes", "no"), strict=True
        ):
            rows.append(
                f"{first},{last},{number},{first.lower()}@example.com,{consent},Nurse,Perth"
            )
    path = tmp_path_factory.mktemp("conversation") / "people.csv"
    path.write_text("\n".join(rows) + "\n")
    live_server.flask("import", "candidates", str(path))
    return {
        variant: {role: f"{first} {last}" for role, (first, last) in roles.items()}
        for variant, roles in PEOPLE.items()
    }


def variant(js: bool) -> str:
    return "js" if js else "nojs"


def type_into(page, label: str, text: str) -> None:
    """Focus a field by clicking its label, then type into it key by key."""
    page.get_by_text(label, exact=True).click()
    expect(page.get_by_label(label, exact=True)).to_be_focused()
    page.keyboard.type(text)


def sent_items(page, text: str):
    return page.locator("#thread li.sms-out", has_text=text)


def test_a_quick_reply_typed_and_sent_by_keyboard_goes_once(page, js, people):
    name = people[variant(js)]["reply"]
    first = name.split()[0]
    text = f"Hi {{{{first_name}}}}, see you at 8 ({variant(js)})"
    sent_text = f"Hi {first}, see you at 8 ({variant(js)})"
    sign_in(page, "consultant")
    open_record(page, js, name)
    expect(page.locator("#thread")).to_contain_text("No SMS sent to or received from")

    type_into(page, "Quick reply", text)
    counter = page.locator("#quick-reply-counter")
    if js:  # the live counter counts the message as this person gets it
        expect(counter).to_have_attribute("data-characters", str(len(sent_text)))
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send reply")).to_be_focused()
    # Enter twice in a row, as an impatient double press: one SMS all the same.
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")

    item = sent_items(page, sent_text)
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Sent by")
    if js:
        expect(page.locator("#quick-reply p.saved")).to_contain_text(f"Reply to {name} queued")
        # Back in the box, empty, for the next one; the state follows the SMS without a reload.
        box = page.get_by_label("Quick reply", exact=True)
        expect(box).to_be_focused()
        expect(box).to_have_value("")
        expect(item.locator(".state")).to_have_text(re.compile("sent|delivered"), timeout=15_000)
    else:  # said in the form, focused (and so in view), not at the page's top
        said = page.locator("#quick-reply p.saved")
        expect(said).to_contain_text(f"Reply to {name} queued")
        expect(said).to_be_focused()
        expect(page.locator(".flashes")).to_have_count(0)
        expect(page).to_have_url(re.compile(r"/candidates/\d+$"))
    page.reload()
    expect(sent_items(page, sent_text)).to_have_count(1)


def test_a_history_tab_chosen_by_keyboard_keeps_the_quick_reply_typed(page, js, people):
    name = people[variant(js)]["reply"]
    sign_in(page, "consultant")
    open_record(page, js, name)
    type_into(page, "Quick reply", "Half typed, not sent")
    received = page.locator("#history-tab-received")
    for _ in range(40):  # back through the thread's links to the tabs above it
        page.keyboard.press("Shift+Tab")
        if received.evaluate("link => link === document.activeElement"):
            break
    expect(received).to_be_focused()

    page.keyboard.press("Enter")

    expect(received).to_have_attribute("aria-current", "page")
    expect(page).to_have_url(re.compile(r"\?tab=received"))
    if js:  # only the tabs and the thread are fetched: the box and the focus stay as they were
        expect(page.get_by_label("Quick reply", exact=True)).to_have_value("Half typed, not sent")
        expect(received).to_be_focused()
        # The tab a Quick reply now comes back to.
        expect(page.locator("input[name=tab][form=quick-reply]")).to_have_value("received")


def test_the_reply_in_the_conversation_after_the_sms_it_answers(page, js, people, live_server):
    """A Quick reply, the person's answer through the sandbox, and both in one thread."""
    name = people[variant(js)]["reply"]
    number = NUMBERS[variant(js)][0]
    e164 = "+61" + number.replace(" ", "")[1:]
    answer = f"Yes, 8 is fine ({variant(js)})"
    sign_in(page, "consultant")
    open_record(page, js, name)
    type_into(page, "Quick reply", "Are you still free for the 8 am start?")
    page.get_by_role("button", name="Send reply").click()
    expect(sent_items(page, "8 am start")).to_have_count(1)

    page.goto("/sandbox")
    row = page.locator("tbody tr", has_text="8 am start").first
    row.get_by_label(re.compile(rf"^Reply from {re.escape(e164)} to the SMS sent ")).click()
    page.keyboard.type(answer)
    row.get_by_role("button", name=f"Send reply from {e164}").click()
    expect(page.locator(".flashes")).to_contain_text(f"Reply from {e164} received.")

    open_record(page, js, name)
    thread = page.locator("#thread li")
    texts = thread.all_inner_texts()
    asked = next(i for i, t in enumerate(texts) if "8 am start" in t)
    answered = next(i for i, t in enumerate(texts) if answer in t)
    assert asked < answered
    expect(thread.nth(answered)).to_contain_text("Received")
    expect(thread.nth(answered)).to_contain_text("In reply to")
    if js:
        page.locator("#history").scroll_into_view_if_needed()
        screenshot(page, "conversation")


def test_a_team_leader_sends_to_an_opted_out_person_with_a_reason(page, js, people):
    name = people[variant(js)]["optout"]
    sign_in(page, "lead")
    open_record(page, js, name)
    notice = page.locator("#quick-reply-notice")
    expect(notice).to_contain_text(f"{name} has opted out of SMS")
    type_into(page, "Quick reply", "Your payslip is ready.")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Reason for ignoring opt-outs", exact=True)).to_be_focused()
    page.keyboard.type("Payroll notice they asked for by phone")
    # Enter in the reason sends nothing, without JavaScript too (it pressed Send reply, the form's
    # first button then): Send reply is pressed on purpose.
    page.keyboard.press("Enter")
    if not js:
        expect(page.locator("#quick-reply-held")).to_be_focused()  # the page came back
    reason = page.get_by_label("Reason for ignoring opt-outs", exact=True)
    expect(reason).to_have_value("Payroll notice they asked for by phone")
    expect(page.get_by_label("Quick reply", exact=True)).to_have_value("Your payslip is ready.")
    expect(sent_items(page, "Your payslip is ready.")).to_have_count(0)
    reason.focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send reply", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(sent_items(page, "Your payslip is ready.")).to_have_count(1)


def test_a_consultant_is_told_why_and_gets_no_box_for_an_opted_out_person(page, js, people):
    name = people[variant(js)]["optout"]
    sign_in(page, "consultant")
    open_record(page, js, name)
    expect(page.locator("#quick-reply-notice")).to_contain_text(
        "Only a user allowed to ignore opt-outs"
    )
    expect(page.get_by_label("Quick reply", exact=True)).to_have_count(0)


def test_a_viewer_reads_the_conversation_but_cannot_reply(page, js, people):
    name = people[variant(js)]["reply"]
    sign_in(page, "viewer")
    open_record(page, js, name)
    expect(page.get_by_role("heading", name="Communications History")).to_be_visible()
    expect(page.locator("#thread")).to_be_visible()
    expect(page.get_by_label("Quick reply", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Send reply")).to_have_count(0)


@contextmanager
def ignore_taken_from_team_leaders(live_server) -> Iterator[None]:
    """An administrator unticks Ignore opt-outs for team leaders meanwhile (given back after, for
    the other tests that sign in as lead)."""
    with sqlite3.connect(live_server.database, timeout=10) as connection:
        grant = connection.execute(
            "SELECT rp.role_id, rp.permission_id FROM role_permissions rp"
            " JOIN roles r ON r.id = rp.role_id JOIN permissions p ON p.id = rp.permission_id"
            " WHERE r.name = 'team-leader' AND p.name = 'sms.ignore_opt_out'"
        ).fetchone()
        connection.execute(
            "DELETE FROM role_permissions WHERE role_id = ? AND permission_id = ?", grant
        )
    try:
        yield
    finally:
        with sqlite3.connect(live_server.database, timeout=10) as connection:
            connection.execute(
                "INSERT INTO role_permissions (role_id, permission_id) VALUES (?, ?)", grant
            )


def refusal_expected(errors: list[str]) -> list[str]:
    """Chromium logs the refused Send reply's 403 as a console error: it is the point here."""
    return [e for e in errors if "status of 403" not in e]


@pytest.mark.parametrize("page_errors", [refusal_expected], ids=["refused"])
def test_a_leader_who_loses_ignore_while_typing_is_told_why_with_the_text_kept(
    page, js, people, live_server
):
    name = people[variant(js)]["optout"]
    sign_in(page, "lead")
    open_record(page, js, name)
    type_into(page, "Quick reply", "Your roster changed.")
    reason = page.get_by_label("Reason for ignoring opt-outs", exact=True)
    reason.fill("Asked by phone")

    with ignore_taken_from_team_leaders(live_server):
        page.get_by_role("button", name="Send reply").click()

        notice = page.locator("#quick-reply-notice")
        expect(notice).to_contain_text("Your reply was not sent: you may no longer ignore SMS")
        expect(notice).to_be_focused()
        expect(reason).to_have_count(0)
        expect(page.get_by_label("Quick reply", exact=True)).to_have_value("Your roster changed.")
    expect(sent_items(page, "Your roster changed.")).to_have_count(0)
