"""The Sent log on SQLite and PostgreSQL: a batch is dated, filtered and ordered by when it went (a
scheduled one at its release, as the dashboard counts its messages; one still waiting at its
time), in the page and its CSV alike; and it keeps the name of the template it was sent with."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import sqlalchemy as sa

from tests.delivery import queue, send_request
from webapp.models import Batch, Message, utcnow
from webapp.sms import compose, exports, schedule, sent_log, settings
from webapp.sms.limits import LimitSettings

DAY = timedelta(days=1)


def schedule_send(session, sender, people, send_at, **fields) -> Batch:
    """Draft and Send with "Send at", as the SMS screen does."""
    draft = compose.create_draft(session, sender, "candidates", [p.id for p in people])
    return compose.send(
        session,
        draft,
        sender,
        send_request(send_at=send_at, **fields),
        provider="sandbox",
        blocked=settings.blocked_regions(session, "sandbox"),
    )


def listed(session, sender_id, **filters) -> list[int]:
    page = sent_log.search(session, sender_id, sent_log.Filters(**filters))
    return [row.batch.id for row in page.rows]


def in_csv(app, sender_id, chunk=exports.CHUNK, **filters) -> list[int]:
    sessions = app.extensions["database"].sessionmaker
    rows = exports.sent_csv(sessions, sender_id, sent_log.Filters(**filters), UTC, chunk=chunk)
    text = "".join(rows).encode("utf-8").decode("utf-8-sig")
    return [int(row["Batch"]) for row in csv.DictReader(io.StringIO(text, newline=""))]


def test_a_scheduled_batch_is_listed_on_the_day_it_went_not_the_day_it_was_written(
    app, session, sender, ada, make_candidate
):
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    # Written today, released in three days (the worker's `now`), as on the demo: written on
    # 2 Dec, released on 5 Dec.
    release_at = utcnow() + 3 * DAY
    scheduled = schedule_send(session, sender, [ada, bob], release_at)
    assert schedule.release_due(
        session, release_at, limit_settings=LimitSettings(), quiet_settings=None
    ) == [scheduled.id]
    now = queue(session, sender, [ada], provider="sandbox")
    # Another sent at the same moment: the id orders the two.
    tie = queue(session, sender, [bob], provider="sandbox")
    session.get(Batch, tie.id).created_at = session.get(Batch, now.id).created_at
    # Still waiting, due in two days; and one due in a week, cancelled.
    waiting = schedule_send(session, sender, [ada], utcnow() + 2 * DAY)
    cancelled = schedule_send(session, sender, [bob], utcnow() + 7 * DAY)
    schedule.cancel(session, cancelled, sender)
    session.commit()
    today, went_day = utcnow().date(), release_at.date()
    # Its messages are dated at its release: the day the dashboard counts them.
    dated = session.scalars(sa.select(Message.created_at).where(Message.batch_id == scheduled.id))
    assert {at.date() for at in dated} == {went_day}

    assert listed(session, sender.id, date_from=went_day, date_to=went_day) == [scheduled.id]
    assert listed(session, sender.id, date_from=today, date_to=today) == [tie.id, now.id]
    waiting_day = today + 2 * DAY
    assert listed(session, None, date_from=waiting_day, date_to=waiting_day) == [waiting.id]
    # Newest first by when each went (or is or was due).
    order = [cancelled.id, scheduled.id, waiting.id, tie.id, now.id]
    assert listed(session, sender.id) == order
    # The CSV lists what the page does, in its order, read a chunk at a time (each chunk after
    # the last one's time and id, the tie included).
    assert in_csv(app, sender.id, date_from=went_day, date_to=went_day) == [scheduled.id]
    assert in_csv(app, sender.id, date_from=today, date_to=today) == [tie.id, now.id]
    assert in_csv(app, sender.id) == order
    assert in_csv(app, sender.id, chunk=1) == order
    assert (
        exports.sent_row_count(
            session, sender.id, sent_log.Filters(date_from=went_day, date_to=went_day)
        )
        == 1
    )


def test_a_renamed_template_leaves_the_name_its_batches_were_sent_with(
    app, session, sender, ada, make_template
):
    template = make_template("JS one", "Hi {{first_name}}")
    batch = queue(session, sender, [ada], provider="sandbox", template_id=template.id)
    typed = queue(session, sender, [ada], provider="sandbox", body="A typed message")
    template.name = "Do not use - old"
    session.commit()

    [row] = sent_log.search(session, sender.id, sent_log.Filters(text="JS one")).rows
    assert (row.batch.id, row.title) == (batch.id, "JS one")
    assert sent_log.search(session, sender.id, sent_log.Filters(text="not use")).rows == []
    assert session.get(Batch, typed.id).template_name is None
    sessions = app.extensions["database"].sessionmaker
    text = "".join(exports.sent_csv(sessions, sender.id, sent_log.Filters(), UTC))
    assert "JS one" in text and "Do not use" not in text
