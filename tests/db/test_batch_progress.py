"""A batch's progress read from the database at a fixed clock: messages a second over the last
minute (or since the first went), the time left at that rate, and a message sent with no receipt
after RECEIPT_WAIT taken as final, so the page stops refreshing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import insert_candidates, queue
from webapp.models import Message
from webapp.sms import batches
from webapp.sms.batches import RECEIPT_WAIT

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def ten(session, make_user):
    """A batch of ten queued messages, made two days before NOW; its message ids in order."""
    batch = queue(
        session, make_user(role="consultant"), insert_candidates(session, 10), provider="sandbox"
    )
    batch.created_at = NOW - timedelta(days=2)
    # Due when queued, as then: not waiting (quiet hours, a back-off) at NOW.
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == batch.id)
        .values(next_attempt_at=batch.created_at)
    )
    session.commit()
    ids = list(
        session.scalars(
            sa.select(Message.id).where(Message.batch_id == batch.id).order_by(Message.id)
        )
    )
    return batch, ids


def mark(session, ids, state: str, *, sent_ago=None, changed_ago=None, **values) -> None:
    """Put messages `ids` in `state`, sent and last changed that long before NOW."""
    if sent_ago is not None:
        values["sent_at"] = NOW - sent_ago
    values["updated_at"] = NOW - (
        changed_ago if changed_ago is not None else sent_ago or timedelta()
    )
    session.execute(sa.update(Message).where(Message.id.in_(ids)).values(state=state, **values))
    session.commit()


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def test_the_rate_is_counted_since_the_first_message_went_within_the_last_minute(session, ten):
    batch, ids = ten
    for i, ago in enumerate((40, 30, 20, 10)):
        mark(session, [ids[i]], "sent", sent_ago=seconds(ago))
    mark(session, [ids[4]], "failed", changed_ago=seconds(5))  # a failure left the queue too

    progress = batches.progress(session, batch, now=NOW)

    assert progress.rate == pytest.approx(5 / 40)  # five in the 40 s since the first
    assert progress.to_send == 5
    assert progress.seconds_left == pytest.approx(40)
    assert progress.sent == 4 and progress.finished == 1
    assert progress.polling


def test_the_rate_is_measured_over_the_last_minute_once_sending_has_gone_on_longer(session, ten):
    batch, ids = ten
    mark(session, ids[:3], "delivered", sent_ago=timedelta(minutes=10))
    mark(session, ids[3:5], "sent", sent_ago=seconds(50))
    mark(session, [ids[5]], "sending", changed_ago=seconds(1))  # still on its way: not counted

    progress = batches.progress(session, batch, now=NOW)

    assert progress.rate == pytest.approx(2 / 60)
    assert progress.to_send == 5
    assert progress.seconds_left == pytest.approx(5 / (2 / 60))


def test_before_the_first_message_goes_there_is_no_rate_and_no_estimate(session, ten):
    batch, _ = ten

    progress = batches.progress(session, batch, now=NOW)

    assert progress.rate is None and progress.seconds_left is None
    assert progress.to_send == 10 and progress.sent == 0


def test_when_nothing_went_in_the_last_minute_the_rate_is_0_and_the_time_left_unknown(session, ten):
    batch, ids = ten
    mark(session, ids[:2], "sent", sent_ago=timedelta(minutes=5))

    progress = batches.progress(session, batch, now=NOW)

    assert progress.rate == 0
    assert progress.seconds_left is None
    assert progress.time_left_text == "no telling how long"


def test_the_first_second_does_not_promise_thousands_a_second(session, ten):
    batch, ids = ten
    mark(session, ids[:3], "sent", sent_ago=seconds(0.01))

    assert batches.progress(session, batch, now=NOW).rate == pytest.approx(3.0)


def test_messages_waiting_for_quiet_hours_are_left_out_of_the_time_left(session, ten):
    # Four went in the last 40 s (0.1 a second) and one is in flight: while it is, the three
    # held for their recipients' quiet hours must not be counted as going at that rate.
    batch, ids = ten
    for i, ago in enumerate((40, 30, 20, 10)):
        mark(session, [ids[i]], "sent", sent_ago=seconds(ago))
    mark(session, [ids[4]], "sending", changed_ago=seconds(1))
    morning, later = NOW + timedelta(hours=7), NOW + timedelta(hours=9)
    mark(session, [ids[5]], "queued", next_attempt_at=morning, quiet_until=morning)
    mark(session, ids[6:8], "queued", next_attempt_at=later, quiet_until=later)

    progress = batches.progress(session, batch, now=NOW)

    assert progress.to_send == 6 and progress.waiting == 3 and progress.due == 3
    assert progress.seconds_left == pytest.approx(3 / 0.1)
    assert (progress.waiting_from, progress.waiting_until) == (morning, later)

    # Only waiting ones left: no countdown, however fast the others went.
    mark(session, ids[4:5] + ids[8:], "sent", sent_ago=seconds(5))
    progress = batches.progress(session, batch, now=NOW)

    assert progress.to_send == progress.waiting == 3 and progress.due == 0
    assert progress.rate and progress.seconds_left is None


def test_once_every_message_has_gone_no_rate_is_read(session, ten):
    batch, ids = ten
    mark(session, ids, "delivered", sent_ago=seconds(30))

    progress = batches.progress(session, batch, now=NOW)

    assert progress.rate is None and progress.to_send == 0
    assert progress.done and not progress.polling


def test_a_message_sent_with_no_receipt_after_the_wait_is_final_and_polling_stops(session, ten):
    batch, ids = ten
    mark(session, ids[:6], "delivered", sent_ago=RECEIPT_WAIT + timedelta(hours=2))
    mark(session, ids[6:8], "failed", changed_ago=RECEIPT_WAIT)
    mark(session, ids[8:], "sent", sent_ago=RECEIPT_WAIT + seconds(1))

    progress = batches.progress(session, batch, now=NOW)

    assert progress.no_receipt == 2
    assert progress.counts["sent"] == 2  # still `sent` in the database: a late receipt may come
    assert progress.bar["no_receipt"] == 2 and progress.bar["sent"] == 0
    assert progress.finished == 10 and progress.percent == 100
    assert progress.done and not progress.polling
    assert progress.sent == 8


def test_within_the_wait_a_sent_message_is_still_awaited(session, ten):
    batch, ids = ten
    mark(session, ids[:9], "delivered", sent_ago=RECEIPT_WAIT * 2)
    mark(session, ids[9:], "sent", sent_ago=RECEIPT_WAIT - seconds(1))

    progress = batches.progress(session, batch, now=NOW)

    assert progress.no_receipt == 0
    assert progress.bar["sent"] == 1
    assert not progress.done and progress.polling
    # Two seconds later it is past the wait.
    later = batches.progress(session, batch, now=NOW + seconds(2))
    assert later.no_receipt == 1 and not later.polling


def test_a_batch_made_within_the_wait_has_no_message_past_it(session, ten):
    """Its messages were all sent after it was made: the page need not look for stale ones."""
    batch, ids = ten
    mark(session, ids, "sent", sent_ago=RECEIPT_WAIT * 2)  # impossible: before the batch
    batch.created_at = NOW - RECEIPT_WAIT + seconds(1)
    session.commit()

    assert batches.progress(session, batch, now=NOW).no_receipt == 0


def test_a_resent_message_counts_once_as_its_new_copy(session, ten):
    batch, ids = ten
    mark(session, ids[:9], "delivered", sent_ago=seconds(30))
    mark(session, [ids[9]], "sent", sent_ago=RECEIPT_WAIT * 2, superseded=True)

    progress = batches.progress(session, batch, now=NOW)

    assert progress.no_receipt == 0 and progress.total == 9 and progress.done
