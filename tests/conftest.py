"""Fixtures: an app on a freshly migrated database (SQLite, and PostgreSQL for tests/db), a client
that sends the CSRF token like a browser would, small factories, and the loopback gateways and SMTP
server with our providers pointed at them."""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from tests import delivery, replying
from tests.fakes import FakeSmsCentral, FakeTwilio
from tests.fakes.smtp import SmtpServer
from webapp import create_app, migrate
from webapp.config import testing_config
from webapp.database import begin_write, make_engine
from webapp.models import (
    AuditEvent,
    BlockedRegion,
    Candidate,
    Client,
    ClientContact,
    Email,
    Message,
    Office,
    Role,
    SmsTemplate,
    User,
    users,
)
from webapp.sms import compose as sms_compose
from webapp.users import sessions as user_sessions

# Hashing strength is not under test here, and scrypt for every test user costs minutes.
users.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
PASSWORD = "correct-horse-battery"
ROLE_NAMES = ("administrator", "team-leader", "consultant", "viewer")
DB_TESTS = Path(__file__).parent / "db"


# Fixtures of tests about SQLite alone (its trigram tables): such a test is not made for PostgreSQL.
SQLITE_ONLY_FIXTURES = {"on_sqlite", "with_trigram_tables"}


def pytest_generate_tests(metafunc):
    """Tests under tests/db run on every configured database; the rest on SQLite."""
    if "database_url" not in metafunc.fixturenames:
        return
    backends = ["sqlite"]
    if (
        TEST_DATABASE_URL
        and DB_TESTS in Path(str(metafunc.definition.path)).parents
        and not SQLITE_ONLY_FIXTURES & set(metafunc.fixturenames)
    ):
        backends.append("postgresql")
    metafunc.parametrize("database_url", backends, indirect=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


class PostgresDatabases:
    """Creates one migrated template database per run, and a copy of it for each test."""

    def __init__(self, url: str):
        self.admin_url = sa.engine.make_url(url)
        self.admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        # Unique per run, so two runs on one server (or a crashed one's leftovers) never collide.
        self.template = f"smsdesk_tmpl_{WORKER}_{uuid.uuid4().hex[:8]}"
        self._drop(self.template)
        self._run(f'CREATE DATABASE "{self.template}"')
        engine = make_engine(self.url_for(self.template))
        migrate.upgrade(engine)
        engine.dispose()

    def url_for(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"smsdesk_t_{WORKER}_{uuid.uuid4().hex[:8]}"
        self._run(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def drop(self, name: str) -> None:
        self._drop(name)

    def close(self) -> None:
        self._drop(self.template)
        self.admin.dispose()

    def _drop(self, name: str) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _run(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(sql)


@pytest.fixture(scope="session")
def postgres_databases():
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    databases = PostgresDatabases(TEST_DATABASE_URL)
    yield databases
    databases.close()


@pytest.fixture
def database_url(request, tmp_path, sqlite_template):
    """A freshly migrated, empty database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("postgres_databases")
    name = databases.create()
    yield databases.url_for(name)
    databases.drop(name)


@pytest.fixture(
    params=[
        "sqlite:////nonexistent-dir/x.sqlite3",
        "postgresql+psycopg://postgres@127.0.0.1:1/x?connect_timeout=2",
    ],
    ids=["sqlite", "postgresql"],
)
def app_without_database(request):
    """The app on a database it cannot reach (a missing file; nothing listening on the port)."""
    app = create_app(testing_config(request.param))
    yield app
    app.extensions["database"].engine.dispose()


@pytest.fixture
def app_settings() -> dict:
    """Settings the app under test gets on top of the test ones; a module overrides this."""
    return {}


@pytest.fixture
def app(database_url, app_settings):
    app = create_app(testing_config(database_url, **app_settings))
    yield app
    app.extensions["database"].engine.dispose()


@pytest.fixture
def session(app):
    """A database session of the app under test, apart from the ones requests use.

    No app context is pushed: the test client's requests must each get their own.
    """
    session = app.extensions["database"].sessionmaker()
    yield session
    session.close()


class Browser(FlaskClient):
    """A test client that sends the CSRF token on unsafe requests, as the pages do.

    `csrf=False` sends none; `htmx=True` adds the headers htmx sends.
    """

    def open(self, *args, csrf: bool = True, htmx: bool = False, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        headers = dict(kwargs.pop("headers", None) or {})
        if htmx:
            headers.setdefault("HX-Request", "true")
            headers.setdefault("HX-Current-URL", "http://localhost/")
        if csrf and method not in {"GET", "HEAD", "OPTIONS"}:
            headers.setdefault("X-CSRFToken", self.csrf_token())
        return super().open(*args, headers=headers, **kwargs)

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", uuid.uuid4().hex)
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def login(self, username: str, password: str = PASSWORD):
        return self.post("/login", data={"username": username, "password": password})


@pytest.fixture
def client(app) -> Browser:
    app.test_client_class = Browser
    return app.test_client()


def writing(session) -> None:
    """Begin the session's next transaction with SQLite's write lock, unless one is open (whose
    unflushed changes begin_write would roll back).

    A helper that reads, or inserts into candidates or client contacts (whose full-text trigger
    reads the index's settings first), then writes would otherwise fail at once with "database is
    locked" while a running worker holds the lock, rather than wait its turn. Only for a helper
    that commits: the lock is held until the transaction ends (a lookup that may not write, such as
    office_named, would keep every request out)."""
    if not session.in_transaction():
        begin_write(session)


def saved(session, row):
    """`row` added and committed."""
    writing(session)
    session.add(row)
    session.commit()
    return row


def office_named(session, name: str, **fields) -> Office:
    """The office called `name`, added (with `fields`: timezone, region) when there is none."""
    office = session.scalar(sa.select(Office).where(Office.name == name))
    return office or saved(session, Office(name=name, **fields))


@pytest.fixture
def make_user(session):
    def make(username: str | None = None, role: str = "consultant", **fields) -> User:
        username = username or f"{role}-{uuid.uuid4().hex[:6]}"
        password = fields.pop("password", PASSWORD)
        roles = [session.scalar(sa.select(Role).where(Role.name == role))] if role else []
        fields.setdefault("full_name", username.replace("-", " ").title())
        fields.setdefault("email", f"{username}@example.com")
        if isinstance(fields.get("office"), str):
            fields["office"] = office_named(session, fields["office"])
        user = User(username=username, roles=roles, **fields)
        user.set_password(password)
        return saved(session, user)

    return make


def started_session(session, user: User, moment: datetime) -> str:
    """The token of a server-side session of `user` opened at `moment`, committed."""
    token = user_sessions.start(
        session, user.id, moment, forget_before=moment - timedelta(hours=12)
    )
    session.commit()
    return token


@pytest.fixture
def signed_in(session):
    """Load a user as each request does (webapp.users.sessions.find): through a live session of
    theirs, with the names of their roles and what those grant; None when not loaded."""

    def load(user: User) -> User | None:
        token = started_session(session, user, datetime.now(UTC))
        session.expunge_all()
        found = user_sessions.find(session, token, user.id)
        return None if found is None else found[1]

    return load


@pytest.fixture
def login(client, make_user):
    """Sign the test client in as a new user with `role`; returns the user."""

    def sign_in(role: str = "consultant", **fields) -> User:
        user = make_user(role=role, **fields)
        response = client.login(user.username)
        assert response.status_code == 302, response.data
        return user

    return sign_in


def _person_factory(session, app, model, first_name: str, last_name: str, mobile: str | None):
    """A factory that saves a `model` person with the mobile set as the record form sets it; the
    names and mobile default to the ones given here."""
    region = app.config["SMS_DEFAULT_REGION"]

    def make(first_name=first_name, last_name=last_name, mobile=mobile, **fields):
        person = model(first_name=first_name, last_name=last_name, **fields)
        person.set_mobile(mobile, region)
        return saved(session, person)

    return make


@pytest.fixture
def make_candidate(session, app):
    """Save a candidate: Ada Lovelace on 0412 345 678 unless told."""
    return _person_factory(session, app, Candidate, "Ada", "Lovelace", "0412 345 678")


@pytest.fixture
def ada(make_candidate) -> Candidate:
    """Ada Lovelace, a candidate on 0412 345 678."""
    return make_candidate("Ada", "Lovelace", "0412 345 678")


@pytest.fixture
def three_people(make_candidate) -> list[Candidate]:
    """Ada, Bob and Cy: through the sandbox one will be sent, one fail (…0000), one time out
    (…9999)."""
    return [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Bob", "Brown", "0412 340 000"),
        make_candidate("Cy", "Young", "0412 349 999"),
    ]


@pytest.fixture
def make_contact(session, app):
    """Save a client contact: Grace Hopper on 0413 222 333 unless told, at the client company
    named `client` (found by name, or created)."""
    save = _person_factory(session, app, ClientContact, "Grace", "Hopper", "0413 222 333")

    def make(*args, client: str | None = "Harbour Mining Pty Ltd", **fields) -> ClientContact:
        writing(session)  # it reads the client, then writes
        if client is not None:
            existing = session.scalar(sa.select(Client).where(Client.name == client))
            fields["client"] = existing or Client(name=client)
        return save(*args, **fields)

    return make


@pytest.fixture
def make_template(session):
    """Save an SMS template: shared, for both record types, active, in General unless told."""

    def add(
        name: str = "Welcome",
        body: str = "Welcome {{first_name}}",
        *,
        owner: User | None = None,
        shared: bool = True,
        record_type: str = "both",
        active: bool = True,
        folder: str = "General",
    ) -> SmsTemplate:
        template = SmsTemplate(
            name=name,
            body=body,
            owner_id=owner.id if owner else None,
            shared=shared,
            record_type=record_type,
            active=active,
            folder=folder,
        )
        return saved(session, template)

    return add


@pytest.fixture
def casey(make_user):
    """Casey Jones, a consultant with an email address (where replies to her SMS go)."""
    return make_user("casey", role="consultant", full_name="Casey Jones", email="casey@example.com")


@pytest.fixture
def audit_event(session):
    """Write one audit event as the app would, at a chosen moment (1 March 2026 09:00 UTC unless
    told)."""

    def add(
        action: str = "person.edited",
        *,
        actor=None,
        subject=None,
        at: datetime | None = None,
        **details,
    ) -> AuditEvent:
        subject_type, subject_id = subject if subject else (None, None)
        event = AuditEvent(
            actor_id=actor.id if actor else None,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
            created_at=at or datetime(2026, 3, 1, 9, tzinfo=UTC),
        )
        return saved(session, event)

    return add


@pytest.fixture
def sms_central():
    """The loopback SMS Central gateway."""
    with FakeSmsCentral() as fake:
        yield fake


@pytest.fixture
def fake_twilio():
    """The loopback Twilio gateway."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def sms_central_provider(sms_central):
    """Our SMS Central provider, talking to the loopback gateway."""
    with closing(delivery.smscentral(sms_central)) as provider:
        yield provider


@pytest.fixture
def twilio_provider(fake_twilio):
    """Our Twilio provider, talking to the loopback gateway."""
    with closing(delivery.twilio(fake_twilio)) as provider:
        yield provider


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it is sent."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def sender(make_user):
    """The consultant who sends the SMS."""
    return make_user(role="consultant", full_name="Casey Jones")


@pytest.fixture
def world(
    app, session, make_user, make_candidate, make_contact, make_template
) -> dict[str, int | str]:
    """Objects the route walks' URLs point at, owned by someone other than the caller."""
    owner = make_user(role="administrator")
    candidate = make_candidate()
    contact = make_contact()
    batch = delivery.queue(session, owner, [candidate], provider="sandbox")
    message = session.scalar(sa.select(Message).where(Message.batch_id == batch.id))
    template = make_template("Shared", "Hi {{first_name}}")
    # From a number nobody has: an unmatched reply, which replies.attach files.
    reply = replying.receive(app, session, "Who?", from_number="61499999999", provider="sandbox")
    email = saved(
        session,
        Email(to_address="casey@example.com", subject="SMS reply", body="Hi", state="failed"),
    )
    blocked = session.scalar(sa.select(BlockedRegion.id).limit(1))
    target = make_user(role="viewer")
    return {
        "owner": owner.id,
        "candidate": candidate.id,
        "contact": contact.id,
        "batch": batch.id,
        "message": message.id,
        "template": template.id,
        "reply": reply.id,
        "blocked": blocked,
        "email": email.id,
        "user": target.id,
        "owner_token": sms_compose.create_draft(session, owner, "candidates", [candidate.id]).token,
    }
