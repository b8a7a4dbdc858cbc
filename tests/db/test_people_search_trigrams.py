"""The "contains" filters served from SQLite's trigram tables (migration 0018): they find exactly
what the LIKE scan finds, stay in step with inserts, updates and deletes, and the migration goes
down and up on both databases.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.db.property_settings import ON_A_DATABASE
from tests.search_people import REGION, insert_candidates
from webapp import migrate
from webapp.database import make_engine
from webapp.models import Candidate, ClientContact
from webapp.people import search as ps
from webapp.people import trigrams

TRICKY = [
    "Registered Nurse",
    "NURSE educator",
    "Zoë Müller's aide",
    "Zoe\u0308 decomposed",
    "MÜLLER & Söhne",
    "İstanbul liaison",
    "Straße crew",
    "ΣΊΣΥΦΟΣ",
    "100% fit_out",
    "50%_off",
    'say "hi" now',
    "a_b%c",
    "tab\there",
    "  spaced   out  ",
    "東京 office",
    "",
    None,
]
TERMS = [
    "nurse",
    "NURSE",
    "urs",
    "nu",
    "n",
    "zoë",
    "ZOË",
    "oe\u0308",
    "müller",
    "MÜLLER",
    "straße",
    "STRASSE",
    "istanbul",
    "i\u0307stanbul",
    "σίσυφος",
    "ΣΊΣΥΦΟΣ",
    "100%",
    "0%_",
    "%",
    "_",
    "%_o",
    "a_b",
    '"hi"',
    'y "',
    "\"'",
    "d   o",
    "東京",
    "東京 o",
    "ab",
]


def contains_sql(model, text: str, dialect: str) -> sa.Select:
    if model is Candidate:
        criteria = ps.Criteria(kind="candidates", job=text)
    else:
        criteria = ps.Criteria(kind="contacts", position=text)
    return sa.select(model.id).where(*ps.conditions(criteria, REGION, dialect)).order_by(model.id)


def by_trigrams(session, model, text: str) -> list[int]:
    return list(session.scalars(contains_sql(model, text, "sqlite")))


def by_scan(session, model, text: str) -> list[int]:
    return list(session.scalars(contains_sql(model, text, "sqlite-scan")))


@pytest.fixture
def on_sqlite(database_url):
    """The test is SQLite's alone (tests/conftest.py makes it for SQLite only)."""
    if not trigrams.AVAILABLE:
        pytest.skip("this SQLite has no trigram tokenizer")


def _tricky_rows() -> list[dict]:
    rows = []
    for n, text in enumerate(TRICKY):
        rows.append({"first_name": f"T{n}", "last_name": "Job", "job_title": text, "skills": None})
        rows.append(
            {"first_name": f"S{n}", "last_name": "Skill", "job_title": None, "skills": text}
        )
    return rows


def test_the_migration_made_the_tables_where_sqlite_has_the_tokenizer(session, database_url):
    names = set(sa.inspect(session.get_bind()).get_table_names())
    expected = {"candidates_fts", "client_contacts_fts"}
    if database_url.startswith("sqlite") and trigrams.AVAILABLE:
        assert expected <= names
        assert ps._dialect(session) == "sqlite"
    else:
        assert not expected & names


def test_the_head_keeps_every_trigger_and_a_table_without_them_scans(session, on_sqlite):
    # A migration that rebuilds candidates in batch mode drops its triggers: CI fails here.
    triggers = set(
        session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    )
    expected = {
        f"{table}_{event}"
        for table, _columns in trigrams.TABLES.values()
        for event in trigrams.TRIGGER_EVENTS
    }
    assert expected <= triggers
    session.execute(sa.text("DROP TRIGGER candidates_fts_update"))
    connection = session.connection()
    assert trigrams.present({}, connection) is False  # searches scan, never miss edited rows
    session.rollback()
    assert trigrams.present({}, session.connection()) is True


@pytest.mark.parametrize("term", TERMS)
def test_trigram_matches_equal_the_like_scan_over_tricky_text(session, on_sqlite, term):
    insert_candidates(session, _tricky_rows())
    assert by_trigrams(session, Candidate, term) == by_scan(session, Candidate, term)


def test_the_tricky_table_is_not_trivially_empty(session, on_sqlite):
    insert_candidates(session, _tricky_rows())
    assert len(by_trigrams(session, Candidate, "nurse")) == 4  # each text is a job and a skill
    assert len(by_trigrams(session, Candidate, "müller")) == 4
    assert len(by_trigrams(session, Candidate, "0%_")) == 2
    assert by_trigrams(session, Candidate, '"hi"') == by_scan(session, Candidate, '"hi"') != []


def test_three_characters_or_more_use_the_table_and_shorter_terms_scan(on_sqlite):
    def compiled(text: str) -> str:
        return str(contains_sql(Candidate, text, "sqlite").compile())

    assert "MATCH" in compiled("urs") and "LIKE" not in compiled("urs")
    assert "LIKE" in compiled("ur") and "MATCH" not in compiled("ur")
    assert "LIKE" in str(contains_sql(Candidate, "urs", "sqlite-scan").compile())
    assert "LIKE" in str(contains_sql(Candidate, "urs", "postgresql").compile())


PIECES = st.sampled_from(["a", "A", "ä", "a\u0308", "Ä", "%", "_", '"', " ", "ß", "İ", "σ", "Σ"])


@settings(ON_A_DATABASE, max_examples=40)
@given(
    texts=st.lists(st.one_of(st.none(), st.lists(PIECES, max_size=8).map("".join)), max_size=12),
    term=st.lists(PIECES, min_size=1, max_size=5).map("".join),
)
def test_trigram_matches_equal_the_like_scan_for_any_text(session, on_sqlite, texts, term):
    rows = [
        {"first_name": f"P{n}", "last_name": "Prop", "job_title": text, "skills": text}
        for n, text in enumerate(texts)
    ]
    try:
        if rows:
            insert_candidates(session, rows)
        assert by_trigrams(session, Candidate, term) == by_scan(session, Candidate, term)
    finally:
        session.execute(sa.delete(Candidate))
        session.commit()


def test_updates_and_deletes_keep_the_table_in_step(session, on_sqlite, make_candidate):
    nat = make_candidate("Nat", "Nurse", "0413 000 001", job_title="Registered Nurse")
    wes = make_candidate("Wes", "Welder", "0413 000 002", job_title="Welder", skills="MIG")
    assert by_trigrams(session, Candidate, "nurse") == [nat.id]

    nat.job_title = "Welder"
    wes.skills = "Night NURSE"
    session.commit()
    assert by_trigrams(session, Candidate, "nurse") == [wes.id]
    assert by_trigrams(session, Candidate, "welder") == [nat.id, wes.id]

    # Plain SQL, as bulk changes are, goes through the triggers too.
    session.execute(sa.update(Candidate).where(Candidate.id == nat.id).values(skills="Nursery"))
    session.execute(sa.delete(Candidate).where(Candidate.id == wes.id))
    session.commit()
    assert by_trigrams(session, Candidate, "nurse") == [nat.id]
    assert by_trigrams(session, Candidate, "welder") == [nat.id]
    assert by_trigrams(session, Candidate, "mig") == []
    with session.get_bind().connect() as connection:
        rows = connection.exec_driver_sql("SELECT count(*) FROM candidates_fts").scalar()
    assert rows == 1


def test_contact_positions_are_kept_and_searched(session, on_sqlite, make_contact):
    boss = make_contact("Grace", "Hopper", "0413 000 001", client=None, position="Site MANAGER")
    make_contact("Alan", "Turing", "0413 000 002", client=None, position="Payroll")
    assert by_trigrams(session, ClientContact, "manager") == [boss.id]
    boss.position = "Buyer"
    session.commit()
    assert by_trigrams(session, ClientContact, "manager") == []
    assert by_trigrams(session, ClientContact, "buy") == [boss.id]


def _job_rows(n: int, job: str) -> list[dict]:
    return [
        {"first_name": f"{job[:3]}{i:05d}", "last_name": f"L{i % 7}", "job_title": job}
        for i in range(n)
    ]


@pytest.mark.parametrize("sort", ["name", "-name", "created", "-created"])
def test_common_and_rare_terms_page_and_count_like_the_scan(session, on_sqlite, monkeypatch, sort):
    """A common term walks rows in order testing each; a rare one is collected from the table
    and sorted: both give the scan's pages and counts."""
    monkeypatch.setattr(ps, "DENSE", 60)
    insert_candidates(session, _job_rows(80, "Chef") + _job_rows(5, "Baker"))
    for job, dense in (("chef", True), ("bake", False)):
        criteria, _page, _errors = ps.parse("candidates", {"job": job, "sort": sort})
        assert ps._dense(session, *ps._bind(criteria, REGION, "sqlite")) is dense
        scanned = list(
            session.scalars(
                sa.select(Candidate.id)
                .where(*ps.conditions(criteria, REGION, "sqlite", scan=True))
                .order_by(*ps._order(criteria))
            )
        )
        pages = []
        for page in (1, 2):
            result = ps.search(session, criteria, page, REGION)
            pages += [row.id for row in result.rows]
            assert result.total == len(scanned)
        assert pages == scanned[: 2 * ps.PAGE_SIZE]
        assert ps.matching_ids(session, criteria, REGION, limit=1000) == scanned
        assert ps.count(session, criteria, REGION, cap=10) == (
            (10, True) if dense else (len(scanned), False)
        )


def test_location_and_status_pages_equal_a_plain_sort(session):
    rows = [
        {
            "first_name": f"F{i:03d}",
            "last_name": f"L{i % 11}",
            "location": ["Sydney", "Syd Harbour", "Perth"][i % 3],
            "status": ["Active", "Placed"][i % 2],
        }
        for i in range(150)
    ]
    insert_candidates(session, rows)
    for sort in ("name", "-name"):
        criteria, _page, _errors = ps.parse(
            "candidates", {"location": "SYD", "status": "Active", "sort": sort}
        )
        expected = list(
            session.scalars(
                sa.select(Candidate.id)
                .where(
                    Candidate.status == "Active",
                    sa.func.substr(Candidate.location_key, 1, 3) == "syd",
                )
                .order_by(*ps._order(criteria))
            )
        )
        shown = [
            row.id for page in (1, 2) for row in ps.search(session, criteria, page, REGION).rows
        ]
        assert shown == expected and len(expected) == 50


def test_0018_goes_down_and_up_and_refills_the_tables(database_url):
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO candidates (first_name, last_name, first_name_key, "
                    "last_name_key, full_name_key, reverse_name_key, status, job_title, "
                    "mobile_valid, sms_consent, email_consent, mail_consent, "
                    "privacy_statement_read, created_at, updated_at) VALUES "
                    "('Nat', 'Nurse', 'nat', 'nurse', 'nat nurse', 'nurse nat', 'Active', "
                    "'Registered NURSE', false, true, true, true, false, "
                    "'2025-01-01 00:00:00', '2025-01-01 00:00:00')"
                )
            )
        migrate.downgrade(engine, "0017")
        names = set(sa.inspect(engine).get_table_names())
        assert not any(trigrams.is_index_table(name) for name in names)
        indexes = {index["name"] for index in sa.inspect(engine).get_indexes("candidates")}
        assert "ix_candidates_status_location" not in indexes

        migrate.upgrade(engine)
        indexes = {index["name"] for index in sa.inspect(engine).get_indexes("candidates")}
        assert "ix_candidates_status_location" in indexes
        if engine.dialect.name == "sqlite" and trigrams.AVAILABLE:
            with engine.connect() as connection:
                found = connection.exec_driver_sql(
                    "SELECT rowid FROM candidates_fts WHERE candidates_fts MATCH ?",
                    ('"nurse"',),
                ).all()
            assert len(found) == 1
    finally:
        engine.dispose()


def test_a_status_without_a_location_walks_the_name_order_on_sqlite(session, on_sqlite):
    # With table statistics, SQLite took ix_candidates_status_location for status = ? alone
    # and sorted every match (half a second for "Placed" at a million people).
    rows = [
        {
            "first_name": f"F{i:04d}",
            "last_name": f"L{i % 97}",
            "status": "Placed" if i % 20 == 0 else f"S{i % 20}",
        }
        for i in range(4000)
    ]
    insert_candidates(session, rows)
    session.execute(sa.text("ANALYZE"))
    session.commit()
    seen = []

    def note(_connection, _cursor, statement, parameters, *_args):
        if "ORDER BY" in statement:
            seen.append((statement, parameters))

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        criteria, _page, _errors = ps.parse("candidates", {"status": "Placed", "consent": "no"})
        page = ps.search(session, criteria, 1, REGION)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert [row.status for row in page.rows] == ["Placed"] * len(page.rows)
    [(statement, parameters)] = seen
    connection = session.connection()
    plan = " ".join(
        str(row)
        for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    )
    assert "ix_candidates_last_first" in plan and "TEMP B-TREE" not in plan, plan


def test_the_conditions_of_a_status_search_bind_on_every_database(session, database_url):
    # The status expression SQLite gets carries no value of its own to bind.
    insert_candidates(
        session,
        [{"first_name": "Ann", "last_name": "Lee", "status": s} for s in ("Placed", "Active")],
    )
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    where = ps.conditions(ps.Criteria(kind="candidates", status="Placed"), REGION, dialect)
    found = session.scalars(sa.select(Candidate.status).where(*where)).all()
    assert found == ["Placed"]


def test_a_bulk_load_leaves_a_database_missing_a_trigger_as_it_was(session, on_sqlite):
    session.execute(sa.text("DROP TRIGGER candidates_fts_update"))
    connection = session.connection()
    with trigrams.suspended(connection, "candidates"):
        insert_candidates(session, [{"first_name": "Bo", "last_name": "Ek", "job_title": "Chef"}])
    triggers = set(
        session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    )
    assert "candidates_fts_insert" in triggers and "candidates_fts_update" not in triggers
    assert trigrams.present({}, session.connection()) is False  # so searches scan, and find Bo
    criteria, _page, _errors = ps.parse("candidates", {"job": "chef"})
    assert [row.first_name for row in ps.search(session, criteria, 1, REGION).rows] == ["Bo"]
