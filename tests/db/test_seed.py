"""Demo data: deterministic, with the realistic mix of DESIGN.md section 6, and the seed-demo
command."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from webapp.data import demo
from webapp.models import Candidate, Client, ClientContact, User
from webapp.people import search as ps
from webapp.people import trigrams
from webapp.phones import normalise
from webapp.sms.blocked_countries import SMSCENTRAL_BLOCKED

N_CANDIDATES = 2_000
N_CONTACTS = 300
N_CLIENTS = 20
PERSON_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "mobile_raw",
    "mobile_e164",
    "mobile_region",
    "mobile_valid",
    "sms_consent",
    "email_consent",
    "mail_consent",
    "privacy_statement_read",
    "status",
    "created_at",
)


def seed(session):
    return demo.seed(
        session, candidates=N_CANDIDATES, contacts=N_CONTACTS, clients=N_CLIENTS, region="AU"
    )


def count(session, *where, model=Candidate) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def candidate_snapshot(session) -> list[tuple]:
    columns = [
        getattr(Candidate, name) for name in PERSON_COLUMNS + ("job_title", "location", "skills")
    ]
    return [tuple(row) for row in session.execute(sa.select(*columns).order_by(Candidate.id))]


def contact_snapshot(session) -> list[tuple]:
    columns = [getattr(ClientContact, name) for name in PERSON_COLUMNS + ("position",)]
    query = (
        sa.select(*columns, Client.name)
        .outerjoin(Client, ClientContact.client_id == Client.id)
        .order_by(ClientContact.id)
    )
    return [tuple(row) for row in session.execute(query)]


# --- determinism ---------------------------------------------------------------------------------


def test_row_generators_give_the_same_rows_every_time():
    assert list(demo.candidate_rows(500, "AU")) == list(demo.candidate_rows(500, "AU"))
    assert list(demo.contact_rows(200, [1, 2, 3], "AU")) == list(
        demo.contact_rows(200, [1, 2, 3], "AU")
    )
    assert demo.client_names(50) == demo.client_names(50)


def test_a_different_seed_gives_different_rows():
    assert list(demo.candidate_rows(50, "AU", seed=1)) != list(
        demo.candidate_rows(50, "AU", seed=2)
    )


def test_a_smaller_run_is_a_prefix_of_a_larger_one():
    assert list(demo.candidate_rows(100, "AU")) == list(demo.candidate_rows(300, "AU"))[:100]


def test_client_names_are_unique_even_when_many_are_asked_for():
    names = demo.client_names(500)
    assert len(names) == len(set(names)) == 500


def test_seeded_candidates_are_exactly_the_generated_rows(session):
    seed(session)
    expected = [
        tuple(row[name] for name in PERSON_COLUMNS + ("job_title", "location", "skills"))
        for row in demo.candidate_rows(N_CANDIDATES, "AU")
    ]
    assert candidate_snapshot(session) == expected


def test_seeding_again_into_an_emptied_database_gives_the_same_rows(session):
    seed(session)
    first = (candidate_snapshot(session), contact_snapshot(session))
    for model in (ClientContact, Candidate, Client):
        session.execute(sa.delete(model))
    session.commit()

    report = seed(session)
    assert report.users == 0  # the demo users were kept, not created twice
    assert (candidate_snapshot(session), contact_snapshot(session)) == first
    assert count(session, model=User) == 4


# --- the mix -------------------------------------------------------------------------------------


def test_seed_reports_and_writes_the_requested_counts(session):
    report = seed(session)
    assert (report.users, report.clients, report.candidates, report.contacts) == (
        4,
        N_CLIENTS,
        N_CANDIDATES,
        N_CONTACTS,
    )
    assert count(session) == N_CANDIDATES
    assert count(session, model=ClientContact) == N_CONTACTS
    assert count(session, model=Client) == N_CLIENTS


def test_about_a_fifth_of_candidates_have_not_consented_to_sms(session):
    seed(session)
    share = count(session, Candidate.sms_consent.is_(False)) / N_CANDIDATES
    assert 0.15 <= share <= 0.25


def test_about_three_percent_of_candidates_have_no_mobile(session):
    seed(session)
    missing = count(session, Candidate.mobile_raw.is_(None))
    assert 0.015 <= missing / N_CANDIDATES <= 0.05
    # A missing mobile has no derived values either.
    assert count(session, Candidate.mobile_raw.is_(None), Candidate.mobile_e164.is_not(None)) == 0


def test_about_two_percent_of_candidates_have_an_invalid_mobile(session):
    seed(session)
    invalid = count(session, Candidate.mobile_raw.is_not(None), Candidate.mobile_valid.is_(False))
    assert 0.01 <= invalid / N_CANDIDATES <= 0.04


def test_about_one_percent_of_candidates_are_in_a_blocked_region(session):
    seed(session)
    blocked = count(
        session,
        Candidate.mobile_valid.is_(True),
        Candidate.mobile_region.in_(list(SMSCENTRAL_BLOCKED)),
    )
    assert 0.003 <= blocked / N_CANDIDATES <= 0.02


def test_blocked_regions_include_ones_that_share_a_calling_code_with_served_countries(session):
    seed(session)
    regions = set(
        session.scalars(
            sa.select(Candidate.mobile_region)
            .where(Candidate.mobile_region.in_(list(SMSCENTRAL_BLOCKED)))
            .distinct()
        )
    )
    # Åland (+358 like Finland), Kazakhstan (+7 like Russia), Vatican (+39 like Italy), +1 islands.
    assert len(regions) >= 4
    assert regions & {"AX", "KZ", "VA", "BM", "AG", "KN", "YT", "RE"}


def test_some_valid_numbers_are_shared_by_more_than_one_candidate(session):
    seed(session)
    shared = session.scalars(
        sa.select(Candidate.mobile_e164)
        .where(Candidate.mobile_valid.is_(True))
        .group_by(Candidate.mobile_e164)
        .having(sa.func.count() > 1)
    ).all()
    assert len(shared) > 0


def test_most_numbers_are_valid_australian_mobiles_in_e164(session):
    seed(session)
    au = count(session, Candidate.mobile_region == "AU", Candidate.mobile_valid.is_(True))
    assert au / N_CANDIDATES > 0.7
    bad_form = count(
        session, Candidate.mobile_region == "AU", sa.not_(Candidate.mobile_e164.startswith("+614"))
    )
    assert bad_form == 0


@pytest.mark.parametrize("region", ["AU", "NZ"])
def test_generated_numbers_are_stored_as_parsing_their_text_would_store_them(region):
    """The generator describes its numbers from their digits; normalise() of the text it shows
    must give exactly the same stored form, whatever the default region."""
    import random

    mobiles = demo._Mobiles(random.Random(7), region)
    drawn = [mobiles.draw() for _ in range(5_000)]
    assert sum(number.valid for number in drawn) > (4_000 if region == "AU" else 2_000)
    assert [normalise(number.raw, region) if number.raw else number for number in drawn] == drawn


def test_every_demo_blocked_number_is_valid_and_in_a_blocked_region():
    for raw in demo.BLOCKED_NUMBERS:
        parsed = normalise(raw, "AU")
        assert parsed.valid, raw
        assert parsed.region in SMSCENTRAL_BLOCKED, (raw, parsed.region)


def test_every_demo_invalid_number_is_invalid():
    for raw in demo.INVALID_NUMBERS:
        assert not normalise(raw, "AU").valid, raw


def test_search_keys_are_filled_in_by_the_bulk_insert(session):
    seed(session)
    candidate = session.scalars(
        sa.select(Candidate).where(Candidate.email.is_not(None)).order_by(Candidate.id).limit(1)
    ).one()
    assert candidate.first_name_key == candidate.first_name.casefold()
    assert candidate.last_name_key == candidate.last_name.casefold()
    assert candidate.email_key == candidate.email.casefold()
    assert candidate.location_key == candidate.location.casefold()


# --- the bulk load and SQLite's trigram tables ---------------------------------------------------

FTS_TABLES = {"candidates": ("job_title", "skills"), "client_contacts": ("position",)}


@pytest.fixture
def with_trigram_tables(database_url):
    """The test is SQLite's alone (tests/conftest.py makes it for SQLite only)."""
    if not trigrams.AVAILABLE:
        pytest.skip("this SQLite has no trigram tokenizer")


def triggers(session) -> dict[str, str]:
    """Each trigger's name and its CREATE statement, as SQLite keeps them."""
    rows = session.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    )
    return {name: sql for name, sql in rows}


def fts_rows(session, table: str) -> list[tuple]:
    fts = trigrams.table_for(table)
    names = ", ".join(FTS_TABLES[table])
    return [
        tuple(row)
        for row in session.execute(sa.text(f"SELECT rowid, {names} FROM {fts} ORDER BY rowid"))
    ]


def what_the_triggers_write(session, table: str) -> list[tuple]:
    lowered = ", ".join(f"lower({column})" for column in FTS_TABLES[table])
    query = f"SELECT id, {lowered} FROM {table} ORDER BY id"
    return [tuple(row) for row in session.execute(sa.text(query))]


def found_by_search(session, kind: str, term: str) -> list[int]:
    """Who the people search finds for a job (or position) term: from the trigram table."""
    key = "job" if kind == "candidates" else "position"
    criteria, _page, _errors = ps.parse(kind, {key: term})
    return sorted(ps.matching_ids(session, criteria, "AU", limit=10 * N_CANDIDATES))


def found_by_like(session, table: str, term: str) -> list[int]:
    """Who a plain LIKE on the columns finds (`term` has no wildcard characters)."""
    where = " OR ".join(f"lower({column}) LIKE :pattern" for column in FTS_TABLES[table])
    query = sa.text(f"SELECT id FROM {table} WHERE {where} ORDER BY id")
    return list(session.scalars(query, {"pattern": f"%{term.lower()}%"}))


def test_a_bulk_seed_fills_the_trigram_tables_as_the_triggers_would(
    session, with_trigram_tables, monkeypatch
):
    """The bulk load writes the rows with the triggers dropped, then fills the tables with the
    text the triggers write and puts back the triggers exactly as migration 0018 made them."""
    monkeypatch.setattr(demo, "BULK_LOAD", N_CONTACTS)  # both tables take the bulk path
    migrated = triggers(session)
    assert len(migrated) == 6
    seen_while_writing: dict[str, set] = {}

    def watch(_connection, cursor, statement, _parameters, _context, _executemany):
        for table in FTS_TABLES:
            if statement.startswith(f"INSERT INTO {table} ("):
                names = cursor.connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                    (table,),
                ).fetchall()
                seen_while_writing.setdefault(table, set()).update(name for (name,) in names)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        seed(session)
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)

    assert seen_while_writing == {"candidates": set(), "client_contacts": set()}
    assert triggers(session) == migrated
    for table in FTS_TABLES:
        assert fts_rows(session, table) == what_the_triggers_write(session, table)
        fts = trigrams.table_for(table)
        session.execute(sa.text(f"INSERT INTO {fts} ({fts}) VALUES ('integrity-check')"))
    assert count(session) == N_CANDIDATES
    for term in ("nurse", "FORKLIFT", "card", "t dr", "xcel, "):
        assert (
            found_by_search(session, "candidates", term)
            == found_by_like(session, "candidates", term)
            != []
        )
    found = found_by_search(session, "contacts", "manager")
    assert found == found_by_like(session, "client_contacts", "manager") != []

    # The triggers are back at work: later changes are indexed as they happen.
    first = session.scalar(sa.select(sa.func.min(Candidate.id)))
    session.execute(sa.update(Candidate).where(Candidate.id == first).values(skills="Zookeeping"))
    session.execute(sa.delete(ClientContact).where(ClientContact.id == found[0]))
    session.commit()
    assert found_by_search(session, "candidates", "zookeep") == [first]
    for table in FTS_TABLES:
        assert fts_rows(session, table) == what_the_triggers_write(session, table)


def test_a_bulk_seed_indexes_the_same_text_as_a_seed_through_the_triggers(
    session, with_trigram_tables, monkeypatch
):
    seed(session)  # below BULK_LOAD: a row at a time through the triggers
    by_triggers = {table: fts_rows(session, table) for table in FTS_TABLES}
    for model in (ClientContact, Candidate, Client):
        session.execute(sa.delete(model))
    session.commit()
    assert all(fts_rows(session, table) == [] for table in FTS_TABLES)

    monkeypatch.setattr(demo, "BULK_LOAD", N_CONTACTS)
    seed(session)
    for table, rows in by_triggers.items():
        bulk = fts_rows(session, table)
        assert [row[1:] for row in bulk] == [row[1:] for row in rows]
        assert bulk == what_the_triggers_write(session, table)


def test_triggers_dropped_for_a_bulk_load_come_back_when_it_fails(session, with_trigram_tables):
    migrated = triggers(session)
    with pytest.raises(RuntimeError):
        with trigrams.suspended(session.connection(), "candidates"):
            assert [name for name in triggers(session) if "candidates" in name] == []
            raise RuntimeError("the insert failed")
    session.rollback()
    assert triggers(session) == migrated


def test_suspending_the_triggers_on_postgresql_changes_nothing(session, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no trigram tables to suspend")
    with trigrams.suspended(session.connection(), "candidates"):
        session.execute(sa.text("SELECT 1"))
    session.rollback()


# --- users and clients ---------------------------------------------------------------------------


def test_the_four_demo_users_exist_with_their_roles_and_the_demo_password(session):
    seed(session)
    users = {user.username: user for user in session.scalars(sa.select(User))}
    assert {name: [role.name for role in user.roles] for name, user in users.items()} == {
        "admin": ["administrator"],
        "lead": ["team-leader"],
        "consultant": ["consultant"],
        "viewer": ["viewer"],
    }
    for user in users.values():
        assert user.active
        assert user.check_password(demo.DEMO_PASSWORD)
        assert not user.check_password("wrong-password")
    assert users["admin"].mobile == "+61400100001"
    assert users["viewer"].mobile is None
    assert users["lead"].can("sms.ignore_opt_out")
    assert not users["consultant"].can("sms.ignore_opt_out")
    assert users["viewer"].permissions == frozenset()


def test_existing_demo_user_is_left_alone(session, make_user):
    make_user("admin", role="viewer", password="my-own-password-1")
    report = seed(session)
    assert report.users == 3
    session.expire_all()
    admin = session.scalars(sa.select(User).where(User.username == "admin")).one()
    assert [role.name for role in admin.roles] == ["viewer"]
    assert admin.check_password("my-own-password-1")


def test_every_contact_belongs_to_one_of_the_seeded_clients(session):
    seed(session)
    assert count(session, ClientContact.client_id.is_(None), model=ClientContact) == 0
    client_ids = set(session.scalars(sa.select(Client.id)))
    used = set(session.scalars(sa.select(ClientContact.client_id).distinct()))
    assert used <= client_ids
    assert len(used) > N_CLIENTS // 2
    names = list(session.scalars(sa.select(Client.name)))
    assert len(names) == len(set(names)) == N_CLIENTS


def test_contacts_have_the_same_kind_of_mix(session):
    seed(session)
    no_consent = count(session, ClientContact.sms_consent.is_(False), model=ClientContact)
    assert 0.1 <= no_consent / N_CONTACTS <= 0.3
    assert count(session, ClientContact.position.is_(None), model=ClientContact) == 0


def test_has_people_tells_an_empty_database_from_a_seeded_one(session):
    assert demo.has_people(session) is False
    seed(session)
    assert demo.has_people(session) is True


# --- the command ---------------------------------------------------------------------------------

SMALL = ["seed-demo", "--candidates", "300", "--contacts", "50", "--clients", "5"]


def cli(app, *args: str, **kwargs):
    """Run an app command as `flask --app wsgi` would: in an app context of its own.

    (`app.test_cli_runner()` does not push one for commands added with `add_command`.)
    """
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), **kwargs)


def test_seed_demo_command_fills_the_database_and_prints_the_logins(app, session):
    result = cli(app, *SMALL)
    assert result.exit_code == 0, result.output
    assert "Seeded 5 clients, 300 candidates, 50 client contacts, 4 new users." in result.stdout
    assert demo.DEMO_PASSWORD in result.stdout
    for username, _name, role, _office, _mobile in demo.DEMO_USERS:
        assert f"{username:<11} {role}" in result.stdout
    assert count(session) == 300
    assert count(session, model=ClientContact) == 50
    assert count(session, model=Client) == 5


def test_seed_demo_refuses_a_database_that_already_has_people(app, session):
    assert cli(app, *SMALL).exit_code == 0

    again = cli(app, *SMALL)
    assert again.exit_code != 0
    assert "already has people" in again.output
    assert count(session) == 300


def test_seed_demo_if_empty_does_nothing_on_a_seeded_database(app, session):
    assert cli(app, *SMALL).exit_code == 0

    again = cli(app, *SMALL, "--if-empty")
    assert again.exit_code == 0, again.output
    assert "not added" in again.stdout
    assert "admin" in again.stdout  # the logins are still printed
    assert count(session) == 300
    assert count(session, model=Client) == 5


def test_a_seed_of_no_people_is_not_made_again(app, session):
    """Each run of no people added the demo clients again: 600 of them after three runs."""
    none = ["seed-demo", "--candidates", "0", "--contacts", "0", "--clients", "5"]
    assert cli(app, *none).exit_code == 0

    assert cli(app, *none, "--if-empty").exit_code == 0
    assert cli(app, *none).exit_code != 0
    assert count(session, model=Client) == 5


def test_seed_demo_if_empty_seeds_an_empty_database(app, session):
    result = cli(app, *SMALL, "--if-empty")
    assert result.exit_code == 0, result.output
    assert count(session) == 300


def test_seed_demo_rejects_a_negative_count(app, session):
    result = cli(app, "seed-demo", "--candidates", "-1")
    assert result.exit_code == 2
    assert count(session) == 0
