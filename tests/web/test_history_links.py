"""A reply's "In reply to" link on a record: it leads to the message it answers only where a tab's
thread shows that message (All's latest messages, else Sent's); once it is too old for both, the
quoted text stands alone rather than a link whose anchor finds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.html_tree import html
from tests.replying import receive, send_sms
from webapp.models import Message
from webapp.sms import history


def at(minute: int) -> datetime:
    return datetime(2026, 3, 2, 9, minute, tzinfo=UTC)


def restamp(session, message: Message, minute: int) -> None:
    """Move a message in time, so the thread's order is the test's to choose."""
    session.get(Message, message.id).created_at = at(minute)
    session.commit()


@pytest.fixture
def two_shown(monkeypatch, request):
    """Each tab shows the latest 2 messages. The thread's statements are built once with the
    limit in them: built again for the test, and again after it (finalizers run before
    monkeypatch's undoing: last in, first out)."""
    monkeypatch.setattr(history, "SHOWN", 2)
    history._latest.cache_clear()
    request.addfinalizer(history._latest.cache_clear)


@pytest.fixture
def answered(app, session, ada, casey, two_shown):
    """Casey's SMS at 9:00, a second at 9:10, Ada's reply to the first at 9:20: All shows the
    second SMS and the reply, Sent both SMS."""
    [first] = send_sms(app, session, casey, [ada], body="Free on Monday?")
    [second] = send_sms(app, session, casey, [ada], body="And on Friday?")
    reply = receive(app, session, "Monday works", reference=first.uuid)
    for minute, message in ((0, first), (10, second), (20, reply)):
        restamp(session, message, minute)
    return first, reply


def in_reply_to(client, ada, reply, tab: str):
    """The reply's "In reply to" line on `tab`."""
    page = html(client.get(f"/candidates/{ada.id}?tab={tab}"))
    return page.one("li", id=f"message-{reply.id}").one("p", class_="muted")


def test_a_reply_links_to_the_sent_tab_when_all_no_longer_shows_the_message_it_answers(
    client, login, ada, answered
):
    """It linked #message-N on All, an anchor that found nothing there."""
    first, reply = answered
    login("consultant")
    page = html(client.get(f"/candidates/{ada.id}"))
    assert page.all("li", id=f"message-{first.id}") == []

    line = in_reply_to(client, ada, reply, "all")

    assert line.one("a").get("href") == f"/candidates/{ada.id}?tab=sent#message-{first.id}"
    sent = html(client.get(f"/candidates/{ada.id}?tab=sent"))
    assert "Free on Monday?" in sent.one("li", id=f"message-{first.id}").text


@pytest.mark.parametrize("tab", ["all", "received"])
def test_a_reply_quotes_without_a_link_a_message_no_tab_shows(
    app, client, login, session, ada, casey, answered, tab
):
    """One SMS more: the one answered is too old for Sent too. It linked ?tab=sent#message-N."""
    first, reply = answered
    [third] = send_sms(app, session, casey, [ada], body="Or Saturday?")
    restamp(session, third, 30)
    login("consultant")
    sent = html(client.get(f"/candidates/{ada.id}?tab=sent"))
    assert sent.all("li", id=f"message-{first.id}") == []

    line = in_reply_to(client, ada, reply, tab)

    assert line.all("a") == []
    assert line.text.strip() == "In reply to “Free on Monday?”"


def test_a_reply_links_within_the_thread_that_shows_the_message_it_answers(
    app, client, login, session, ada, casey, two_shown
):
    [first] = send_sms(app, session, casey, [ada], body="Free on <Monday>?")
    reply = receive(app, session, "Monday works", reference=first.uuid)
    login("consultant")

    assert in_reply_to(client, ada, reply, "all").one("a").get("href") == f"#message-{first.id}"
    received = in_reply_to(client, ada, reply, "received").one("a")
    assert received.get("href") == f"/candidates/{ada.id}?tab=sent#message-{first.id}"
    assert received.text == "“Free on <Monday>?”"  # escaped once
