"""The benchmark databases: a million candidates on SQLite and PostgreSQL, built once and cached."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import sqlalchemy as sa

from webapp import migrate
from webapp.data import demo
from webapp.database import make_engine, make_sessionmaker

CACHE = Path(__file__).resolve().parent / ".cache"
CANDIDATES = int(os.environ.get("BENCH_CANDIDATES", "1000000"))
CONTACTS = 10_000
CLIENTS = 200


def postgres_url() -> str | None:
    """BENCH_DATABASE_URL, or TEST_DATABASE_URL's server with a database of our own."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    return (
        sa.engine.make_url(url).set(database="smsdesk_bench").render_as_string(hide_password=False)
    )


def _ensure_postgres_database(url: str) -> None:
    admin = sa.create_engine(
        sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = 'smsdesk_bench'")
        ).scalar()
        if not exists:
            connection.exec_driver_sql('CREATE DATABASE "smsdesk_bench"')
    admin.dispose()


def _reset_postgres(url: str) -> None:
    admin = sa.create_engine(
        sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.exec_driver_sql('DROP DATABASE IF EXISTS "smsdesk_bench" WITH (FORCE)')
        connection.exec_driver_sql('CREATE DATABASE "smsdesk_bench"')
    admin.dispose()


def database(kind: str) -> tuple[str, float, bool]:
    """(url, seconds the seed took, whether it was built now) for "sqlite" or "postgresql"."""
    CACHE.mkdir(exist_ok=True)
    marker = CACHE / f"people-{kind}.json"
    if kind == "sqlite":
        path = CACHE / "people.sqlite3"
        url = f"sqlite:///{path}"
    else:
        url = postgres_url()
        _ensure_postgres_database(url)
    head = migrate.head_revision()
    if marker.exists():
        saved = json.loads(marker.read_text())
        if (
            saved.get("candidates") == CANDIDATES
            and saved.get("revision") == head
            and saved.get("url") == url
        ):
            engine = make_engine(url)
            if migrate.current_revision(engine) == head:
                engine.dispose()
                return url, saved["seconds"], False
            engine.dispose()
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        _reset_postgres(url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    session = make_sessionmaker(engine)()
    print(f"  building the {kind} benchmark database: {CANDIDATES:,} candidates …", flush=True)
    started = time.perf_counter()
    demo.seed(session, candidates=CANDIDATES, contacts=CONTACTS, clients=CLIENTS, region="AU")
    seconds = time.perf_counter() - started
    # VACUUM too on PostgreSQL, as autovacuum soon would after a bulk insert: index-only scans
    # need the visibility map it sets.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if kind == "postgresql" else "ANALYZE")
    session.close()
    engine.dispose()
    marker.write_text(
        json.dumps({"candidates": CANDIDATES, "revision": head, "url": url, "seconds": seconds})
    )
    return url, seconds, True
