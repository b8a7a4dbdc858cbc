"""An Arabic name beside a number on the SMS screen: the number still reads left to right. Without
the name isolated (<bdi>), the digits after it took its direction and the Mobile Number field drew
0411 557 003 as "003 557 0411> مريم …<"; the preview line likewise."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

FIRST = "مريم"
LAST = "Zzالعلي"  # after every seed name, and still ending in Arabic letters before the number
NUMBER = "0411 557 003"

# The left edge of each digit group of a number shown by the `phone` filter, in the text's order.
GROUP_LEFTS = """(phone) => {
    const node = phone.firstChild;
    const text = node.textContent;
    const lefts = [];
    let at = 0;
    for (const group of text.split(" ")) {
        const start = text.indexOf(group, at);
        const range = document.createRange();
        range.setStart(node, start);
        range.setEnd(node, start + group.length);
        lefts.push(range.getBoundingClientRect().left);
        at = start + group.length;
    }
    return lefts;
}"""


@pytest.fixture(scope="module")
def maryam(live_server, tmp_path_factory) -> int:
    """A candidate with an Arabic name, imported through the CLI; her id."""
    path = tmp_path_factory.mktemp("rtl-names") / "people.csv"
    path.write_text(
        f"first_name,last_name,mobile,email,sms_consent\n{FIRST},{LAST},{NUMBER},,yes\n",
        encoding="utf-8",
    )
    live_server.flask("import", "candidates", str(path))
    with sqlite3.connect(live_server.database, timeout=10) as connection:
        [(person_id,)] = connection.execute(
            "SELECT id FROM candidates WHERE last_name = ?", (LAST,)
        ).fetchall()
    return person_id


def assert_reads_left_to_right(line) -> None:
    """In `line`, the name comes first and the number's groups run left to right after it."""
    phone = line.locator('span[title="+61411557003"]')
    expect(phone).to_have_text(NUMBER)
    lefts = phone.evaluate(GROUP_LEFTS)
    assert len(lefts) == 3 and lefts == sorted(lefts), lefts
    name = line.locator("bdi")
    expect(name).to_have_text(f"{FIRST} {LAST}")
    assert name.bounding_box()["x"] < lefts[0]


def test_an_arabic_names_number_reads_left_to_right(page, maryam):
    sign_in(page, "consultant")
    page.goto(f"/sms/compose?candidate={maryam}")
    expect(page.locator("#compose-heading")).to_have_text("SMS to 1 person")
    assert_reads_left_to_right(page.locator("#compose-form .recipient"))

    page.get_by_label("Message", exact=True).focus()
    page.keyboard.type("Hi there")
    page.get_by_role("button", name="Preview", exact=True).focus()
    page.keyboard.press("Enter")

    line = page.locator("#preview p", has_text="Recipient 1 of 1")
    expect(line).to_be_visible()
    assert_reads_left_to_right(line)
