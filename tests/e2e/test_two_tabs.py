"""One SMS screen open in two browser tabs, JavaScript on and off: each tab keeps its own text, Send
in one makes the draft's one batch, and Send in the other is refused with a clear message and its
text left in the box, never sent as a second batch nor dropped without a word."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in, watched_page

pytestmark = pytest.mark.e2e

# People of this module's own (numbers apart from people.csv's and the other modules'), one per
# JavaScript setting so the two runs never share a draft.
PEOPLE = {
    "js": ("Tabitha", "Twotabs", "0413 778 101"),
    "nojs": ("Tobias", "Twotabs", "0413 778 111"),
}
# Chromium logs each 4xx answer as a console error: the refused Send is one, and expected.
REFUSED = re.compile(r"status of 409")


@pytest.fixture(scope="module")
def people(live_server, tmp_path_factory) -> dict[str, str]:
    """Imported once through the CLI, as an administrator would: {variant: surname to search}."""
    rows = ["first_name,last_name,mobile,email,sms_consent,job_title,location"]
    for first, last, number in PEOPLE.values():
        rows.append(f"{first},{last},{number},{first.lower()}@example.com,yes,Nurse,Hobart")
    path = tmp_path_factory.mktemp("two-tabs") / "people.csv"
    path.write_text("\n".join(rows) + "\n")
    live_server.flask("import", "candidates", str(path))
    return {variant: f"{first} {last}" for variant, (first, last, _) in PEOPLE.items()}


def open_screen(page, name: str) -> None:
    """The SMS screen for one person, as their row's mobile link opens it."""
    page.goto(f"/candidates?q={name.replace(' ', '+')}")
    link = page.locator("tbody tr", has_text=name).locator("a[href*='/sms/compose?candidate=']")
    page.goto(link.first.get_attribute("href"))
    expect(page.locator("#compose-heading")).to_contain_text("SMS to 1 person")


def type_message(page, text: str) -> None:
    """Click the Message label, then type key by key (the tab's own text, nobody else's)."""
    page.get_by_text("Message", exact=True).click()
    box = page.get_by_label("Message", exact=True)
    expect(box).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    expect(box).to_have_value(text)


def draft_token(page) -> str:
    return page.locator("#compose-form").get_attribute("data-save").split("/")[-2]


def batches_with(database, text: str) -> list[tuple[int, int]]:
    """(batch id, message count) of every batch whose text holds `text`."""
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT id, message_count FROM batches WHERE body LIKE ?", (f"%{text}%",)
        ).fetchall()


def test_send_in_one_tab_then_the_other_sends_once_and_says_so(context, js, people, live_server):
    variant = "js" if js else "nojs"
    name = people[variant]
    first_text = f"Tab one: can you start Monday? ({variant})"
    second_text = f"Tab two: can you start Tuesday? ({variant})"
    with (
        watched_page(context, allowed=REFUSED) as one,
        watched_page(context, allowed=REFUSED) as two,
    ):
        sign_in(one, "consultant")
        open_screen(one, name)
        open_screen(two, name)
        assert draft_token(one) == draft_token(two)  # the same draft, open twice

        type_message(one, first_text)
        type_message(two, second_text)
        expect(one.get_by_label("Message", exact=True)).to_have_value(first_text)

        one.get_by_role("button", name="Send", exact=True).click()
        expect(one).to_have_url(re.compile(r"/sms/batches/\d+$"))
        batch_id = int(one.url.rsplit("/", 1)[1])

        two.get_by_role("button", name="Send", exact=True).focus()
        two.keyboard.press("Enter")
        error = two.locator("#message-error")
        expect(error).to_contain_text("already sent")
        expect(error).to_contain_text(f"batch {batch_id}")
        # The refused text is still there to copy, and the tab did not move to the batch.
        expect(two.get_by_label("Message", exact=True)).to_have_value(second_text)
        assert "/sms/batches/" not in two.url

        # Pressing Send there again changes nothing either.
        two.get_by_role("button", name="Send", exact=True).click()
        expect(two.locator("#message-error")).to_contain_text("already sent")

    assert batches_with(live_server.database, first_text) == [(batch_id, 1)]
    assert batches_with(live_server.database, second_text) == []


def test_the_same_text_sent_from_both_tabs_opens_the_one_batch(context, js, people, live_server):
    """A resubmit of what was sent (Back and Send, a second tab left as it was) is no conflict."""
    variant = "js" if js else "nojs"
    name = people[variant]
    text = f"Both tabs: shift confirmed ({variant})"
    with watched_page(context) as one, watched_page(context) as two:
        sign_in(one, "consultant")
        open_screen(one, name)
        type_message(one, text)
        open_screen(two, name)
        type_message(two, text)
        one.get_by_role("button", name="Send", exact=True).click()
        expect(one).to_have_url(re.compile(r"/sms/batches/\d+$"))
        two.get_by_role("button", name="Send", exact=True).click()
        expect(two).to_have_url(one.url)
    assert len(batches_with(live_server.database, text)) == 1


# Two people each, found by their own search: a draft of their own for each JavaScript setting.
LISTED = {
    "js": [("Rhea", "Relistjs", "0413 778 201"), ("Rory", "Relistjs", "0413 778 202")],
    "nojs": [("Nina", "Relistnojs", "0413 778 211"), ("Ned", "Relistnojs", "0413 778 212")],
}


@pytest.fixture(scope="module")
def listed(live_server, tmp_path_factory) -> dict[str, str]:
    """{variant: the surname to search for its two people}."""
    rows = ["first_name,last_name,mobile,email,sms_consent,job_title,location"]
    for pair in LISTED.values():
        rows += [f"{first},{last},{number},,yes,Nurse,Hobart" for first, last, number in pair]
    path = tmp_path_factory.mktemp("two-tabs-list") / "people.csv"
    path.write_text("\n".join(rows) + "\n")
    live_server.flask("import", "candidates", str(path))
    return {variant: pair[0][1] for variant, pair in LISTED.items()}


def bulk_sms(page, surname: str) -> None:
    """Both people ticked on their search, then Bulk SMS (a panel with JavaScript, else a page)."""
    page.goto(f"/candidates?q={surname}&sort=-created")
    boxes = page.locator("input.row-select")
    expect(boxes).to_have_count(2)
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Bulk SMS").click()
    expect(page.locator("#compose-heading")).to_contain_text("SMS to")


def test_send_for_a_list_the_other_tab_changed_is_refused_and_shows_it(
    context, js, listed, live_server
):
    """Tab one takes a person off and types; tab two, on the same draft, puts them back. Tab one
    still showed "SMS to 1 person": its Send went to both. Now it is refused, its list redrawn as
    it is, its text kept; Send again sends what it then shows."""
    variant = "js" if js else "nojs"
    text = f"Only for the one I kept ({variant})"
    with (
        watched_page(context, allowed=REFUSED) as one,
        watched_page(context, allowed=REFUSED) as two,
    ):
        sign_in(one, "consultant")
        bulk_sms(one, listed[variant])
        expect(one.locator("#compose-heading")).to_contain_text("SMS to 2 people")
        one.locator("button[name=remove]").first.click()
        expect(one.locator("#compose-heading")).to_contain_text("SMS to 1 person")
        type_message(one, text)

        bulk_sms(two, listed[variant])
        assert draft_token(one) == draft_token(two)
        expect(two.locator("#compose-heading")).to_contain_text("SMS to 1 person")
        two.locator("button[name=restore]").first.click()
        expect(two.locator("#compose-heading")).to_contain_text("SMS to 2 people")

        one.get_by_role("button", name="Send", exact=True).click()
        expect(one.locator("#compose-form [role=alert]")).to_have_text(
            "Another tab or window changed who gets this SMS; check the list, then press Send "
            "again."
        )
        expect(one.locator("#compose-heading")).to_contain_text("SMS to 2 people")
        expect(one.get_by_label("Message", exact=True)).to_have_value(text)
        assert batches_with(live_server.database, text) == []

        one.get_by_role("button", name="Send", exact=True).click()
        expect(one).to_have_url(re.compile(r"/sms/batches/\d+$"))
    assert [count for _, count in batches_with(live_server.database, text)] == [2]
