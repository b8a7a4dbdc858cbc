"""Sending limits (`webapp.sms.limits`) through the real Send, resend and Quick reply on a real
database: at the limit a Send goes, one more is refused whole with only its audit written; the
user's limit and the organisation's cap; any rolling 24 hours; and two Sends at once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.delivery import insert_candidates, send_request
from webapp import form_tokens, times
from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import AuditEvent, Batch, Message, Setting, utcnow
from webapp.sms import batches, compose, limits, quick_reply, settings
from webapp.sms.limits import LimitSettings

NO_SERVER_DEFAULT = LimitSettings()


def blocked(session) -> frozenset[str]:
    return settings.blocked_regions(session, "sandbox")


def send(session, user, ids, limit_settings=NO_SERVER_DEFAULT) -> Batch:
    draft = compose.create_draft(session, user, "candidates", list(ids))
    return compose.send(
        session,
        draft,
        user,
        send_request(),
        provider="sandbox",
        blocked=blocked(session),
        limit_settings=limit_settings,
    )


def refused(session, user, ids, limit_settings=NO_SERVER_DEFAULT) -> FieldError:
    with pytest.raises(FieldError) as caught:
        send(session, user, ids, limit_settings)
    session.rollback()
    assert caught.value.status == 429
    return caught.value


def committed(app) -> dict[str, object]:
    """Batches, messages and audit actions as committed, seen by a fresh session."""
    with app.extensions["database"].sessionmaker() as fresh:
        return {
            "batches": fresh.scalar(sa.select(sa.func.count()).select_from(Batch)),
            "messages": fresh.scalar(sa.select(sa.func.count()).select_from(Message)),
            "audit": list(fresh.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id))),
        }


def store(session, key: str, value) -> None:
    session.merge(Setting(key=key, value=value))
    session.commit()


def age_messages(session, by: timedelta) -> None:
    """Make every message written so far `by` older."""
    for message in session.scalars(sa.select(Message)):
        message.created_at = message.created_at - by
    session.commit()


@pytest.fixture
def people(session):
    """Ten consenting candidates with valid AU mobiles (their ids)."""
    return insert_candidates(session, 10)


# --- the user's limit, at the boundary -----------------------------------------------------------


def test_a_send_that_reaches_the_limit_exactly_goes_and_one_more_is_refused(
    app, session, make_user, people
):
    casey = make_user(daily_limit=3)
    send(session, casey, people[:2])
    send(session, casey, people[2:3])  # 3 of 3

    error = refused(session, casey, people[3:4])

    assert error.message.startswith(
        "This SMS is for 1 person, but your daily limit is 3 and you have none left "
        "(limits count any 24 hours). You can send it from "
    )
    assert error.field == "form"
    assert committed(app)["messages"] == 3


def test_a_refused_send_writes_nothing_but_its_audit_with_the_numbers(
    app, session, make_user, people
):
    casey = make_user(daily_limit=5)
    send(session, casey, people[:3])
    before = committed(app)

    error = refused(session, casey, people[3:6])

    assert error.message.startswith(
        "This SMS is for 3 people, but your daily limit is 5 and you have 2 left "
        "(limits count any 24 hours). You can choose 2 people or fewer or send it from "
    )
    after = committed(app)
    assert (after["batches"], after["messages"]) == (before["batches"], before["messages"])
    assert after["audit"] == before["audit"] + ["sms.limit_refused"]
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sms.limit_refused"))
    assert event.actor_id == casey.id
    assert event.details == {
        "scope": "user",
        "source": "user",
        "limit": 5,
        "used": 3,
        "left": 2,
        "requested": 3,
        "resend": False,
    }


def test_the_limit_counts_any_24_hours_not_the_calendar_day(app, session, make_user, people):
    casey = make_user(daily_limit=2)
    send(session, casey, people[:2])
    age_messages(session, timedelta(hours=23, minutes=59))
    refused(session, casey, people[2:3])  # sent 23 h 59 min ago: still counted

    age_messages(session, timedelta(minutes=2))  # now 24 h 1 min ago

    send(session, casey, people[2:4])
    assert committed(app)["messages"] == 4


def test_other_users_messages_do_not_count_against_a_users_limit(app, session, make_user, people):
    casey, lee = make_user(daily_limit=2), make_user()
    send(session, lee, people[:5])

    send(session, casey, people[5:7])

    assert committed(app)["messages"] == 7


# --- where the limit comes from ------------------------------------------------------------------


def test_the_users_own_limit_then_the_highest_role_default_then_sms_daily_limit(session, make_user):
    from webapp.models import Role

    server = LimitSettings(default=100)
    casey = make_user(role="consultant")
    lead = make_user(role="team-leader")
    lead.roles.append(session.scalar(sa.select(Role).where(Role.name == "consultant")))
    session.commit()

    assert limits.daily_limit(session, casey, server) == limits.DailyLimit(100, "server")
    assert limits.daily_limit(session, casey, NO_SERVER_DEFAULT) == limits.DailyLimit(None, "none")

    store(session, limits.ROLE_LIMITS_KEY, {"consultant": 50, "team-leader": 400})
    assert limits.daily_limit(session, casey, server) == limits.DailyLimit(50, "role")
    assert limits.daily_limit(session, lead, server) == limits.DailyLimit(400, "role")

    casey.daily_limit = 7
    session.commit()
    assert limits.daily_limit(session, casey, server) == limits.DailyLimit(7, "user")

    # 0 is "no limit", at every level: above any number.
    store(session, limits.ROLE_LIMITS_KEY, {"consultant": 50, "team-leader": 0})
    assert limits.daily_limit(session, lead, server) == limits.DailyLimit(None, "role")
    casey.daily_limit = 0
    session.commit()
    assert limits.daily_limit(session, casey, server) == limits.DailyLimit(None, "user")


def test_sms_daily_limit_applies_to_a_user_whose_roles_have_no_default(
    app, session, make_user, people
):
    casey = make_user()
    server = LimitSettings(default=2)
    send(session, casey, people[:2], server)

    error = refused(session, casey, people[2:3], server)

    assert "your daily limit is 2 and you have none left" in error.message


# --- the organisation's cap ----------------------------------------------------------------------


def test_the_organisation_cap_counts_everyones_messages(app, session, make_user, people):
    casey, lee = make_user(), make_user()
    store(session, limits.ORGANISATION_LIMIT_KEY, 4)
    send(session, casey, people[:3])
    send(session, lee, people[3:4])  # 4 of 4

    error = refused(session, lee, people[4:6])

    assert error.message.startswith(
        "This SMS is for 2 people, but the organisation's daily limit is 4 and none are left "
        "(limits count any 24 hours). You can send it from "
    )
    assert error.message.endswith(", or an administrator can raise the organisation's limit.")
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sms.limit_refused"))
    assert (event.actor_id, event.details["scope"], event.details["used"]) == (
        lee.id,
        "organisation",
        4,
    )
    assert committed(app)["messages"] == 4


PERTH = ZoneInfo("Australia/Perth")


def send_in_perth(session, user, ids, **fields) -> Batch:
    draft = compose.create_draft(session, user, "candidates", list(ids))
    return compose.send(
        session,
        draft,
        user,
        send_request(**fields),
        provider="sandbox",
        blocked=blocked(session),
        limit_settings=NO_SERVER_DEFAULT,
        zone=PERTH,
    )


def refused_in_perth(session, user, ids, **fields) -> FieldError:
    with pytest.raises(FieldError) as caught:
        send_in_perth(session, user, ids, **fields)
    session.rollback()
    assert caught.value.status == 429
    return caught.value


def test_a_refusal_says_when_it_would_fit_in_the_senders_zone_and_who_can_raise_it(
    session, make_user, people
):
    casey = make_user(daily_limit=3)
    send(session, casey, people[:2])
    age_messages(session, timedelta(hours=20))  # these two leave the 24 hours in 4 hours
    send(session, casey, people[2:3])  # 3 of 3
    first = min(session.scalars(sa.select(Message.created_at)))

    error = refused_in_perth(session, casey, people[3:5])

    # Two must leave for two more to fit: the second of the oldest, 24 hours after it went.
    second = sorted(session.scalars(sa.select(Message.created_at)))[1]
    assert second == first
    at = times.when(second + timedelta(hours=24), PERTH)
    if (second + timedelta(hours=24)).astimezone(PERTH).date() == utcnow().astimezone(PERTH).date():
        at = at.split(", ", 1)[1]
    assert error.message == (
        "This SMS is for 2 people, but your daily limit is 3 and you have none left "
        f"(limits count any 24 hours). You can send it from {at}, or an administrator can "
        "raise your limit."
    )
    assert "AWST" in error.message


def test_a_refusal_with_some_left_says_how_many_people_would_go(session, make_user, people):
    casey = make_user(daily_limit=3)
    send(session, casey, people[:2])

    error = refused_in_perth(session, casey, people[2:4])

    assert error.message.startswith(
        "This SMS is for 2 people, but your daily limit is 3 and you have 1 left "
        "(limits count any 24 hours). You can choose 1 person or fewer or send it from "
    )


def test_todays_use_does_not_refuse_a_scheduled_send(app, session, make_user, people):
    casey = make_user(daily_limit=4)
    send(session, casey, people[:4])  # 4 of 4 now

    batch = send_in_perth(
        session, casey, people[4:8], send_at=utcnow() + timedelta(days=2)
    )  # counted when it goes

    assert batch.send_at is not None and batch.message_count == 4
    assert committed(app)["messages"] == 8


def test_a_scheduled_send_larger_than_the_limit_itself_is_refused(app, session, make_user, people):
    casey = make_user(daily_limit=4)

    error = refused_in_perth(session, casey, people[:5], send_at=utcnow() + timedelta(days=2))

    assert error.message == (
        "This SMS is for 5 people, but your daily limit is 4, so it could never go whole. "
        "You can choose 4 people or fewer, or an administrator can raise your limit."
    )
    assert error.field == "form"
    assert committed(app)["messages"] == 0


def test_a_user_without_a_limit_is_still_held_by_the_organisation_cap(
    app, session, make_user, people
):
    casey = make_user(daily_limit=0)  # no limit of her own
    store(session, limits.ORGANISATION_LIMIT_KEY, 3)

    error = refused(session, casey, people[:4])

    assert "the organisation's daily limit is 3 and 3 are left" in error.message
    assert committed(app)["messages"] == 0


# --- resends and quick replies count -------------------------------------------------------------


def test_a_resend_counts_and_is_refused_whole_over_the_limit(app, session, make_user, people):
    casey = make_user(daily_limit=3)
    batch = send(session, casey, people[:2])
    session.execute(sa.update(Message).values(state="failed", attempts=1))
    session.commit()

    with pytest.raises(FieldError) as caught:
        batches.resend(session, batch, casey, ("failed",), limit_settings=NO_SERVER_DEFAULT)
    session.rollback()

    assert caught.value.status == 429
    assert caught.value.message == (
        "This resend is 2 messages, but your daily limit is 3 and you have 1 left "
        "(limits count any 24 hours)."
    )
    assert committed(app)["messages"] == 2
    assert not any(session.scalars(sa.select(Message.superseded)))  # nothing marked resent
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sms.limit_refused"))
    assert event.details["resend"] is True

    casey.daily_limit = 4
    session.commit()
    resent = batches.resend(session, batch, casey, ("failed",), limit_settings=NO_SERVER_DEFAULT)
    assert resent.queued == 2
    # The copies count: 4 of 4 now, so even one more message is refused.
    refused(session, casey, people[2:3])


def test_quick_replies_count_and_are_checked(app, session, make_user, make_candidate):
    casey = make_user(daily_limit=1)
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")

    def reply():
        return quick_reply.send(
            session,
            casey,
            "candidates",
            ada.id,
            quick_reply.ReplyRequest(token=form_tokens.new(), body="Hi", ignore_reason=""),
            provider="sandbox",
            blocked=blocked(session),
            limit_settings=NO_SERVER_DEFAULT,
        )

    reply()
    with pytest.raises(FieldError) as caught:
        reply()
    session.rollback()

    assert caught.value.status == 429
    assert "your daily limit is 1 and you have none left" in caught.value.message
    assert committed(app)["messages"] == 1


# --- two Sends at once ---------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["user", "organisation"])
def test_two_sends_at_once_cannot_both_pass_the_limit(app, session, make_user, people, scope):
    """The first Send has counted and written its messages but not committed; the second, meanwhile,
    must wait for it and then count them, not pass on the count from before."""
    casey = make_user(daily_limit=2 if scope == "user" else None)
    second_sender = casey if scope == "user" else make_user()
    if scope == "organisation":
        store(session, limits.ORGANISATION_LIMIT_KEY, 2)
    draft = compose.create_draft(session, second_sender, "candidates", people[2:4])
    engine = app.extensions["database"].engine
    maker = app.extensions["database"].sessionmaker
    counting = threading.Event()
    result: dict = {}

    def watch(conn, cursor, statement, parameters, context, executemany):
        # The second Send has reached its limit check (or waits for the lock before it).
        if threading.current_thread().name == "second-send" and (
            "pg_advisory_xact_lock" in statement
            or "count(*)" in statement
            or statement.startswith("BEGIN IMMEDIATE")
        ):
            counting.set()

    def second_send():
        try:
            with maker() as second:
                user = second.get(type(second_sender), second_sender.id)
                compose.send(
                    second,
                    second.get(type(draft), draft.id),
                    user,
                    send_request(),
                    provider="sandbox",
                    blocked=blocked(second),
                    limit_settings=NO_SERVER_DEFAULT,
                )
                result["sent"] = True
        except FieldError as error:
            result["refused"] = error
        except BaseException as error:  # reported by the main thread
            result["error"] = error
        finally:
            counting.set()

    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        with maker() as first:
            first_draft = compose.create_draft(first, casey, "candidates", people[:2])
            # The first Send, stopped just before its commit.
            begin_write(first)
            limits.check(first, first.get(type(casey), casey.id), 2, NO_SERVER_DEFAULT)
            first.add(
                Batch(
                    draft_id=first_draft.id,
                    sender_id=casey.id,
                    kind="candidates",
                    body="first",
                    provider="sandbox",
                )
            )
            for number in ("+61412000001", "+61412000002"):
                first.add(
                    Message(
                        sender_id=casey.id,
                        direction="out",
                        to_e164=number,
                        body="first",
                        provider="sandbox",
                        created_at=utcnow(),
                        next_attempt_at=utcnow(),  # queued to go now, as enqueue does
                    )
                )
            first.flush()
            thread = threading.Thread(target=second_send, name="second-send")
            thread.start()
            assert counting.wait(timeout=60), "the second send never reached its check"
            time.sleep(0.5)  # time enough for an unlocked second Send to count and insert
            first.commit()
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)

    assert "error" not in result, repr(result.get("error"))
    assert "refused" in result, "the second Send passed on a count without the first's messages"
    assert result["refused"].status == 429
    assert committed(app)["messages"] == 2
