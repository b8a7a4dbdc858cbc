"""The dashboard's figures (webapp.sms.dashboard) against messages, replies and opt-outs written
straight into the database: whole days in a zone (DST too), scopes, failure reasons, parts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from webapp.models import AuditEvent, Message
from webapp.sms import dashboard

SYDNEY = ZoneInfo("Australia/Sydney")
TODAY = date(2026, 11, 30)


def add_message(session, sender, at: datetime, state: str = "delivered", **fields) -> Message:
    """An outbound message (or, with direction="in", a reply addressed to `sender`) at `at`."""
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


def add_opt_out(session, at: datetime, reply: Message | None) -> AuditEvent:
    """A consent.sms_withdrawn event, caused by `reply` (a STOP) or by nothing (a gateway list)."""
    details = {"changes": {"sms_consent": [True, False]}, "number": "+61412345678"}
    if reply is not None:
        details.update(source="reply", reply_id=reply.id)
    event = AuditEvent(
        action="consent.sms_withdrawn",
        subject_type="candidate",
        subject_id=1,
        details=details,
        created_at=at,
    )
    session.add(event)
    session.commit()
    return event


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def figures(session, scope=None, today=TODAY, zone=SYDNEY) -> dashboard.Dashboard:
    return dashboard.figures(
        session, today=today, zone=zone, scope=scope or dashboard.Scope(), days=30
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
    for state, count in (("delivered", 6), ("sent", 2), ("failed", 1), ("undelivered", 1)):
        for _ in range(count):
            add_message(session, sender, at, state=state, segments=2)
    add_message(session, sender, at, state="sending")  # counted as still queued
    add_message(session, sender, at, state="queued", segments=3)
    # A resent message: its parts were sent, but only its copy counts for a state.
    add_message(session, sender, at, state="unknown", superseded=True, segments=1)
    result = figures(session)
    today = day(result, date(2026, 11, 25))
    assert today.states == {"delivered": 6, "sent": 2, "failed": 1, "undelivered": 1, "queued": 2}
    assert today.finished == 8
    assert today.delivery_rate == 75.0
    assert result.delivery_rate == 75.0
    assert today.parts == 10 * 2 + 1 + 3 + 1
    assert result.total("parts") == 25
    assert day(result, date(2026, 11, 24)).delivery_rate is None


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
    assert len(reasons) == dashboard.TOP_REASONS
    # Left out of the top 7: Reason 1 (2), Reason 0 (1), Code 77 (1), no reason (1).
    assert reasons[-1] == (dashboard.OTHER, 5)
    assert sum(n for _, n in reasons) == 47


def test_reason_labels():
    assert dashboard.reason_label("Handset off", "12") == "Handset off (code 12)"
    assert dashboard.reason_label(None, "12") == "Code 12"
    assert dashboard.reason_label(" ", None) == dashboard.NO_REASON


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
