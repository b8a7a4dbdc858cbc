"""The bench's database floor: it records the reads a page runs, as the driver gets them, and
replays only those on a raw cursor."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import floor
from webapp.database import make_engine


@pytest.fixture
def engine(tmp_path):
    # One connection throughout, so a trace on it sees everything the replay runs.
    engine = make_engine(f"sqlite:///{tmp_path / 'floor.sqlite3'}", poolclass=sa.pool.StaticPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
        connection.exec_driver_sql("CREATE TABLE visits (n INTEGER)")
        connection.exec_driver_sql("INSERT INTO visits VALUES (0)")
        for n in range(1, 6):
            connection.exec_driver_sql("INSERT INTO people VALUES (?, ?)", (n, f"person {n}"))
    yield engine
    engine.dispose()


def _page(engine: sa.Engine) -> None:
    """A page: it reads twice and writes once (as a session's last_seen_at touch would)."""
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT name FROM people WHERE id > :low"), {"low": 2}).all()
        connection.execute(sa.text("UPDATE visits SET n = n + 1"))
        connection.execute(sa.text("WITH c AS (SELECT count(*) AS n FROM people) SELECT n FROM c"))


def _visits(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT n FROM visits").scalar()


def test_only_the_reads_are_recorded_with_their_driver_parameters(engine):
    statements = floor.record(engine, lambda: _page(engine))

    assert statements == [
        ("SELECT name FROM people WHERE id > ?", (2,)),
        ("WITH c AS (SELECT count(*) AS n FROM people) SELECT n FROM c", ()),
    ]
    assert _visits(engine) == 1  # the page itself ran, write and all


def test_recording_stops_after_the_block(engine):
    with floor.recording(engine) as statements:
        _page(engine)
    _page(engine)

    assert len(statements) == 2


def test_the_replay_runs_the_reads_each_time_and_writes_nothing(engine):
    statements = floor.record(engine, lambda: _page(engine))
    seen = []
    with engine.connect() as connection:
        # Count what the raw connection runs (sqlite3's trace callback sees every statement).
        connection.connection.driver_connection.set_trace_callback(seen.append)

    samples = floor.replay(engine, statements, runs=4)

    assert len(samples) == 4 and all(ms >= 0 for ms in samples)
    assert [s for s in seen if s.startswith("SELECT name")] == [
        "SELECT name FROM people WHERE id > 2"
    ] * (4 + floor.WARMUP)
    assert _visits(engine) == 1


def test_the_framework_floor_renders_the_fifty_rows_for_the_signed_in_user():
    client = floor.bare_app().test_client()
    assert client.get("/people").status_code == 403
    client.get("/login")

    page = client.get("/people").get_data(as_text=True)

    assert page.count('name="ids"') == 50 and "Casey Consultant" in page
