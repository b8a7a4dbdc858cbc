"""Offices in the database (SQLite and PostgreSQL): revision 0015 turns the old free-text offices
into records, the domain adds and edits them (unique whatever the case, audited), a user's zone
is their own, else their office's, else the organisation's, and their typed numbers are read in
their office's region."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.conftest import office_named
from tests.pages import audits
from tests.replying import receive, send_sms
from webapp import migrate, times
from webapp.database import make_engine
from webapp.errors import FieldError, FieldErrors
from webapp.models import Office, Setting, User
from webapp.sms import inbox, sent_log
from webapp.users import offices
from webapp.users.offices import OfficeDetails


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


# --- revision 0015 -------------------------------------------------------------------------------


def test_0015_makes_an_office_of_each_distinct_trimmed_text_and_links_its_users(engine):
    migrate.downgrade(engine, "0014")
    created = datetime(2026, 1, 5, 9, 0)
    with engine.begin() as connection:
        insert = sa.text(
            "INSERT INTO users (username, full_name, email, office, active, password_hash, "
            "must_change_password, created_at) VALUES "
            "(:username, :username, 'x@example.com', :office, true, 'x', false, :at)"
        )
        for username, office in (
            ("ann", "Perth"),
            ("ben", " Perth "),
            ("cat", "Sydney"),
            ("dan", None),
            ("eve", "  "),
        ):
            connection.execute(insert, {"username": username, "office": office, "at": created})

    migrate.upgrade(engine)

    with engine.connect() as connection:
        names = dict(connection.execute(sa.text("SELECT id, name FROM offices")).all())
        members = dict(connection.execute(sa.text("SELECT username, office_id FROM users")).all())
    assert sorted(names.values()) == ["Perth", "Sydney"]
    office_of = {username: names.get(office_id) for username, office_id in members.items()}
    assert office_of == {
        "ann": "Perth",
        "ben": "Perth",
        "cat": "Sydney",
        "dan": None,
        "eve": None,
    }


# --- adding and editing --------------------------------------------------------------------------


def test_an_office_is_added_with_its_zone_and_region_and_audited(session, make_user):
    admin = make_user(role="administrator")
    office = offices.add_office(
        session, admin, OfficeDetails(" Auckland ", " Pacific/Auckland ", "nz")
    )
    session.expire_all()
    stored = session.get(Office, office.id)
    assert (stored.name, stored.timezone, stored.region) == ("Auckland", "Pacific/Auckland", "NZ")
    [event] = audits(session, "office.added")
    assert (event.actor_id, event.subject_type, event.subject_id) == (admin.id, "office", office.id)
    assert offices.find_by_name(session, "AUCKLAND ").id == office.id


@pytest.mark.parametrize("typed", ["ZÜRICH", "zu\u0308rich", "Zürich\u200b", " zürich "])
def test_an_office_is_found_by_its_name_as_it_looks(session, make_user, typed):
    """As offices are told apart when saved: any case of any letter (SQLite's lower() folds only
    ASCII), either Unicode spelling of an accent, invisible characters aside."""
    admin = make_user(role="administrator")
    office = offices.add_office(session, admin, OfficeDetails("Zürich", "Europe/Zurich", "CH"))
    assert offices.find_by_name(session, typed).id == office.id
    assert offices.find_by_name(session, "Zurich") is None
    assert offices.find_by_name(session, "\u200b") is None


@pytest.mark.parametrize(
    "details, field",
    [
        (OfficeDetails(""), "name"),
        (OfficeDetails("perth"), "name"),  # taken, whatever the case
        (OfficeDetails("x" * 121), "name"),
        (OfficeDetails("Hobart\nTAS"), "name"),
        (OfficeDetails("Hobart", timezone="Australia/Hobartt"), "timezone"),
        (OfficeDetails("Hobart", region="ZZ"), "region"),
    ],
)
def test_a_bad_office_is_refused_naming_the_field(session, details, field):
    office_named(session, "Perth")
    with pytest.raises(FieldError) as refused:
        offices.add_office(session, None, details)
    assert refused.value.field == field
    session.rollback()
    assert [office.name for office in offices.all_offices(session)] == ["Perth"]


def test_a_refusal_names_every_wrong_field(session):
    perth = office_named(session, "Perth", timezone="Australia/Perth", region="AU")

    with pytest.raises(FieldErrors) as refused:
        offices.edit_office(session, None, perth, OfficeDetails("", "Mars/Base", "ZZ"))

    assert [error.field for error in refused.value.errors] == ["name", "timezone", "region"]
    assert refused.value.field == "name"  # as a FieldError: the first, saying all three
    assert "Mars/Base" in refused.value.message and "ZZ" in refused.value.message
    session.rollback()
    assert (perth.name, perth.timezone, perth.region) == ("Perth", "Australia/Perth", "AU")


def test_an_edit_returns_and_audits_only_what_changed(session):
    perth = office_named(session, "Perth", timezone="Australia/Sydney", region="AU")
    changes = offices.edit_office(
        session, None, perth, OfficeDetails("Perth", "Australia/Perth", "AU")
    )
    assert changes == {"timezone": ["Australia/Sydney", "Australia/Perth"]}
    assert (
        offices.edit_office(session, None, perth, OfficeDetails("Perth", "Australia/Perth", "au"))
        == {}
    )
    [event] = audits(session, "office.changed")
    assert event.details == {"name": "Perth", "changes": changes}
    # Its own name in another case is no clash with itself.
    assert offices.edit_office(
        session, None, perth, OfficeDetails("PERTH", "Australia/Perth", "AU")
    )


def test_a_chosen_office_must_exist(session):
    perth = office_named(session, "Perth")
    assert offices.chosen(session, perth.id) == perth
    assert offices.chosen(session, None) is None
    with pytest.raises(FieldError) as refused:
        offices.chosen(session, perth.id + 1000)
    assert refused.value.field == "office"


def test_members_are_counted_per_office(session, make_user):
    perth = office_named(session, "Perth")
    sydney = office_named(session, "Sydney")
    for office in ("Perth", "Perth", "Sydney", None):
        make_user(office=office)
    assert offices.member_counts(session) == {perth.id: 2, sydney.id: 1}


# --- zone and region chains ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "own, office_zone, expected",
    [
        (None, None, "Australia/Sydney"),
        (None, "Pacific/Auckland", "Pacific/Auckland"),
        ("Australia/Perth", "Pacific/Auckland", "Australia/Perth"),
    ],
)
def test_a_users_zone_is_their_own_else_their_offices_else_the_organisations(
    session, make_user, own, office_zone, expected
):
    office_named(session, "Branch", timezone=office_zone)
    user = make_user(timezone=own, office="Branch")
    assert times.user_zone(user, "Australia/Sydney").key == expected
    assert times.user_zone(None, "Australia/Sydney").key == "Australia/Sydney"
    moment = datetime(2026, 10, 3, 16, 30, tzinfo=UTC)
    assert times.when(moment, times.user_zone(user, "Australia/Sydney")).endswith(
        {"Australia/Sydney": "AEDT", "Pacific/Auckland": "NZDT", "Australia/Perth": "AWST"}[
            expected
        ]
    )


def test_a_users_phone_region_is_their_offices_else_the_organisations(session, make_user):
    office_named(session, "Auckland", region="NZ")
    office_named(session, "Head office")
    assert offices.phone_region(make_user(office="Auckland"), "AU") == "NZ"
    assert offices.phone_region(make_user(office="Head office"), "AU") == "AU"
    assert offices.phone_region(make_user(), "AU") == "AU"
    assert offices.phone_region(None, "AU") == "AU"


def test_team_views_are_limited_only_for_those_who_cannot_manage_users(session, make_user):
    perth = office_named(session, "Perth")
    lead = make_user(role="team-leader", office="Perth")
    admin = make_user(role="administrator", office="Perth")
    pat = make_user(office="Perth")
    make_user(office="Sydney")
    assert offices.team_of(session, lead) is None  # the setting is off

    session.add(Setting(key=offices.TEAM_VIEWS_SETTING, value=True))
    session.commit()

    assert offices.team_of(session, admin) is None
    team = offices.team_of(session, lead)
    assert team == offices.Team(perth.id)
    assert set(session.scalars(team.members())) == {lead.id, admin.id, pat.id}
    lone = make_user(role="team-leader")
    assert set(session.scalars(offices.team_of(session, lone).members())) == {lone.id}


def test_deleting_an_office_leaves_its_users_without_one(session, make_user):
    office_named(session, "Perth")
    user = make_user(office="Perth")
    session.execute(sa.delete(Office).where(Office.name == "Perth"))
    session.commit()
    session.expire_all()
    assert session.get(User, user.id).office_id is None


def test_the_sent_log_and_inbox_of_a_team_hold_only_its_members_work(
    app, session, make_user, make_candidate
):
    perth = office_named(session, "Perth")
    pat = make_user("pat", office="Perth")
    sam = make_user("sam", office="Sydney")
    replies = {}
    for user, number in ((pat, "0400 111 222"), (sam, "0400 333 444")):
        [message] = send_sms(app, session, user, [make_candidate("Rec", user.username, number)])
        replies[user.id] = receive(
            app,
            session,
            "Yes",
            from_number="61" + number.replace(" ", "")[1:],
            reference=message.uuid,
        ).id
    team = offices.Team(perth.id)

    batches = sent_log.search(session, None, sent_log.Filters(), team=team).rows
    assert [row.batch.sender_id for row in batches] == [pat.id]
    assert [row.reply.id for row in inbox.search(session, None, team=team).rows] == [
        replies[pat.id]
    ]
    assert len(inbox.search(session, None).rows) == 2  # no team: everyone's
    # The inbox builds its statement once for each team: another team's is its own.
    sydney = offices.Team(session.scalar(sa.select(Office.id).where(Office.name == "Sydney")))
    assert [row.reply.id for row in inbox.search(session, None, team=sydney).rows] == [
        replies[sam.id]
    ]
    assert [row.reply.id for row in inbox.search(session, pat.id).rows] == [replies[pat.id]]
    lead = make_user(role="team-leader", office="Perth")
    assert inbox.visible_reply(session, replies[sam.id], lead, team) is None
    assert inbox.visible_reply(session, replies[pat.id], lead, team) is not None
