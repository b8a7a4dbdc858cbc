"""How often the batch page refreshes itself: every 2 s while messages are on their way, every
minute while all that is left waits for quiet hours (or a back-off), never for a scheduled batch
that has not gone; with JavaScript (htmx's hx-trigger) and without (a reload)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import queue
from tests.html_tree import parse
from webapp.models import Batch, Message
from webapp.models.base import utcnow
from webapp.sms import batches


@pytest.fixture
def batch(login, session, three_people):
    """Ada, Bob and Cy, queued by the signed-in consultant; nothing dispatched yet."""
    return queue(session, login("consultant"), three_people, provider="sandbox")


def set_messages(session, batch, *rows: tuple[str, timedelta | None]) -> None:
    """Give the batch's messages, in order, a state and when their next attempt is due (from
    now; None: held), as quiet hours (next attempt and quiet_until at their end) would."""
    ids = session.scalars(
        sa.select(Message.id).where(Message.batch_id == batch.id).order_by(Message.id)
    ).all()
    now = utcnow()
    for message_id, (state, due_in) in zip(ids, rows, strict=True):
        due = None if due_in is None else now + due_in
        quiet = due if due_in is not None and due_in > batches.DUE_SOON else None
        values = {"state": state, "next_attempt_at": due, "quiet_until": quiet}
        if state in ("sent", "delivered"):
            values["sent_at"] = now
        session.execute(sa.update(Message).where(Message.id == message_id).values(**values))
    session.commit()


def refreshes(client, batch) -> tuple[str | None, list[str]]:
    """(the progress section's hx-trigger, the no-JavaScript reload's seconds)."""
    response = client.get(f"/sms/batches/{batch.id}")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    section = page.one("section", id="progress")
    reloads = [
        meta.get("content").split(";")[0]  # its seconds (then the address it reloads)
        for noscript in page.one("head").all("noscript")
        for meta in noscript.all("meta")
        if (meta.get("http-equiv") or "").lower() == "refresh"
    ]
    return section.get("hx-trigger"), reloads


HOURS = timedelta(hours=9)


@pytest.mark.parametrize(
    ("rows", "trigger", "reload"),
    [
        # On their way: due now, due within DUE_SOON, being handed over, awaiting a receipt.
        ((("queued", timedelta(0)),) * 3, "every 2s", "5"),
        ((("queued", timedelta(seconds=1)), ("queued", HOURS), ("queued", HOURS)), "every 2s", "5"),
        ((("sending", timedelta(0)), ("queued", HOURS), ("queued", HOURS)), "every 2s", "5"),
        ((("sent", None), ("queued", HOURS), ("delivered", None)), "every 2s", "5"),
        # All that is left waits for the end of its recipients' quiet hours: hours away.
        ((("queued", HOURS),) * 3, "every 60s", "60"),
        ((("delivered", None), ("failed", None), ("queued", HOURS)), "every 60s", "60"),
    ],
)
def test_the_page_refreshes_often_only_while_something_is_due(
    client, session, batch, rows, trigger, reload
):
    set_messages(session, batch, *rows)
    assert refreshes(client, batch) == (trigger, [reload])


def test_the_reload_without_javascript_does_not_keep_an_idle_session_alive(
    client, session, clock, batch
):
    """Without JavaScript the page reloads itself (every 5 s here, every minute all night in quiet
    hours), and each reload counted as the user's activity: an unattended tab stayed signed in
    until the absolute limit. It asks for its address marked as a reload by itself, as htmx's
    polls are marked, and the page it reloads is the one shown (its state and page kept)."""
    set_messages(session, batch, *((("queued", timedelta(0)),) * 3))
    page = parse(client.get(f"/sms/batches/{batch.id}?state=queued").get_data(as_text=True))
    [meta] = page.one("head").one("noscript").all("meta")
    seconds, url = meta.get("content").split("; url=")
    assert (seconds, url) == ("5", f"/sms/batches/{batch.id}?state=queued&refresh=auto")
    for minutes in (30, 59):
        clock(minutes * 60.0)
        assert client.get(url).status_code == 200
    clock(61 * 60.0)

    response = client.get(url)

    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_progress_counts_the_messages_that_wait(session, batch):
    set_messages(session, batch, ("queued", HOURS), ("queued", timedelta(0)), ("delivered", None))
    progress = batches.progress(session, session.get(Batch, batch.id))
    assert progress.waiting == 1 and progress.moving and progress.poll_seconds == 2
    set_messages(session, batch, ("queued", HOURS), ("queued", HOURS), ("delivered", None))
    progress = batches.progress(session, session.get(Batch, batch.id))
    assert progress.waiting == 2 and not progress.moving
    assert progress.polling and progress.poll_seconds == batches.WAITING_POLL


def test_a_scheduled_batch_is_not_polled_until_it_goes(client, session, batch):
    row = session.get(Batch, batch.id)
    row.send_at = utcnow() + timedelta(hours=3)
    session.commit()
    set_messages(session, batch, *[("queued", None)] * 3)  # held: no next attempt
    page = parse(client.get(f"/sms/batches/{batch.id}").get_data(as_text=True))
    section = page.one("section", id="progress")
    assert section.get("hx-trigger") is None and section.get("hx-get") is None
    assert page.one("head").all("noscript") == []  # no reload either
    assert batches.progress(session, row).waiting == 3
