"""The floors a page figure is held against: a bare Flask page (the framework's) and the page's own
SQL replayed on a raw database cursor (the database's), timed the same way as the page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import Flask, abort, render_template, session
from jinja2 import DictLoader

from bench.report import Figure, percentile, show
from webapp.database import is_read

RUNS = 30
WARMUP = 3
RATIO_GOAL = "≤ 2"

Statement = tuple[str, Any]


def timed(fetch: Callable[[], object], runs: int = RUNS) -> list[float]:
    """Milliseconds of each of `runs` calls of `fetch`, after WARMUP untimed ones."""
    samples = []
    for n in range(runs + WARMUP):
        started = time.perf_counter()
        fetch()
        elapsed = (time.perf_counter() - started) * 1000
        if n >= WARMUP:
            samples.append(elapsed)
    return samples


@contextmanager
def recording(engine: sa.Engine) -> Iterator[list[Statement]]:
    """The reading statements and their parameters `engine` sends while the block runs, exactly
    as they reach the driver (SQLAlchemy's before_cursor_execute event). Only reads are replayed:
    BEGIN, the session's last_seen_at touch or an audit row would change the database (or, on
    SQLite, take its write lock) on every run."""
    statements: list[Statement] = []

    def before(_conn, _cursor, statement, parameters, _context, executemany):
        if not executemany and is_read(statement):
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def record(engine: sa.Engine, fetch: Callable[[], object]) -> list[Statement]:
    """The reads `fetch` (a page request, say) runs on `engine`."""
    with recording(engine) as statements:
        fetch()
    return list(statements)


def replay(engine: sa.Engine, statements: list[Statement], runs: int = RUNS) -> list[float]:
    """Milliseconds to run `statements` one after another on a raw driver cursor, fetching every
    row, per run (after WARMUP untimed runs): what the database costs the page, without
    SQLAlchemy, the ORM or the app."""
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()

        def run_all() -> None:
            for statement, parameters in statements:
                if parameters:
                    cursor.execute(statement, parameters)
                else:
                    cursor.execute(statement)
                cursor.fetchall()

        try:
            return timed(run_all, runs)
        finally:
            cursor.close()
            connection.rollback()


class Floor(NamedTuple):
    """A page's floors, p50 in milliseconds."""

    framework: float
    sql: float
    statements: int

    @property
    def total(self) -> float:
        return self.framework + self.sql


def page_floor(engine: sa.Engine, fetch: Callable[[], object], runs: int = RUNS) -> Floor:
    """The framework's floor and the p50 of replaying the SQL that one `fetch` runs."""
    statements = record(engine, fetch)
    return Floor(framework_p50(), percentile(replay(engine, statements, runs), 50), len(statements))


def page_figures(
    prefix: str, samples: list[float], floor: Floor, p95_goal: str
) -> tuple[list[Figure], float]:
    """Print a page's p50, p95 (held to `p95_goal`), its floors and page ÷ floors; return the
    figures and that ratio."""
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    ratio = p50 / max(floor.total, 0.01)
    name = (
        f"{prefix}: floor p50 (framework {floor.framework:.1f} + "
        f"{floor.statements} SQL {floor.sql:.1f})"
    )
    figures = [
        show(Figure(f"{prefix}: p50", p50, "ms")),
        show(Figure(f"{prefix}: p95", p95, "ms", p95_goal)),
        show(Figure(name, floor.total, "ms")),
        show(Figure(f"{prefix}: page ÷ floor p50", ratio, "×", RATIO_GOAL)),
    ]
    return figures, ratio


# The framework's floor -----------------------------------------------------------------------

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>People · floor</title></head>
<body><header><p>Signed in as {{ user.name }}</p></header>
<main><h1>People</h1>
<form method="post" id="bulk-sms"><input type="hidden" name="csrf_token" value="{{ token }}"></form>
<table class="results">
<thead><tr><th><input type="checkbox" name="select_page"> Select all</th><th>Name</th>
<th>Mobile</th><th>Status</th><th>Job title</th><th>Location</th></tr></thead>
<tbody>
{%- for person in rows %}
<tr><td><input type="checkbox" name="ids" value="{{ person.id }}" form="bulk-sms"
 aria-label="Select {{ person.name }}"></td>
<td><a href="/candidates/{{ person.id }}">{{ person.name }}</a></td>
<td>{{ person.mobile }}</td><td>{{ person.status }}</td>
<td>{{ person.job }}</td><td>{{ person.location }}</td></tr>
{%- endfor %}
</tbody></table></main></body></html>
"""

_framework: dict[str, float] = {}


def bare_app() -> Flask:
    """A Flask app with none of SMS Desk's code: it signs in from Flask's signed cookie session
    (a user id looked up in a dict) and renders 50 people held in a list."""
    app = Flask("bench_floor")
    app.secret_key = "bench-floor-" + "x" * 32
    app.jinja_loader = DictLoader({"people.html": _TEMPLATE})
    users = {1: {"id": 1, "name": "Casey Consultant"}}
    statuses = ("Active", "Placed", "Available", "Do not use")
    rows = [
        {
            "id": 1000 + n,
            "name": f"Olivia Smith {n}",
            "mobile": f"0412 345 {n:03d}",
            "status": statuses[n % len(statuses)],
            "job": "Registered nurse",
            "location": "Sydney NSW",
        }
        for n in range(50)
    ]

    @app.get("/login")
    def login():
        session["user_id"] = 1
        return "signed in"

    @app.get("/people")
    def people():
        user = users.get(session.get("user_id"))
        if user is None:
            abort(403)
        return render_template("people.html", user=user, rows=rows, token="t" * 40)

    return app


def framework_samples(runs: int = RUNS) -> list[float]:
    """Milliseconds per request of the bare page through Flask's test client."""
    client = bare_app().test_client()
    client.get("/login")

    def fetch() -> None:
        response = client.get("/people")
        assert response.status_code == 200, response.status_code
        response.get_data()

    return timed(fetch, runs)


def framework_p50() -> float:
    """The framework's floor, measured once per bench run (it does not depend on a database)."""
    if "p50" not in _framework:
        samples = framework_samples()
        _framework["p50"], _framework["p95"] = percentile(samples, 50), percentile(samples, 95)
        show(Figure("framework floor (bare Flask page, 50 rows): p50", _framework["p50"], "ms"))
    return _framework["p50"]
