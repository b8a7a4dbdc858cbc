"""A person's name beside other text on one line is isolated in a <bdi>: an Arabic or Hebrew name
(right to left) otherwise turned the digits after it into right-to-left ones, and the SMS screen
showed "003 111 0411> مريم العلي <" for 0411 111 003."""

from __future__ import annotations

import pytest

from tests.html_tree import Node, html
from tests.pages import text

FIRST, LAST = "مريم", "العلي"
NAME = f"{FIRST} {LAST}"


@pytest.fixture
def consultant(login):
    return login("consultant")


def isolated(node: Node) -> Node:
    """The <bdi> in `node` holding the name (and nothing else)."""
    [bdi] = node.all("bdi")
    assert bdi.text == NAME
    return bdi


def test_the_sms_screen_isolates_each_name_from_its_number(client, consultant, make_candidate):
    maryam = make_candidate(FIRST, LAST, "0411 111 003")
    make_candidate("Zz", "Other", "0411 111 004")
    opened = client.get(f"/sms/compose?candidate={maryam.id}")
    assert opened.status_code == 200
    page = html(opened)

    recipient = page.one("span", **{"class": "recipient"})
    assert recipient.children[0] is isolated(recipient)  # the number comes after the isolate
    assert recipient.text == f"{NAME} < 0411 111 003 >"

    form = page.one("form", id="compose-form")
    token = form.get("action").split("/")[3]
    answer = client.post(
        f"/sms/compose/{token}/preview", data={"message": "Hi", "preview_index": "0"}
    )
    assert answer.status_code == 303
    preview = html(client.get(answer.headers["Location"])).one("section", id="preview")
    [line] = [p for p in preview.all("p") if p.text.startswith("Recipient 1 of 1")]
    isolated(line.one("strong"))
    assert line.text == f"Recipient 1 of 1: {NAME} ( 0411 111 003 )"


def test_a_name_taken_off_the_sms_is_isolated_too(client, consultant, make_candidate):
    maryam = make_candidate(FIRST, LAST, "0411 111 003")
    bob = make_candidate("Zz", "Bob", "0411 111 004")
    opened = client.post(
        "/sms/compose",
        data={"kind": "candidates", "ids": [str(maryam.id), str(bob.id)]},
        follow_redirects=True,
    )
    token = html(opened).one("form", id="compose-form").get("action").split("/")[3]

    removed = client.post(
        f"/sms/compose/{token}/update",
        data={"message": "", "remove": str(maryam.id)},
        follow_redirects=True,
    )

    [taken_off] = [p for p in html(removed).all("p") if p.text.startswith("Taken off:")]
    isolated(taken_off)
    assert NAME in text(removed)


def test_the_record_pages_quick_reply_isolates_the_name(client, consultant, make_candidate):
    maryam = make_candidate(FIRST, LAST, "0411 111 003")
    page = html(client.get(f"/candidates/{maryam.id}"))
    [line] = [span for span in page.all("span") if span.text.startswith("One SMS to")]
    isolated(line)
    assert line.text.startswith(f"One SMS to {NAME} , in a batch of its own")
