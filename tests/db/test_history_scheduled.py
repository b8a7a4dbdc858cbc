"""A record's conversation and a Send later batch, on every database: while the batch waits, its
message carries the time it goes (read back as an aware UTC time), sorts after what came in, and
does not keep the thread polling; once it goes, it is an ordinary sent message again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.delivery import queue
from webapp.models import utcnow
from webapp.sms import history


def test_a_waiting_message_carries_its_time_and_stops_the_polling(session, make_user, ada):
    me = make_user(role="consultant")
    batch = queue(session, me, [ada], provider="sandbox")
    at = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    batch.send_at = at
    session.commit()

    thread = history.for_person(session, ada, me)

    [entry] = thread.entries
    assert entry.scheduled_for == at and entry.scheduled_for.tzinfo is not None
    assert not thread.in_flight

    batch.released_at = datetime.now(UTC)  # it goes
    session.commit()
    [entry] = history.for_person(session, ada, me).entries
    assert entry.scheduled_for is None
    assert history.for_person(session, ada, me).in_flight  # queued, on its way now
