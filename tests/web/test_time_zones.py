"""Every time in the reader's zone: a record's conversation and a reply email in the zone of the
user who reads it (their own, else the organisation's: the Settings page's, else TIMEZONE), the
search's Created dates read as days of that zone, and the zone chosen on Profile and Settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.pages import assert_refused, audits, fresh, text
from tests.replying import send_sms
from webapp.models import Email, Setting, User, audit
from webapp.sms import replies
from webapp.sms.settings import reply_settings

# 16:30 UTC on 3 October 2026: 3:30 am AEDT in Sydney (an hour after its clocks went forward),
# 5:30 am NZDT in Auckland, 5:30 pm BST in London.
MOMENT = datetime(2026, 10, 3, 16, 30, tzinfo=UTC)
ZONE_PROBLEM = "“{}” is not a time zone name like Australia/Sydney, Pacific/Auckland or UTC."


def sent_at(app, session, sender, person, moment=MOMENT):
    [message] = send_sms(app, session, sender, [person], dispatch=False)
    message.created_at = moment
    session.commit()
    return message


def profile_form(user, **overrides) -> dict:
    return {"email": user.email, "mobile": "", "office": "", **overrides}


def settings_form(**overrides) -> dict:
    form = {"comment_types": "SMS", "default_region": "", "originator": "", "timezone": ""}
    form.update(overrides)
    return {**form, "unmatched_reply_address": ""}


# --- pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "own_zone, shown",
    [
        (None, "4 Oct 2026, 3:30 am AEDT"),  # the organisation's: TIMEZONE, Australia/Sydney
        ("Pacific/Auckland", "4 Oct 2026, 5:30 am NZDT"),
        ("Europe/London", "3 Oct 2026, 5:30 pm BST"),
    ],
)
def test_the_conversation_shows_times_in_the_readers_zone(
    app, client, session, login, ada, own_zone, shown
):
    me = login("consultant", timezone=own_zone)
    sent_at(app, session, me, ada)

    page = text(client.get(f"/candidates/{ada.id}"))

    assert f"Sent by {me.full_name}, {shown} to" in page
    assert "16:30" not in page


def test_the_organisations_zone_from_settings_wins_over_timezone(app, client, session, login, ada):
    me = login("consultant")
    sent_at(app, session, me, ada)
    session.add(Setting(key="timezone", value="Asia/Tokyo"))
    session.commit()

    page = text(client.get(f"/candidates/{ada.id}"))

    assert f"Sent by {me.full_name}, 4 Oct 2026, 1:30 am JST to" in page


@pytest.mark.parametrize("stored", ["localtime", "Mars/Olympus"])
def test_a_stored_organisation_zone_that_is_not_a_zone_gives_way_to_timezone(
    app, client, session, login, ada, stored
):
    me = login("consultant")
    sent_at(app, session, me, ada)
    # Saved before names were checked: TIMEZONE (Australia/Sydney here) decides, not UTC.
    session.add(Setting(key="timezone", value=stored))
    session.commit()

    page = text(client.get(f"/candidates/{ada.id}"))

    assert f"Sent by {me.full_name}, 4 Oct 2026, 3:30 am AEDT to" in page
    assert reply_settings(session, app.config).timezone == "Australia/Sydney"


def test_created_dates_of_the_search_are_days_in_the_readers_zone(
    client, session, login, make_candidate
):
    login("consultant", timezone="Pacific/Auckland")
    # Auckland's 4 October 2026 runs from 11:00 UTC on the 3rd (00:00 NZDT) to 11:00 UTC on the 4th.
    early = make_candidate(
        "Early", "Bird", None, created_at=datetime(2026, 10, 3, 10, 59, tzinfo=UTC)
    )
    first = make_candidate(
        "First", "Light", None, created_at=datetime(2026, 10, 3, 11, 0, tzinfo=UTC)
    )
    last = make_candidate(
        "Last", "Call", None, created_at=datetime(2026, 10, 4, 10, 59, tzinfo=UTC)
    )
    late = make_candidate("Late", "Owl", None, created_at=datetime(2026, 10, 4, 11, 0, tzinfo=UTC))

    page = text(client.get("/candidates?created_from=2026-10-04&created_to=2026-10-04"))

    assert f"/candidates/{first.id}" in page and f"/candidates/{last.id}" in page
    assert f'/candidates/{early.id}"' not in page and f'/candidates/{late.id}"' not in page


# --- the reply email -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "own_zone, shown",
    [
        (None, "4 Oct 2026, 3:30 am AEDT"),
        ("Europe/London", "3 Oct 2026, 5:30 pm BST"),
    ],
)
def test_a_reply_email_gives_the_time_in_the_zone_of_the_consultant_it_goes_to(
    app, session, make_user, ada, own_zone, shown
):
    consultant = make_user(role="consultant", timezone=own_zone)
    message = sent_at(app, session, consultant, ada, datetime(2026, 10, 3, 9, 0, tzinfo=UTC))
    inbound = replies.InboundSms(
        provider="sandbox",
        provider_message_id="tz-1",
        from_number="61412345678",
        to_number="61400000001",
        body="Yes, Monday works",
        reference=message.uuid,
    )

    replies.receive(session, inbound, reply_settings(session, app.config), now=MOMENT)

    [email] = session.scalars(sa.select(Email)).all()
    assert email.to_address == consultant.email
    assert email.body.startswith(f"Ada Lovelace (+61412345678) replied by SMS on {shown}:\n")


# --- choosing a zone -----------------------------------------------------------------------------


def test_a_user_chooses_their_zone_on_profile_and_may_empty_it(client, session, login):
    me = login("consultant")
    page = text(client.get("/profile"))
    assert 'list="time-zones"' in page and '<option value="Pacific/Auckland">' in page
    assert "Empty: the organisation’s (Australia/Sydney)." in page

    response = client.post("/profile", data=profile_form(me, timezone=" Pacific/Auckland "))

    assert response.status_code == 302
    assert fresh(session, User, me.id).timezone == "Pacific/Auckland"
    [event] = audits(session, "profile.edited")
    assert event.details["changes"]["timezone"] == [None, "Pacific/Auckland"]
    client.post("/profile", data=profile_form(me, timezone=""))
    assert fresh(session, User, me.id).timezone is None


@pytest.mark.parametrize("typed", ["Sydney", "AEST", "Australia/Syndey"])
def test_an_unknown_zone_is_refused_beside_the_profile_field(client, session, login, typed):
    me = login("consultant")
    response = client.post("/profile", data=profile_form(me, timezone=typed))
    assert_refused(response, "timezone", ZONE_PROBLEM.format(typed))
    assert fresh(session, User, me.id).timezone is None


def test_an_administrator_sets_the_organisations_zone_and_an_unknown_one_is_refused(
    client, session, login
):
    login("administrator")
    refused = client.post("/admin/settings", data=settings_form(timezone="Mars/Olympus"))
    assert_refused(refused, "timezone", ZONE_PROBLEM.format("Mars/Olympus"))
    assert session.get(Setting, "timezone") is None

    saved = client.post("/admin/settings", data=settings_form(timezone="Australia/Perth"))

    assert saved.status_code == 302
    session.rollback()
    assert session.get(Setting, "timezone").value == "Australia/Perth"
    [event] = audits(session, "settings.changed")
    assert event.details["changes"]["timezone"] == ["", "Australia/Perth"]
    assert "Times are in Australia/Perth." in text(client.get("/sms/replies"))


# --- the audit log -------------------------------------------------------------------------------


def test_the_audit_log_reads_dates_and_shows_times_in_the_readers_zone(client, session, login):
    login("team-leader", timezone="Pacific/Auckland")
    # Auckland's 4 October 2026 runs from 11:00 UTC on the 3rd to 11:00 UTC on the 4th.
    for minute, at in enumerate(
        [
            datetime(2026, 10, 3, 10, 59, tzinfo=UTC),
            datetime(2026, 10, 3, 11, 0, tzinfo=UTC),
            datetime(2026, 10, 4, 10, 59, tzinfo=UTC),
            datetime(2026, 10, 4, 11, 0, tzinfo=UTC),
        ]
    ):
        event = audit(session, None, "auth.locked", until=f"2026-10-03T16:{minute:02d}:00+00:00")
        event.created_at = at
    session.commit()

    page = text(client.get("/audit?date_from=2026-10-04&date_to=2026-10-04"))

    assert "4 Oct 2026, 12:00 am NZDT" in page and "4 Oct 2026, 11:59 pm NZDT" in page
    assert "11:59 pm NZDT" in page and "5 Oct 2026" not in page and "3 Oct 2026" not in page
    # The lock's end, kept in the details as ISO UTC, is shown in the reader's zone too.
    assert "4 Oct 2026, 5:01 am NZDT" in page and "4 Oct 2026, 5:02 am NZDT" in page
    assert "2026-10-03T16" not in page
