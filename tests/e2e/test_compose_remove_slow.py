"""Remove pressed again and again on a slow network (1.5 s of latency): while the first Remove is on
its way the SMS screen's buttons are disabled, so the presses after it are refused where they can
be seen (the people stay listed, to be taken off once the screen is back) rather than dropped
unsaid with those people still sent to; Send pressed meanwhile likewise."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import posts_made, results_heading, select_people
from tests.e2e.test_slow_network import Held, mouse_click, throttle

pytestmark = pytest.mark.e2e

SURNAME = "Slowremove"
PEOPLE = [
    ("Ann", "0413 556 101"),
    ("Ben", "0413 556 102"),
    ("Cat", "0413 556 103"),
    ("Dan", "0413 556 104"),
]
TEXT = "Hi {{first_name}}, the Monday shift is confirmed."


@pytest.fixture
def js() -> bool:
    """A race between htmx posts: there is none with JavaScript off (each post is a page)."""
    return True


@pytest.fixture(scope="module")
def people(live_server, tmp_path_factory) -> None:
    """Four candidates of this test's own, imported once through the CLI."""
    rows = ["first_name,last_name,mobile,email,sms_consent,job_title,location"]
    for first, number in PEOPLE:
        rows.append(f"{first},{SURNAME},{number},{first.lower()}@example.com,yes,Nurse,Hobart")
    path = tmp_path_factory.mktemp("slow-remove") / "people.csv"
    path.write_text("\n".join(rows) + "\n")
    live_server.flask("import", "candidates", str(path))


def recipients_of(database, batch_id: int) -> list[str]:
    """The first names the batch's messages went to."""
    with sqlite3.connect(database, timeout=10) as connection:
        rows = connection.execute(
            "SELECT c.first_name FROM messages m JOIN candidates c ON c.id = m.candidate_id "
            "WHERE m.batch_id = ? ORDER BY c.first_name",
            (batch_id,),
        ).fetchall()
    return [first for (first,) in rows]


def listed(page) -> list[str]:
    """The first names the Mobile Number field lists as getting the SMS."""
    texts = page.locator("#compose-form .recipient").all_inner_texts()
    return sorted(text.split()[0] for text in texts)


def remove_button(page, first: str):
    return page.locator("#compose-form").get_by_role(
        "button", name=re.compile(rf"^Remove {first} {SURNAME} ")
    )


def press_remove(page, first: str, left: int) -> None:
    """Focus `first`'s Remove, press Enter, and wait for the screen drawn for the `left` others."""
    remove_button(page, first).focus()
    page.keyboard.press("Enter")
    heading = f"SMS to {left} {'person' if left == 1 else 'people'}"
    expect(page.locator("#compose-heading")).to_have_text(heading, timeout=20_000)


def test_removes_pressed_while_one_is_on_its_way_are_refused_where_seen(page, people, live_server):
    sign_in(page, "consultant")
    page.goto(f"/candidates?q={SURNAME}")
    expect(page.locator("#results-heading")).to_have_text(results_heading(len(PEOPLE)))
    select_people(page, [f"{first} {SURNAME}" for first, _ in PEOPLE])
    page.get_by_role("button", name="Bulk SMS").click()
    expect(page.locator("#compose-heading")).to_have_text("SMS to 4 people")
    page.get_by_label("Message", exact=True).fill(TEXT)
    expect(page.locator("#send-totals")).to_have_text("4 messages · 4 SMS parts")
    first, second, third = (name for name, _ in PEOPLE[:3])
    updates = posts_made(page, "/update")
    sends = posts_made(page, "/send")
    throttle(page)
    counted = posts_made(page, "/counter")
    send = page.locator("#send-button")
    # Typing asks the counter, which redraws no button: Send stays pressable meanwhile.
    page.get_by_label("Message", exact=True).press("End")
    page.keyboard.type(" Thanks")
    page.wait_for_timeout(600)
    assert len(counted) == 1
    # Asked at once (expect would wait for the answer): pressable while the counter is out.
    assert send.is_enabled()
    assert remove_button(page, first).is_enabled()
    counted[0].response()  # its answer is in before the Removes

    # Enter on Remove, then Tab and Enter twice, as the tester pressed them for the next two
    # Removes (passed over now: disabled, they take no focus), and a click on Send. The Remove is
    # held in the browser until then (a slow network on cue): on a busy CI machine the presses
    # could outlast the latency.
    removes = Held(page, "**/update")
    remove_button(page, first).focus()
    page.keyboard.press("Enter")
    removes.wait_for(1)
    # While it is on its way, every button of the screen is disabled, Send too: a press is
    # refused where it can be seen, not queued on a form the answer is about to replace.
    for name in (second, third):
        expect(remove_button(page, name)).to_be_disabled()
    expect(send).to_be_disabled()
    for _ in range(2):
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
    mouse_click(page, "#send-button")
    removes.release()
    page.unroute("**/update")

    expect(page.locator("#compose-heading")).to_have_text("SMS to 3 people", timeout=20_000)
    page.wait_for_timeout(2 * 1500)  # anything pressed meanwhile would have been answered by now
    assert len(updates) == 1
    assert sends == []
    expect(page.locator("#compose-heading")).to_have_text("SMS to 3 people")
    assert listed(page) == sorted(name for name, _ in PEOPLE[1:])
    expect(page.locator("#recipients")).to_contain_text(f"Taken off: {first} {SURNAME}")
    # Drawn afresh, its buttons are there to press again.
    expect(remove_button(page, second)).to_be_enabled()
    expect(send).to_be_enabled()

    press_remove(page, second, 2)
    press_remove(page, third, 1)
    assert listed(page) == ["Dan"]
    page.locator("#send-button").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sms/batches/\d+$"), timeout=20_000)
    batch_id = int(page.url.rsplit("/", 1)[1])
    assert recipients_of(live_server.database, batch_id) == ["Dan"]
