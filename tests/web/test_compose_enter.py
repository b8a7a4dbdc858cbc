"""Enter in a one-line field of the SMS screen without JavaScript (a plain form post of its hidden
first button): nothing is sent, what was typed is kept, the screen says that Enter sends nothing,
and the focus goes back to the field Enter was pressed in (Send at, the Ignore reason), or to that
word when the field cannot be told, never to the Template picker at the top."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.html_tree import parse
from tests.pages import text
from webapp.models import Batch

SCREEN = re.compile(r"^/sms/compose/([\w-]+)(\?.*)?$")
HELD = "Nothing sent: Enter sends nothing here. Press Send to send."
LATER = "2031-05-06T09:30"


@pytest.fixture
def people(make_candidate):
    return [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Olive", "Out", "0412 000 111", sms_consent=False),
    ]


def open_screen(client, people) -> str:
    response = client.post(
        "/sms/compose", data={"kind": "candidates", "ids": [str(p.id) for p in people]}
    )
    assert response.status_code == 303, text(response)
    return SCREEN.match(response.headers["Location"]).group(1)


def enter(client, token: str, **form):
    """Enter pressed in a one-line field: the browser posts the form with its first button."""
    response = client.post(f"/sms/compose/{token}/update", data={"action": "enter", **form})
    assert response.status_code == 303, text(response)  # post/redirect/get, as every step
    assert SCREEN.match(response.headers["Location"]).group(1) == token
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 200
    return parse(text(shown))


def focused(page) -> list:
    return [node for node in page.iter() if "autofocus" in node.attrs]


def no_batch(session) -> bool:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 0


def test_enter_in_send_at_sends_nothing_and_leaves_the_focus_in_send_at(
    client, login, session, people
):
    login("consultant")
    token = open_screen(client, people)

    page = enter(client, token, message="Original scheduled text {{first_name}}", send_at=LATER)

    send_at = page.one("input", id="send_at")
    assert focused(page) == [send_at]
    assert send_at.get("value") == LATER
    assert page.one(id="enter-held").text == HELD
    assert "enter-held" in send_at.get("aria-describedby").split()
    assert page.one("textarea", id="message").text.strip() == (
        "Original scheduled text {{first_name}}"
    )
    assert no_batch(session)


def test_enter_in_the_ignore_reason_leaves_the_focus_in_the_reason(client, login, session, people):
    login("team-leader")
    token = open_screen(client, people)
    client.post(f"/sms/compose/{token}/update", data={"ignore": "1", "action": "refresh"})

    page = enter(client, token, ignore="1", ignore_reason="Asked by phone", message="Hi")

    reason = page.one("input", id="ignore_reason")
    assert focused(page) == [reason]
    assert reason.get("value") == "Asked by phone"
    assert page.one(id="enter-held").text == HELD
    assert "enter-held" in reason.get("aria-describedby").split()
    assert no_batch(session)


def test_enter_where_the_field_cannot_be_told_focuses_the_word_that_nothing_was_sent(
    client, login, session, people
):
    """Nothing typed since the screen was drawn (Enter again, or in a tick box): no field to go
    back to, so the word saying why nothing happened takes the focus, not the Template picker."""
    login("consultant")
    token = open_screen(client, people)
    enter(client, token, message="Hi", send_at=LATER)

    page = enter(client, token, message="Hi", send_at=LATER)

    held = page.one(id="enter-held")
    assert focused(page) == [held]
    assert (held.text, held.get("tabindex")) == (HELD, "-1")
    assert page.one("input", id="send_at").get("value") == LATER
    assert no_batch(session)


def test_after_enter_the_screen_drawn_again_says_nothing_of_it(client, login, people):
    login("consultant")
    token = open_screen(client, people)
    enter(client, token, send_at=LATER)

    page = parse(text(client.get(f"/sms/compose/{token}")))

    assert page.all(id="enter-held") == []
    assert "autofocus" in page.one("select", id="template_id").attrs
