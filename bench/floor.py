"""The floors a page figure is held against: a bare Flask page (the framework's) and the page's own
SQL replayed on a raw database cursor (the database's), timed the same way as the page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import Flask, abort, before_render_template, render_template, session, template_rendered
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


@contextmanager
def rendering(
    clock: Callable[[], float] = time.perf_counter, engine: sa.Engine | None = None
) -> Iterator[list[float]]:
    """Milliseconds each whole page's Jinja render took while the block runs (from Flask's
    before_render_template signal to its template_rendered): the template's own work, without
    the view's queries or the context processors, which run before it. A template may read
    lazily (the header's unread count does); the time of statements run on `engine` during a
    render is taken out of it, since the page's SQL floor holds them already."""
    durations: list[float] = []
    started: list[float] = []  # a stack, should a template's render render another
    queried: list[float] = []  # seconds of SQL inside each open render

    def before(_app, **_extra) -> None:
        started.append(clock())
        queried.append(0.0)

    def after(_app, **_extra) -> None:
        elapsed = clock() - started.pop() - queried.pop()
        if not started:  # an inner render's time is in the outer one's already
            durations.append(elapsed * 1000)

    def statement(elapsed: float) -> None:
        for n in range(len(queried)):  # an outer render holds an inner one's time too
            queried[n] += elapsed

    before_render_template.connect(before)
    template_rendered.connect(after)
    try:
        with timing_statements(engine, statement, clock):
            yield durations
    finally:
        template_rendered.disconnect(after)
        before_render_template.disconnect(before)


@contextmanager
def timing_statements(
    engine: sa.Engine | None,
    spent: Callable[[float], None],
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator[None]:
    """While the block runs, call `spent` with the seconds of each statement run on `engine`
    (the driver's execute, from SQLAlchemy's before_cursor_execute to its after_cursor_execute);
    with no engine, nothing."""
    if engine is None:
        yield
        return
    began: list[float] = []

    def before(*_args) -> None:
        began.append(clock())

    def after(*_args) -> None:
        spent(clock() - began.pop())

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        sa.event.remove(engine, "after_cursor_execute", after)
        sa.event.remove(engine, "before_cursor_execute", before)


def rendering_p50(
    fetch: Callable[[], object],
    runs: int = RUNS,
    clock: Callable[[], float] = time.perf_counter,
    engine: sa.Engine | None = None,
) -> float:
    """The p50 of the time a page's template takes to render (less its statements on `engine`),
    over `runs` calls of `fetch` (its whole page; a page that renders no template counts 0)."""
    per_page = []
    for _ in range(runs):
        with rendering(clock, engine) as durations:
            fetch()
        per_page.append(sum(durations))
    return percentile(per_page, 50)


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
    """A page's floors, p50 in milliseconds; its own template's render, and the part of the
    framework's floor that is the bare page's render of its small table."""

    framework: float
    sql: float
    statements: int
    rendering: float = 0.0
    framework_rendering: float = 0.0

    @property
    def total(self) -> float:
        return self.framework + self.sql

    @property
    def with_rendering(self) -> float:
        """The floors with the bare page's render swapped for this page's: the least the page
        could cost while it renders what it does, were all else as cheap as the floors."""
        return self.total - self.framework_rendering + self.rendering


def page_floor(engine: sa.Engine, fetch: Callable[[], object], runs: int = RUNS) -> Floor:
    """The framework's floor and the bare page's render, measured now (just after the page's own
    samples), the p50 of replaying the SQL that one `fetch` runs, and the p50 of its template's
    render."""
    framework, framework_rendering = framework_now(runs)
    statements = record(engine, fetch)
    sql = percentile(replay(engine, statements, runs), 50)
    return Floor(
        framework,
        sql,
        len(statements),
        rendering_p50(fetch, runs, engine=engine),
        framework_rendering,
    )


def page_figures(
    prefix: str, samples: list[float], floor: Floor, p95_goal: str
) -> tuple[list[Figure], float]:
    """Print a page's p50, p95 (held to `p95_goal`), its floors and page ÷ floors, then its
    template's render and what the ratio would be were the page nothing but its floors with that
    render in place of the bare page's (over 2 there, the goal is out of reach while the page
    renders what it does at that cost); return the figures and the page's ratio."""
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    ratio = p50 / max(floor.total, 0.01)
    bound = floor.with_rendering / max(floor.total, 0.01)
    name = (
        f"{prefix}: floor p50 (framework {floor.framework:.1f} + "
        f"{floor.statements} SQL {floor.sql:.1f})"
    )
    figures = [
        show(Figure(f"{prefix}: p50", p50, "ms")),
        show(Figure(f"{prefix}: p95", p95, "ms", p95_goal)),
        show(Figure(name, floor.total, "ms")),
        show(Figure(f"{prefix}: page ÷ floor p50", ratio, "×", RATIO_GOAL)),
        show(Figure(f"{prefix}: its template's render p50", floor.rendering, "ms")),
        show(Figure(f"{prefix}: (floor − bare render + its render) ÷ floor", bound, "×")),
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

_first_printed = False  # the framework floor's figures are printed for the first page only


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


@cache
def bare_page() -> tuple[Flask, Callable[[], None]]:
    """The bare app, and a signed-in request of its page through Flask's test client (one client,
    made once)."""
    app = bare_app()
    client = app.test_client()
    client.get("/login")

    def fetch() -> None:
        response = client.get("/people")
        assert response.status_code == 200, response.status_code
        response.get_data()

    return app, fetch


def framework_now(runs: int = RUNS) -> tuple[float, float]:
    """The framework's floor and the bare page's render, p50s measured now. Each page's floor is
    measured beside it, not once a run: some machines drift by half within minutes, and the
    ratio should not move with them. The first is printed."""
    global _first_printed
    _app, fetch = bare_page()
    framework, rendering = percentile(timed(fetch, runs), 50), rendering_p50(fetch, runs)
    if not _first_printed:
        _first_printed = True
        show(Figure("framework floor (bare Flask page, 50 rows): p50, first", framework, "ms"))
        show(Figure("framework floor: its template's render p50, first", rendering, "ms"))
    return framework, rendering
