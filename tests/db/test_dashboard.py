"""The dashboard's figures (webapp.sms.dashboard) against messages, replies and opt-outs written
straight into the database: whole days in a zone (DST too, with no SQLite 3.38), scopes, failure
reasons, parts sent, receipts that never came, and one opt-out per STOP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from webapp.models import AuditEvent, Batch, Message
from webapp.sms import batches, dashboard
from webapp.users.offices import Team

SYDNEY = ZoneInfo("Australia/Sydney")
TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 2 pm on TODAY in Sydney
# States in which a message has reached a gateway (so it has a sent_at).
LEFT = ("sent", "delivered", "undelivered")


def add_message(session, sender, at: datetime, state: str = "delivered", **fields) -> Message:
    """An outbound message (or, with direction="in", a reply addressed to `sender`) at `at`; sent
    at `at` too if its state says it reached a gateway (unless `sent_at` is given)."""
    fields.setdefault("sent_at", at if state in LEFT else None)
    message = Message(
        sender_id=sender.id if sender is not None else None,
        to_e164="+61412345678",
        body="Hi",
        provider="sandbox",
        state=state,
        created_at=at,
        **fields,
    )
    session.add(message)
    session.commit()
    return message


def add_opt_out(
    session, at: datetime, reply: Message | None, subject_id: int = 1, **cause
) -> AuditEvent:
    """A consent.sms_withdrawn event of one record, caused by `reply` (a STOP) or by `cause` (a
    gateway's refusal: source and message_uuid) or by nothing said (an opt-out list)."""
    details = {"changes": {"sms_consent": [True, False]}, "number": "+61412345678"} | cause
    if reply is not None:
        details.update(source="reply", reply_id=reply.id)
    event = AuditEvent(
        action="consent.sms_withdrawn",
        subject_type="candidate",
        subject_id=subject_id,
        details=details,
        created_at=at,
    )
    session.add(event)
    session.commit()
    return event


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def figures(session, scope=None, today=TODAY, zone=SYDNEY, now=NOW) -> dashboard.Dashboard:
    return dashboard.figures(
        session, today=today, zone=zone, scope=scope or dashboard.Scope(), days=30, now=now
    )


def day(result: dashboard.Dashboard, when: date) -> dashboard.Day:
    (found,) = [d for d in result.days if d.day == when]
    return found


def test_messages_count_on_their_local_day(session, make_user):
    sender = make_user()
    # Sydney is UTC+11 in November: 12:59 UTC is 11:59 pm on the 20th, 13:01 UTC the 21st.
    add_message(session, sender, utc(2026, 11, 20, 12, 59))
    add_message(session, sender, utc(2026, 11, 20, 13, 1), state="failed")
    add_message(session, sender, utc(2026, 11, 30, 12, 59))  # the last minute of today
    add_message(session, sender, utc(2026, 11, 30, 13, 0))  # tomorrow: outside
    add_message(session, sender, utc(2026, 10, 31, 12, 59))  # 30 Oct, before the 30 days
    result = figures(session)
    assert [d.day for d in result.days][0] == date(2026, 11, 1)
    assert [d.day for d in result.days][-1] == TODAY
    assert day(result, date(2026, 11, 20)).states == {"delivered": 1}
    assert day(result, date(2026, 11, 21)).states == {"failed": 1}
    assert day(result, TODAY).states == {"delivered": 1}
    assert result.total("messages") == 3


def test_a_scheduled_message_counts_on_the_day_it_goes_not_while_held(session, make_user):
    # Counted on the day it was written while held, it moved to the day it went once released:
    # a past day's figures changed. Held, it is on Sent as scheduled; it counts when it goes.
    sender = make_user()
    held = add_message(session, sender, utc(2026, 11, 20, 1), state="queued", next_attempt_at=None)
    add_message(session, sender, utc(2026, 11, 20, 2), state="queued", next_attempt_at=NOW)

    assert day(figures(session), date(2026, 11, 20)).states == {"queued": 1}
    held.created_at = held.next_attempt_at = utc(2026, 11, 29, 1)  # released on the 29th
    session.commit()
    result = figures(session)
    assert day(result, date(2026, 11, 20)).states == {"queued": 1}
    assert day(result, date(2026, 11, 29)).states == {"queued": 1}


def test_a_day_when_the_clocks_go_forward_is_23_hours(session, make_user):
    sender = make_user()
    # Sydney went to daylight time at 2 am on 4 Oct 2026: that day began at 14:00 UTC on the 3rd
    # (UTC+10) and ended at 13:00 UTC on the 4th (UTC+11).
    add_message(session, sender, utc(2026, 10, 3, 13, 59))  # 11:59 pm AEST on the 3rd
    add_message(session, sender, utc(2026, 10, 3, 14, 0))  # midnight: the 4th
    add_message(session, sender, utc(2026, 10, 4, 12, 59))  # 11:59 pm AEDT on the 4th
    add_message(session, sender, utc(2026, 10, 4, 13, 0))  # midnight: the 5th
    result = figures(session, today=date(2026, 10, 10))
    assert day(result, date(2026, 10, 3)).messages == 1
    assert day(result, date(2026, 10, 4)).messages == 2
    assert day(result, date(2026, 10, 5)).messages == 1


def test_the_same_messages_fall_on_other_days_in_another_zone(session, make_user):
    sender = make_user()
    add_message(session, sender, utc(2026, 11, 20, 14, 0))  # 1 am on the 21st in Sydney
    assert day(figures(session), date(2026, 11, 21)).messages == 1
    perth = figures(session, zone=ZoneInfo("Australia/Perth"))  # 10 pm on the 20th in Perth
    assert day(perth, date(2026, 11, 20)).messages == 1


def test_final_states_delivery_rate_and_parts(session, make_user):
    sender = make_user()
    at = utc(2026, 11, 25, 1)
    recently = NOW - dashboard.RECEIPT_WAIT + timedelta(minutes=1)  # still awaiting a receipt
    for state, count in (("delivered", 6), ("sent", 2), ("failed", 1), ("undelivered", 1)):
        for _ in range(count):
            extra = {"sent_at": recently} if state == "sent" else {}
            add_message(session, sender, at, state=state, segments=2, **extra)
    add_message(session, sender, at, state="sending")  # counted as still queued
    add_message(session, sender, at, state="queued", segments=3, next_attempt_at=at)
    # A resent message: its parts were sent, but only its copy counts for a state.
    add_message(session, sender, at, state="unknown", superseded=True, segments=1, sent_at=at)
    result = figures(session)
    today = day(result, date(2026, 11, 25))
    assert today.states == {"delivered": 6, "sent": 2, "failed": 1, "undelivered": 1, "queued": 2}
    assert today.finished == 8
    assert today.delivery_rate == 75.0
    assert result.delivery_rate == 75.0
    # Parts that reached a gateway, as billed: not the failed one's (refused before any gateway
    # took it), nor the queued or sending ones'.
    assert today.parts == 6 * 2 + 2 * 2 + 2 + 1
    assert result.total("parts") == 19
    assert [(s.messages, s.parts) for s in result.senders] == [(12, 19)]
    assert day(result, date(2026, 11, 24)).delivery_rate is None


def test_a_message_with_no_receipt_after_the_wait_is_finished_as_on_the_batch_page(
    session, make_user
):
    sender = make_user()
    batch = Batch(
        sender_id=sender.id,
        kind="candidates",
        provider="sandbox",
        body="Hi",
        message_count=5,
        created_at=utc(2026, 11, 28),
    )
    session.add(batch)
    session.commit()
    at = utc(2026, 11, 28, 1)
    wait = dashboard.RECEIPT_WAIT
    for state, sent_at in (
        ("delivered", at),
        ("sent", NOW - wait - timedelta(seconds=1)),  # no receipt: final
        ("sent", NOW - wait - timedelta(hours=5)),
        ("sent", NOW - wait + timedelta(seconds=1)),  # may still come
        ("failed", None),
    ):
        add_message(session, sender, at, state=state, sent_at=sent_at, batch_id=batch.id)
    result = figures(session)
    shown = day(result, date(2026, 11, 28))
    assert shown.states == {"delivered": 1, "no_receipt": 2, "sent": 1, "failed": 1}
    assert shown.finished == 4 and result.delivery_rate == 25.0
    # The batch page says the same of the same messages at the same moment.
    progress = batches.progress(session, session.get(Batch, batch.id), now=NOW)
    assert progress.no_receipt == 2 and progress.finished == shown.finished
    assert dashboard.STATE_NAMES["no_receipt"] == "Sent, no receipt"
    # A day later the last one has waited long enough too.
    later = figures(session, now=NOW + timedelta(days=1))
    assert day(later, date(2026, 11, 28)).states["no_receipt"] == 3


def test_days_need_no_unixepoch_and_fractions_of_a_second_stay_on_their_day(session, make_user):
    sender = make_user()
    # 11:59:59.999 pm on the 20th in Sydney, and a microsecond after midnight on the 21st.
    add_message(session, sender, datetime(2026, 11, 20, 12, 59, 59, 999_999, tzinfo=UTC))
    add_message(session, sender, datetime(2026, 11, 20, 13, 0, 0, 1, tzinfo=UTC), state="failed")
    # The window's last moment: 11:59:59.9999 pm today.
    add_message(session, sender, datetime(2026, 11, 30, 12, 59, 59, 999_900, tzinfo=UTC))
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # As on SQLite before 3.38 (Ubuntu 22.04, RHEL 9): no unixepoch(). An application's
        # function of that name stands in for the built-in one, and fails.
        def unixepoch(*args):
            raise RuntimeError("no such function: unixepoch")

        connection.connection.driver_connection.create_function("unixepoch", -1, unixepoch)
    result = figures(session)
    assert day(result, date(2026, 11, 20)).states == {"delivered": 1}
    assert day(result, date(2026, 11, 21)).states == {"failed": 1}
    assert day(result, TODAY).states == {"delivered": 1}
    assert result.total("messages") == 3


def test_failures_by_reason_top_and_other(session, make_user):
    sender = make_user()
    at = utc(2026, 11, 25, 1)
    for n in range(9):
        for _ in range(n + 1):
            add_message(session, sender, at, state="failed", error_text=f"Reason {n}")
    add_message(session, sender, at, state="rejected", error_code="77")
    add_message(session, sender, at, state="undelivered")
    add_message(session, sender, at, state="delivered", error_text="not a failure")
    reasons = figures(session).failures
    assert reasons[:3] == [("Reason 8", 9), ("Reason 7", 8), ("Reason 6", 7)]
    # The 8 commonest, then the rest: Reason 0 (1), Code 77 (1) and no reason (1), ties by name.
    assert len(reasons) == dashboard.TOP_REASONS + 1 == 9
    assert reasons[dashboard.TOP_REASONS - 1] == ("Reason 1", 2)
    assert reasons[-1] == (dashboard.OTHER, 3)
    assert sum(n for _, n in reasons) == 47
    # With exactly 8 reasons, all 8 are named and none is "Other".
    assert dashboard.top_reasons({f"R{n}": n + 1 for n in range(8)})[-1] == ("R0", 1)


def test_reason_labels():
    assert dashboard.reason_label("Handset off", "12") == "Handset off (code 12)"
    assert dashboard.reason_label(None, "12") == "Code 12"
    assert dashboard.reason_label(" ", None) == dashboard.NO_REASON


def test_batches_refused_at_their_time_share_one_reason_for_each_cause():
    """Their texts name each batch's own numbers: as they are, every batch would be a bar."""
    labels = {
        dashboard.reason_label(
            f"Not sent at its scheduled time: This SMS is for {n} people, but your daily limit is "
            f"40 and you have {n - 1} left",
            "limit",
        )
        for n in (2, 3)
    }
    assert labels == {"Not sent at its scheduled time: a daily limit was reached"}
    sender = dashboard.reason_label("Not sent at its scheduled time: Casey can no longer", "sender")
    assert sender == "Not sent at its scheduled time: its sender could no longer send"


def test_scopes_by_user_office_and_team(session, make_user):
    perth = make_user(office="Perth")
    sydney = make_user(office="Sydney")
    nobody = make_user()
    at = utc(2026, 11, 25, 1)
    add_message(session, perth, at, segments=2)
    add_message(session, sydney, at)
    add_message(session, sydney, at)
    add_message(session, nobody, at)
    assert figures(session).total("messages") == 4
    assert figures(session, dashboard.Scope(user_id=sydney.id)).total("messages") == 2
    office = dashboard.Scope(office_id=perth.office_id)
    assert figures(session, office).total("messages") == 1
    assert figures(session, office).total("parts") == 2
    everyone = figures(session)
    assert [(s.name, s.messages, s.parts) for s in everyone.senders] == sorted(
        [(perth.full_name, 1, 2), (sydney.full_name, 2, 2), (nobody.full_name, 1, 1)],
        key=lambda row: (-row[2], row[0]),
    )
    from webapp.users.offices import Team

    team = dashboard.Scope(team=Team(None))  # the users without an office
    assert figures(session, team).total("messages") == 1


def test_replies_and_opt_outs_count_for_whom_they_answer(session, make_user):
    mine, theirs = make_user(), make_user()
    at = utc(2026, 11, 25, 1)
    sent = add_message(session, mine, at)
    stop = add_message(session, mine, at, state="received", direction="in", in_reply_to_id=sent.id)
    add_message(session, mine, at, state="received", direction="in")
    other_stop = add_message(session, theirs, at, state="received", direction="in")
    add_opt_out(session, at, stop)
    add_opt_out(session, at, other_stop)
    add_opt_out(session, at, None)  # a gateway's opt-out list: nobody's reply
    own = figures(session, dashboard.Scope(user_id=mine.id))
    assert day(own, date(2026, 11, 25)).replies == 2
    assert day(own, date(2026, 11, 25)).opt_outs == 1
    assert own.total("messages") == 1  # replies are not outbound messages
    everyone = figures(session)
    assert everyone.total("replies") == 3
    assert everyone.total("opt_outs") == 3


def test_a_stop_from_a_number_on_two_records_is_one_opt_out(session, make_user):
    mine = make_user()
    at = utc(2026, 11, 25, 1)
    sent = add_message(session, mine, at)
    stop = add_message(session, mine, at, state="received", direction="in", in_reply_to_id=sent.id)
    # consent.set_for_number writes an event a record: a candidate and a contact share the number.
    add_opt_out(session, at, stop, subject_id=1)
    add_opt_out(session, at + timedelta(microseconds=300), stop, subject_id=2)
    # A gateway's refusal of one message (Twilio 21610), also on two records: one opt-out.
    refused = {"source": "gateway", "message_uuid": "5f0c-one"}
    add_opt_out(session, at, None, subject_id=3, **refused)
    add_opt_out(session, at, None, subject_id=4, **refused)
    add_opt_out(session, at, None, subject_id=5, source="gateway", message_uuid="5f0c-two")
    # With nothing to tell them apart: once per number and minute.
    add_opt_out(session, at + timedelta(hours=1), None, subject_id=6)
    add_opt_out(session, at + timedelta(hours=1, seconds=2), None, subject_id=7)
    add_opt_out(session, at + timedelta(hours=2), None, subject_id=6)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 8
    assert figures(session, dashboard.Scope(user_id=mine.id)).total("opt_outs") == 1
    assert day(figures(session), date(2026, 11, 25)).opt_outs == 1 + 2 + 2


def add_batch(session, sender, person, at: datetime, *states: str) -> Batch:
    """A batch `sender` sent at `at` to `person` (at their mobile, where a resent copy goes), a
    message (of one part) in each of `states`."""
    batch = Batch(sender_id=sender.id, kind="candidates", body="Hi", provider="sandbox")
    batch.created_at = at
    session.add(batch)
    session.commit()
    for state in states:
        add_message(session, sender, at, state=state, batch_id=batch.id, candidate_id=person.id)
    return batch


def test_a_message_counts_for_its_batchs_sender_whoever_resent_it(session, make_user, ada):
    """A copy carries the sender_id of whoever resent it, whose daily limit counts it: a team
    leader's copies in a consultant's batch counted as the leader's, though Sent and its CSV list
    them in the consultant's batch. They are the consultant's, through a resend of theirs too."""
    ann = make_user(office="Perth")
    lee = make_user(role="team-leader", office="Sydney")
    now = datetime.now(UTC)
    ann_batch = add_batch(session, ann, ada, now, "delivered", "failed", "failed")
    lee_batch = add_batch(session, lee, ada, now, "failed")
    assert batches.resend(session, ann_batch, lee, ("failed",)).queued == 2
    assert batches.resend(session, lee_batch, lee, ("failed",)).queued == 1
    copies = session.scalars(
        sa.select(Message)
        .where(Message.batch_id == ann_batch.id, Message.resend_of_id.is_not(None))
        .order_by(Message.id)
    ).all()
    assert {copy.sender_id for copy in copies} == {lee.id}
    copies[0].state, copies[0].sent_at, copies[0].segments = "delivered", now, 2
    copies[1].state = "failed"
    session.commit()
    assert batches.resend(session, ann_batch, ann, ("failed",)).queued == 1  # Lee's failed copy

    def of(**scope) -> dashboard.Dashboard:
        today = now.astimezone(SYDNEY).date()
        return figures(session, dashboard.Scope(**scope), today=today, now=now)

    # Ann's batch as Sent shows it: the original delivered, Lee's copy delivered, her own queued.
    for anns in (of(user_id=ann.id), of(office_id=ann.office_id), of(team=Team(ann.office_id))):
        assert anns.total("messages") == 3
        assert (anns.state_total("delivered"), anns.state_total("queued")) == (2, 1)
        assert anns.total("parts") == 1 + 2
        assert anns.failures == []
    for lees in (of(user_id=lee.id), of(office_id=lee.office_id)):
        assert lees.total("messages") == 1  # the copy in his own batch
        assert (lees.state_total("queued"), lees.total("parts")) == (1, 0)
    assert of(user_id=ann.id, office_id=lee.office_id).total("messages") == 0
    everyone = of()
    assert everyone.total("messages") == 4
    assert [(s.name, s.messages, s.parts) for s in everyone.senders] == [
        (ann.full_name, 3, 3),
        (lee.full_name, 1, 0),
    ]


def test_a_resent_copy_with_no_sender_still_counts_for_its_batchs_sender(session, make_user, ada):
    """A copy whose sender_id is NULL (nothing writes one today; the column allows it) is
    neither "sent by them" nor, through NOT of a NULL, "not sent by them": it counts all the
    same."""
    ann = make_user(office="Perth")
    now = datetime.now(UTC)
    batch = add_batch(session, ann, ada, now, "failed")
    assert batches.resend(session, batch, ann, ("failed",)).queued == 1
    copy = session.scalar(sa.select(Message).where(Message.resend_of_id.is_not(None)))
    copy.sender_id = None
    session.commit()
    today = now.astimezone(SYDNEY).date()
    for scope in (dashboard.Scope(user_id=ann.id), dashboard.Scope(office_id=ann.office_id)):
        board = figures(session, scope, today=today, now=now)
        assert (board.total("messages"), board.state_total("queued")) == (1, 1)


def test_a_rate_of_some_but_not_all_is_never_0_or_100():
    """Rounded to 0.1, 2,999 of 3,000 was 100.0 and 1 of 2,500 was 0.0."""
    assert dashboard.rate(2999, 3000) == 99.9
    assert dashboard.rate(1, 2500) == 0.1
    assert dashboard.rate(99_999, 100_000) == 99.9
    assert dashboard.rate(3000, 3000) == 100.0 and dashboard.rate(0, 3000) == 0.0
    assert dashboard.rate(3, 4) == 75.0 and dashboard.rate(0, 0) is None


def test_senders_sharing_a_name_carry_their_username(session, make_user):
    """Two users called alike were two identical rows of the senders table, even when only one of
    them sent."""
    first = make_user("casey-fig", full_name="Casey Consultant")
    second = make_user("casey2-fig", full_name="Casey Consultant")
    make_user("casey3-fig", full_name="Casey Other")
    alone = make_user("ann-fig", full_name="Ann Alone")
    add_message(session, first, utc(2026, 11, 28, 1))
    add_message(session, alone, utc(2026, 11, 28, 1))
    names = {s.user_id: s.name for s in figures(session).senders}
    assert names == {first.id: "Casey Consultant (casey-fig)", alone.id: "Ann Alone"}
    add_message(session, second, utc(2026, 11, 28, 1))
    names = {s.user_id: s.name for s in figures(session).senders}
    assert names[second.id] == "Casey Consultant (casey2-fig)"
