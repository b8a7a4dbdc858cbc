"""The times of a person's Communications History: an SMS says when it left (an SMS held for
quiet hours leaves hours after it was queued), one not yet gone when it was queued, and the thread
reads in the order things happened."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.html_tree import html
from tests.replying import receive, send_sms

# Queued at 9 pm in Sydney, held for quiet hours and sent at 8 am; Ada answered an earlier SMS
# at 11 pm, while it waited.
QUEUED = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # 5 Jan 2026, 9:00 pm AEDT
REPLIED = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # 5 Jan 2026, 11:00 pm AEDT
LEFT = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)  # 6 Jan 2026, 8:00 am AEDT


def thread(client, person) -> list[str]:
    """The thread's lines (the text above each bubble), oldest first."""
    doc = html(client.get(f"/candidates/{person.id}"))
    return [p.text for p in doc.one("ol", class_="history").all("p", class_="history-meta")]


def test_an_sms_held_for_quiet_hours_says_when_it_left_not_when_it_was_queued(
    app, client, login, session, ada
):
    """It read "Sent …, 9:00 pm" for an SMS that left at 8 am: the release keeps created_at."""
    me = login("consultant")
    [message] = send_sms(app, session, me, [ada], body="Can you start at 8?")
    message.created_at, message.sent_at = QUEUED, LEFT
    session.commit()

    [line] = thread(client, ada)

    assert line.startswith(f"Sent by {me.full_name}, 6 Jan 2026, 8:00 am AEDT to 0412 345 678")
    assert "9:00 pm" not in line


def test_an_sms_not_yet_gone_says_when_it_was_queued(app, client, login, session, ada):
    me = login("consultant")
    [message] = send_sms(app, session, me, [ada], dispatch=False)
    message.created_at = QUEUED
    session.commit()

    [line] = thread(client, ada)

    assert line.startswith(f"Sent by {me.full_name}, 5 Jan 2026, 9:00 pm AEDT to")
    assert "queued" in line


def test_a_reply_that_came_while_an_sms_was_held_comes_before_it(app, client, login, session, ada):
    me = login("consultant")
    [held] = send_sms(app, session, me, [ada], body="Can you start at 8?")
    held.created_at, held.sent_at = QUEUED, LEFT
    session.commit()
    reply = receive(app, session, "Yes, Friday is fine")
    reply.created_at = reply.sent_at = REPLIED
    session.commit()

    lines = thread(client, ada)

    assert [line.split(" to ")[0].split(" from ")[0] for line in lines] == [
        "Received 5 Jan 2026, 11:00 pm AEDT",
        f"Sent by {me.full_name}, 6 Jan 2026, 8:00 am AEDT",
    ]
