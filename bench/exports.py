"""The CSV export's speed and memory: a 50,000-message batch downloaded through its route, in a
database of its own (bench/.cache/exports.sqlite3; smsdesk_bench_exports on PostgreSQL)."""

from __future__ import annotations

import time
import tracemalloc
import uuid
from datetime import timedelta

import sqlalchemy as sa

from bench import data
from bench.report import Figure, show
from webapp import create_app, migrate
from webapp.config import testing_config
from webapp.database import make_engine, make_sessionmaker
from webapp.models import Batch, Candidate, Message, Role, User
from webapp.models.base import utcnow
from webapp.models.people import person_values
from webapp.phones import normalise

COUNT = 50_000
DATABASE = "smsdesk_bench_exports"
PASSWORD = "bench-export-password"
FIRST_NAMES = ("Zoë", "Ada", "Łukasz", "Siobhán", "Mei", "José", "=Olivia", "Noah")
STATES = ("delivered",) * 8 + ("failed", "undelivered")


def run_all() -> list[Figure]:
    """The figures on SQLite, and on PostgreSQL when a server is configured."""
    figures = run("sqlite", _sqlite_url())
    if postgres := _postgres_url():
        figures += run("postgresql", postgres)
    return figures


def _sqlite_url() -> str:
    data.CACHE.mkdir(exist_ok=True)
    path = data.CACHE / "exports.sqlite3"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _postgres_url() -> str | None:
    """A database of our own on the benchmark server, made afresh (never the shared ones)."""
    url = data.postgres_url()
    if url is None:
        return None
    target = sa.engine.make_url(url).set(database=DATABASE)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{DATABASE}"')
    admin.dispose()
    return target.render_as_string(hide_password=False)


def _seed(url: str) -> int:
    """A consultant and one batch of COUNT messages to as many candidates; the batch's id."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    session = make_sessionmaker(engine)()
    consultant = session.scalar(sa.select(Role).where(Role.name == "consultant"))
    user = User(
        username="exporter",
        full_name="Export Bench",
        email="exporter@example.com",
        roles=[consultant],
        timezone="Pacific/Auckland",
    )
    user.set_password(PASSWORD)
    session.add(user)
    session.commit()
    now = utcnow()
    people = [
        person_values(
            first_name=FIRST_NAMES[n % len(FIRST_NAMES)],
            last_name=f"Export{n}",
            email=None,
            mobile=normalise(f"04{n:08d}", "AU"),
            sms_consent=True,
        )
        for n in range(COUNT)
    ]
    for start in range(0, COUNT, 5000):
        session.execute(sa.insert(Candidate), people[start : start + 5000])
    ids = list(session.scalars(sa.select(Candidate.id).order_by(Candidate.id)))
    batch = Batch(
        sender_id=user.id,
        kind="candidates",
        body="Hi {{first_name}}, a shift tomorrow?",
        provider="sandbox",
        message_count=COUNT,
        outcome_counts={},
    )
    session.add(batch)
    session.flush()
    messages = []
    for n, person_id in enumerate(ids):
        state = STATES[n % len(STATES)]
        messages.append(
            {
                "uuid": (key := str(uuid.uuid4())),
                "reference": key,
                "batch_id": batch.id,
                "direction": "out",
                "sender_id": user.id,
                "candidate_id": person_id,
                "to_e164": f"+614{n:08d}",
                "to_region": "AU",
                "body": "Hi, a shift tomorrow?",
                "provider": "sandbox",
                "state": state,
                "error_text": "Number disconnected" if state != "delivered" else None,
                "created_at": now,
                "sent_at": now + timedelta(seconds=1),
                "delivered_at": now + timedelta(seconds=5) if state == "delivered" else None,
            }
        )
    for start in range(0, COUNT, 5000):
        session.execute(sa.insert(Message), messages[start : start + 5000])
    session.commit()
    batch_id = batch.id
    session.close()
    engine.dispose()
    return batch_id


def _download(client, path: str) -> int:
    """Ask for `path` and read the body to its end as a browser would; its size in bytes."""
    response = client.get(path, buffered=False)
    assert response.status_code == 200, response.status_code
    size = sum(len(piece) for piece in response.response)
    response.close()
    return size


def run(kind: str, url: str) -> list[Figure]:
    batch_id = _seed(url)
    app = create_app(testing_config(url, LOG_LEVEL="WARNING"))
    app.config["WTF_CSRF_ENABLED"] = False  # the bench signs in with a plain form post
    client = app.test_client()
    signed_in = client.post("/login", data={"username": "exporter", "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.status_code
    path = f"/sms/batches/{batch_id}/messages.csv"
    started = time.perf_counter()
    size = _download(client, path)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        _download(client, path)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    app.extensions["database"].engine.dispose()
    return [
        show(Figure(f"export of {COUNT:,} messages [{kind}]", seconds, "s", "≤ 5")),
        show(
            Figure(
                f"export's peak Python memory, CSV {size / 1e6:,.1f} MB [{kind}]",
                peak / 1e6,
                "MB",
                "flat: ≪ the CSV",
            )
        ),
    ]


if __name__ == "__main__":
    run_all()
