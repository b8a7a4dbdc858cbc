"""The schema comes from Alembic alone: it goes down to nothing and back up to head, seeds the
roles and permissions of DESIGN.md section 4, and matches the models exactly (on SQLite and
PostgreSQL)."""

from __future__ import annotations

import unicodedata
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.delivery import queue
from webapp import migrate
from webapp.database import make_engine
from webapp.models import Base, Role, User
from webapp.people import trigrams

# Written out from DESIGN.md section 4 rather than imported, so a drift in the app's copy shows.
DESIGN_PERMISSIONS = {
    "sms.send",
    "sms.ignore_opt_out",
    "templates.manage",
    "records.edit",
    "users.manage",
    "settings.manage",
    "audit.view",
}
DESIGN_ROLES = {
    "administrator": DESIGN_PERMISSIONS,
    "team-leader": {
        "sms.send",
        "sms.ignore_opt_out",
        "templates.manage",
        "records.edit",
        "audit.view",
    },
    "consultant": {"sms.send", "records.edit"},
    "viewer": set(),
}
HEAD = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def table_names(engine: sa.Engine) -> set[str]:
    """The tables, leaving out SQLite's trigram search tables (0018), which no model maps."""
    names = sa.inspect(engine).get_table_names()
    return {name for name in names if not trigrams.is_index_table(name)}


def granted(engine: sa.Engine) -> dict[str, set[str]]:
    """Each role's permission names, read straight from the tables."""
    with engine.connect() as connection:
        roles = {name: set() for name in connection.scalars(sa.text("SELECT name FROM roles"))}
        pairs = connection.execute(
            sa.text(
                "SELECT r.name, p.name FROM role_permissions rp "
                "JOIN roles r ON r.id = rp.role_id JOIN permissions p ON p.id = rp.permission_id"
            )
        )
        for role, permission in pairs:
            roles[role].add(permission)
    return roles


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and trigrams.is_index_table(name):
        return False
    return not (type_ == "index" and name and name.endswith("_trgm"))


def schema_differences(engine: sa.Engine) -> list:
    with engine.connect() as connection:
        # The same filter the migrations use: PostgreSQL-only trigram indexes are not in the models.
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        return compare_metadata(context, Base.metadata)


def test_there_is_a_single_head_revision():
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1
    assert HEAD is not None


def test_fixture_database_is_at_head_with_every_model_table(engine):
    assert migrate.current_revision(engine) == HEAD
    assert table_names(engine) == set(Base.metadata.tables) | {"alembic_version"}


def test_downgrade_to_base_leaves_only_the_version_table_and_upgrade_restores_head(engine):
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert table_names(engine) == {"alembic_version"}

    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == HEAD
    assert table_names(engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert granted(engine) == DESIGN_ROLES


def test_upgrade_at_head_is_a_no_op(engine):
    before = granted(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == HEAD
    assert granted(engine) == before


def test_each_revision_steps_down_and_up_one_at_a_time(engine):
    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [rev.revision for rev in script.walk_revisions("base", "heads")]  # newest first
    for revision in revisions:
        assert migrate.current_revision(engine) == revision
        migrate.downgrade(engine, "-1")
    assert migrate.current_revision(engine) is None
    for revision in reversed(revisions):
        migrate.upgrade(engine, "+1")
        assert migrate.current_revision(engine) == revision
    assert granted(engine) == DESIGN_ROLES


def test_seeded_permissions_are_exactly_the_seven_of_the_design(engine):
    with engine.connect() as connection:
        names = list(connection.scalars(sa.text("SELECT name FROM permissions")))
        described = list(connection.scalars(sa.text("SELECT description FROM permissions")))
    assert sorted(names) == sorted(DESIGN_PERMISSIONS)
    assert all(text.strip() for text in described)


def test_seeded_roles_grant_exactly_what_the_design_says(engine):
    assert granted(engine) == DESIGN_ROLES


def test_seeding_by_hand_after_migration_does_not_collide_with_seeded_ids(engine):
    # The seed migration inserts explicit ids; on PostgreSQL the sequences must have moved past
    # them.
    with sa.orm.Session(engine) as session:
        role = Role(name="auditor", description="Reads the audit log")
        session.add(role)
        session.commit()
        assert role.id > 4
        assert session.scalar(sa.select(sa.func.count()).select_from(Role)) == 5


def test_models_match_the_migrated_schema(engine):
    assert schema_differences(engine) == []


def test_models_match_the_schema_after_a_full_down_and_up_cycle(engine):
    migrate.downgrade(engine, "base")
    migrate.upgrade(engine)
    assert schema_differences(engine) == []


def test_a_model_change_without_a_migration_would_be_detected(engine):
    # Guards the guard: compare_metadata must see a column the migrations never created.
    metadata = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["users"].append_column(sa.Column("nickname", sa.String(40)))
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"include_object": include_object}),
            metadata,
        )
    # Each entry is ("add_column", schema, table name, Column).
    assert [(op[0], op[2], op[3].name) for op in diff] == [("add_column", "users", "nickname")]


def test_migrated_schema_enforces_unique_usernames(engine):
    with sa.orm.Session(engine) as session:
        for _ in range(2):
            user = User(username="dup", full_name="Dup", email="dup@example.com")
            user.set_password("a-long-password-123")
            session.add(user)
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()


def insert_candidate(connection, **columns) -> None:
    """A candidate row written as an older revision's schema holds it (no model: the models move
    on), with `columns` and the rest as a new record has them."""
    values = {
        "status": "Active",
        "mobile_valid": False,
        "sms_consent": True,
        "email_consent": True,
        "mail_consent": True,
        "privacy_statement_read": False,
        "created_at": "2025-01-01 00:00:00",
        "updated_at": "2025-01-01 00:00:00",
        **columns,
    }
    names = ", ".join(values)
    connection.execute(
        sa.text(f"INSERT INTO candidates ({names}) VALUES ({', '.join(':' + n for n in values)})"),
        values,
    )


def test_0007_fills_email_other_key_as_the_model_would(engine):
    """The backfill is SQL and the model's rule is Python: both must agree on existing rows."""
    from webapp.models.people import name_key, other_email_key

    people = [
        ("Olivia", "Smith", "olivia.smith1@example.com"),
        ("Ke", "Zed", "kelpie@example.com"),
        ("Bo", "Moss", "kelpie@example.com"),
        ("Ann", "Ke", "ke7@example.com"),
        ("Zoë", "Müller", "zoë.m@example.com"),
        ("", "Solo", "x@example.com"),
        ("Nomail", "Person", None),
        ("Mary", "Watson", "MARY.w@Example.com"),
    ]
    migrate.downgrade(engine, "0006")
    with engine.begin() as connection:
        for first, last, email in people:
            insert_candidate(
                connection,
                first_name=first,
                last_name=last,
                first_name_key=name_key(first),
                last_name_key=name_key(last),
                full_name_key="",
                reverse_name_key="",
                email=email,
                email_key=name_key(email) if email else None,
            )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT first_name_key, last_name_key, email_key, email_other_key "
                "FROM candidates ORDER BY id"
            )
        ).all()
    assert [row[3] for row in rows] == [other_email_key(row[2], row[0], row[1]) for row in rows]
    assert [row[3] for row in rows] == [
        None,
        None,
        "kelpie@example.com",
        None,
        None,
        "x@example.com",
        None,
        None,
    ]


def insert_people_with_keys(engine, people, key, client: str) -> None:
    """Candidates (first, last, email, location) and a client, with their search keys as `key`
    wrote them: rows a revision finds already there."""
    from webapp.models.people import other_email_key

    with engine.begin() as connection:
        for first, last, email, location in people:
            fk, lk = key(first), key(last)
            ek = key(email) if email else None
            insert_candidate(
                connection,
                first_name=first,
                last_name=last,
                first_name_key=fk,
                last_name_key=lk,
                full_name_key=f"{fk} {lk}",
                reverse_name_key=f"{lk} {fk}",
                email=email,
                email_key=ek,
                email_other_key=other_email_key(ek, fk, lk),
                location=location,
                location_key=key(location) or None,
            )
        connection.execute(
            sa.text(
                "INSERT INTO clients (name, name_key, created_at) "
                "VALUES (:name, :key, '2025-01-01 00:00:00')"
            ),
            {"name": client, "key": key(client)},
        )


def keys_as_the_model_writes_them(engine) -> tuple[list, str]:
    """The candidates' rows (names, then keys), each asserted to hold the keys a record saved now
    gets, and the client's key."""
    from webapp.models.people import name_key, other_email_key

    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT first_name, last_name, email, location, first_name_key, last_name_key, "
                "full_name_key, reverse_name_key, email_key, email_other_key, location_key "
                "FROM candidates ORDER BY id"
            )
        ).all()
        client_key = connection.scalar(sa.text("SELECT name_key FROM clients"))
    for first, last, email, location, *keys in rows:
        fk, lk = name_key(first), name_key(last)
        ek = name_key(email) if email else None
        assert keys == [
            fk,
            lk,
            f"{fk} {lk}",
            f"{lk} {fk}",
            ek,
            other_email_key(ek, fk, lk),
            name_key(location) or None,
        ]
    return rows, client_key


def test_0021_rewrites_the_keys_of_names_with_curly_apostrophes_as_the_model_would(engine):
    """Rows written before it keep their old keys until it runs: then a record typed on a phone
    ("O’Brien") has the keys a new one gets, and the others are left as they were."""

    def old_key(text):
        return " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()

    people = [
        ("Siobhán", "O\u2019Brien", "s.obrien@example.com", "Coff\u2019s Harbour"),
        ("D\u2018Arcy", "Smith\u2011Jones", None, None),
        ("Ada", "Lovelace", "ada@example.com", "Sydney"),
        ("\u0149a", "Tall", None, "6\u2033 Street"),  # ŉ is ʼn, and ″ is ′′, once normalised
    ]
    migrate.downgrade(engine, "0020")
    insert_people_with_keys(engine, people, old_key, "Dunn\u2019s Pharmacy")
    migrate.upgrade(engine)
    rows, client_key = keys_as_the_model_writes_them(engine)
    assert [row[5] for row in rows] == ["o'brien", "smith-jones", "lovelace", "tall"]
    assert (rows[3][4], rows[3][10]) == ("'na", "6'' street")
    assert rows[0][10] == "coff's harbour"
    assert rows[1][4] == "d'arcy"
    assert client_key == "dunn's pharmacy"
    # Down again: the keys as 0020 wrote them.
    migrate.downgrade(engine, "0020")
    with engine.connect() as connection:
        keys = connection.execute(
            sa.text("SELECT last_name_key, location_key FROM candidates ORDER BY id")
        ).all()
        client_key = connection.scalar(sa.text("SELECT name_key FROM clients"))
    assert [tuple(row) for row in keys] == [
        ("o\u2019brien", "coff\u2019s harbour"),
        ("smith\u2010jones", None),
        ("lovelace", "sydney"),
        ("tall", "6\u2032\u2032 street"),
    ]
    assert client_key == "dunn\u2019s pharmacy"
    migrate.upgrade(engine)


def test_0023_rewrites_the_keys_of_names_beyond_ascii_without_accents_as_the_model_would(engine):
    """Rows written before it keep their accented keys until it runs: then "Jose" finds José as it
    finds a record added since, and an ASCII name's keys are left as they were."""
    curly = str.maketrans({"\u2019": "'", "\u2010": "-"})

    def old_key(text):
        return (
            " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold().translate(curly)
        )

    people = [
        ("José", "García", "jose.garcia@example.com", "Zürich"),
        ("Ann", "Te\u2013Rangi", "ann@exämple.com", None),
        ("Ada", "Lovelace", "ada@example.com", "Sydney"),
        ("Søren", "O\u2019Brien", None, "Łódź"),
    ]
    migrate.downgrade(engine, "0022")
    insert_people_with_keys(engine, people, old_key, "Société Générale")
    migrate.upgrade(engine)
    rows, client_key = keys_as_the_model_writes_them(engine)
    assert [row[6] for row in rows] == [
        "jose garcia",
        "ann te-rangi",
        "ada lovelace",
        "soren o'brien",
    ]
    assert [row[10] for row in rows] == ["zurich", None, "sydney", "lodz"]
    assert client_key == "societe generale"
    # Down again: the keys as 0022 left them.
    migrate.downgrade(engine, "0022")
    with engine.connect() as connection:
        keys = connection.execute(
            sa.text("SELECT full_name_key, location_key FROM candidates ORDER BY id")
        ).all()
        client_key = connection.scalar(sa.text("SELECT name_key FROM clients"))
    assert [tuple(row) for row in keys] == [
        ("josé garcía", "zürich"),
        ("ann te\u2013rangi", None),
        ("ada lovelace", "sydney"),
        ("søren o'brien", "łódź"),
    ]
    assert client_key == "société générale"
    migrate.upgrade(engine)


def test_0024_marks_stored_landlines_and_service_numbers_as_no_valid_mobile(engine):
    """Saved as valid mobiles before 0024 (valid in their region): a landline, freecall and
    local-rate numbers; mobiles, and numbers already invalid, stay as they were."""
    numbers = [
        ("+61293744000", True, False),  # 02 9374 4000, a Sydney landline
        ("+611800123456", True, False),  # 1800 123 456
        ("+611300655506", True, False),  # 1300 655 506
        ("+61131313", True, False),  # 13 13 13
        ("+6493771234", True, False),  # an Auckland landline
        ("+61412345678", True, True),
        ("+447400123456", True, True),
        ("+12015550123", True, True),  # the US: a landline or a mobile, the number cannot tell
        ("+6112345", False, False),
    ]
    migrate.downgrade(engine, "0023")
    with engine.begin() as connection:
        for number, (e164, valid, _) in enumerate(numbers):
            insert_candidate(
                connection,
                first_name="Pat",
                last_name=f"Number{number}",
                first_name_key="pat",
                last_name_key=f"number{number}",
                full_name_key=f"pat number{number}",
                reverse_name_key=f"number{number} pat",
                mobile_raw=e164,
                mobile_e164=e164,
                mobile_valid=valid,
            )

    def valid() -> list[bool]:
        with engine.connect() as connection:
            flags = connection.scalars(sa.text("SELECT mobile_valid FROM candidates ORDER BY id"))
            return [bool(flag) for flag in flags]

    migrate.upgrade(engine)
    assert valid() == [after for _, _, after in numbers]
    migrate.downgrade(engine, "0023")
    assert valid() == [before for _, before, _ in numbers]
    migrate.upgrade(engine)


def test_0022_names_the_subjects_written_as_localproxy_user(engine):
    """Events about the signed-in user were written with "localproxy" for their subject type."""
    migrate.downgrade(engine, "0021")
    with engine.begin() as connection:
        for subject_type in ("localproxy", "candidate"):
            connection.execute(
                sa.text(
                    "INSERT INTO audit_events (action, subject_type, subject_id, details, "
                    "created_at) VALUES ('profile.edited', :type, 3, '{}', '2026-12-01 00:00:00')"
                ),
                {"type": subject_type},
            )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        types = connection.scalars(
            sa.text("SELECT subject_type FROM audit_events ORDER BY id")
        ).all()
    assert types == ["user", "candidate"]


def test_0025_marks_the_emails_users_last_typed_on_their_profile(engine):
    """The audit log says who set each email last: the user on their Profile (profile.edited), an
    administrator on the user form (user.edited), or whoever added the account (user.created)."""
    events = sa.table(
        "audit_events",
        sa.column("actor_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("subject_type", sa.String),
        sa.column("subject_id", sa.Integer),
        sa.column("details", sa.JSON),
        sa.column("created_at", sa.DateTime),
    )

    def email(old, new) -> dict:
        return {"changes": {"email": [old, new]}}

    mobile = {"changes": {"mobile": [None, "+61412345678"]}}
    users = {  # username: (email now, the events about them, oldest first, marked after 0025)
        "typed": (
            "new@example.com",
            [("profile.edited", email("a@example.com", "new@example.com"))],
            True,
        ),
        "typed-then-admin": (
            "b@example.com",
            [
                ("profile.edited", email("a@example.com", "boss@example.com")),
                ("user.edited", email("boss@example.com", "b@example.com")),
            ],
            False,
        ),
        "admin-then-typed": (
            "c2@example.com",
            [
                ("user.created", {"username": "admin-then-typed", "email": "c@example.com"}),
                ("user.edited", email("c@example.com", "c1@example.com")),
                ("profile.edited", email("c1@example.com", "c2@example.com")),
                ("profile.edited", mobile),  # no email in it: the one before still decides
                ("user.edited", {"changes": {"roles": [["viewer"], ["consultant"]]}, "via": "sso"}),
            ],
            True,
        ),
        # Changed since outside the app: the log no longer tells who set it.
        "changed-elsewhere": (
            "d2@example.com",
            [("profile.edited", email("d@example.com", "d1@example.com"))],
            False,
        ),
        "mobile-only": ("e@example.com", [("profile.edited", mobile)], False),
        # Its case alone changed on Profile, as Profile does now: still the administrator's.
        "case-only": (
            "Jo@example.com",
            [
                ("user.created", {"email": "jo@example.com"}),
                ("profile.edited", email("jo@example.com", "Jo@example.com")),
            ],
            False,
        ),
        "added": ("f@example.com", [("user.created", {"email": "f@example.com"})], False),
        "no-events": ("g@example.com", [], False),
    }
    migrate.downgrade(engine, "0024")
    with engine.begin() as connection:
        for username, (address, history, _) in users.items():
            user_id = connection.execute(
                sa.text(
                    "INSERT INTO users (username, full_name, email, active, password_hash, "
                    "must_change_password, created_at) VALUES (:username, :username, :email, "
                    ":yes, 'x', :no, '2026-12-01 00:00:00') RETURNING id"
                ),
                {"username": username, "email": address, "yes": True, "no": False},
            ).scalar_one()
            for action, details in history:
                connection.execute(
                    events.insert().values(
                        # Rows pointing at the user: SQLite's copy of the users table, had the
                        # revision made one, could not drop the old table under them.
                        actor_id=user_id,
                        action=action,
                        subject_type="user",
                        subject_id=user_id,
                        details=details,
                        created_at=datetime(2026, 12, 1),
                    )
                )
        # About a candidate with the id of a user: not about any user.
        connection.execute(
            events.insert().values(
                action="profile.edited",
                subject_type="candidate",
                subject_id=user_id,
                details=email("h@example.com", "g@example.com"),
                created_at=datetime(2026, 12, 1),
            )
        )

    migrate.upgrade(engine)
    with engine.connect() as connection:
        marked = dict(
            connection.execute(sa.text("SELECT username, email_self_set FROM users")).all()
        )
    assert {name: bool(flag) for name, flag in marked.items()} == {
        name: after for name, (_, _, after) in users.items()
    }
    migrate.downgrade(engine, "0024")
    assert "email_self_set" not in {c["name"] for c in sa.inspect(engine).get_columns("users")}
    migrate.upgrade(engine)


def test_0026_keeps_gateway_ids_unique_per_direction(engine):
    """A sent message's id (from a receipt) and a reply's may be the same: the unique index
    includes the direction after 0026, and only the gateway and the id before it."""

    def columns() -> list[str]:
        indexes = sa.inspect(engine).get_indexes("messages")
        [index] = [i for i in indexes if i["name"] == "ux_messages_provider_message_id"]
        assert index["unique"]
        return index["column_names"]

    migrate.upgrade(engine)
    assert columns() == ["provider", "direction", "provider_message_id"]
    migrate.downgrade(engine, "0025")
    assert columns() == ["provider", "provider_message_id"]
    migrate.upgrade(engine)
    assert columns() == ["provider", "direction", "provider_message_id"]


def test_0027_keeps_the_template_names_batches_went_with_and_when_they_went(
    engine, session, sender, ada, make_template
):
    """Batches sent before 0027 take their template's name as it is then (the best there is); a
    batch's went_at is its release, else when it is due, else when it was written."""
    template = make_template("JS one", "Hi {{first_name}}")
    with_template = queue(session, sender, [ada], provider="sandbox", template_id=template.id)
    typed = queue(session, sender, [ada], provider="sandbox", body="Typed")
    ids = (with_template.id, typed.id)
    session.close()
    migrate.downgrade(engine, "0026")
    send_at, released_at = datetime(2026, 12, 5, 9, 0), datetime(2026, 12, 5, 9, 0, 2)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE sms_templates SET name = 'Renamed before 0027'"))
        connection.execute(
            sa.text("UPDATE batches SET send_at = :at WHERE id = :id"),
            {"at": send_at, "id": typed.id},
        )
    migrate.upgrade(engine)

    def stored() -> dict:
        query = sa.text(
            "SELECT id, template_name, went_at, created_at FROM batches ORDER BY id"
        ).columns(went_at=sa.DateTime, created_at=sa.DateTime)
        with engine.connect() as connection:
            return {row.id: row for row in connection.execute(query)}

    rows = stored()
    assert [rows[i].template_name for i in ids] == ["Renamed before 0027", None]
    assert rows[with_template.id].went_at == rows[with_template.id].created_at
    assert rows[typed.id].went_at == send_at  # scheduled, still waiting: when it is due
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE batches SET released_at = :at WHERE id = :id"),
            {"at": released_at, "id": typed.id},
        )
    assert stored()[typed.id].went_at == released_at  # kept by the database as it goes
