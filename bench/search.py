"""Search page server time over a million candidates, against the raw SQL of the same queries."""

from __future__ import annotations

import time

import sqlalchemy as sa

from bench.report import Figure, percentile, show
from webapp import create_app
from webapp.config import testing_config
from webapp.models import Candidate
from webapp.people import search as people_search

RUNS = 30


def _queries(engine: sa.Engine) -> list[tuple[str, dict[str, str]]]:
    with engine.connect() as connection:
        mobile = connection.execute(
            sa.select(Candidate.mobile_raw)
            .where(Candidate.mobile_valid.is_(True), Candidate.mobile_region == "AU")
            .offset(4321)
            .limit(1)
        ).scalar()
    return [
        ("name prefix", {"q": "smi"}),
        ("full name", {"q": "olivia smith"}),
        ("mobile", {"q": mobile}),
        ("status + consent", {"status": "Placed", "consent": "no"}),
        ("location + status", {"location": "syd", "status": "Active"}),
        ("job title contains", {"job": "nurse"}),
        (
            "created range, newest first",
            {"created_from": "2024-03-01", "created_to": "2024-03-31", "sort": "-created"},
        ),
    ]


def _raw_sql(engine: sa.Engine, criteria: people_search.Criteria) -> list[str]:
    """The page query and the bounded count the view runs, as plain SQL text."""
    dialect = engine.dialect.name
    page = people_search._page_query(criteria, "AU", dialect, limit=people_search.PAGE_SIZE + 1)
    count = people_search.count_query(criteria, "AU", dialect, people_search.COUNT_CAP)
    return [str(q.compile(engine, compile_kwargs={"literal_binds": True})) for q in (page, count)]


def _time_raw(engine: sa.Engine, statements: list[str]) -> list[float]:
    samples = []
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        for _ in range(RUNS + 3):
            started = time.perf_counter()
            for statement in statements:
                cursor.execute(statement)
                cursor.fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    return samples[3:]


def run(kind: str, url: str) -> list[Figure]:
    from tests.conftest import Browser

    app = create_app(testing_config(url, LOG_LEVEL="WARNING"))
    app.test_client_class = Browser
    client = app.test_client()
    assert client.login("consultant", "sms-desk-demo").status_code == 302
    engine = app.extensions["database"].engine
    figures = []
    worst_p95, worst_ratio, overheads = 0.0, 0.0, []
    for label, args in _queries(engine):
        samples = []
        for n in range(RUNS + 3):
            started = time.perf_counter()
            response = client.get("/candidates", query_string=args)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (label, response.status_code)
            if n >= 3:
                samples.append(elapsed)
        criteria, _page, _errors = people_search.parse("candidates", args)
        raw = _time_raw(engine, _raw_sql(engine, criteria))
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        ratio = p50 / max(percentile(raw, 50), 0.01)
        worst_p95, worst_ratio = max(worst_p95, p95), max(worst_ratio, ratio)
        overheads.append(p50 - percentile(raw, 50))
        figures.append(show(Figure(f"search [{kind}] {label}: p50", p50, "ms")))
        figures.append(show(Figure(f"search [{kind}] {label}: p95", p95, "ms", "≤ 50")))
        figures.append(
            show(Figure(f"search [{kind}] {label}: raw SQL p50", percentile(raw, 50), "ms"))
        )
        figures.append(show(Figure(f"search [{kind}] {label}: page ÷ raw SQL", ratio, "×", "≤ 3")))
    figures.append(show(Figure(f"search [{kind}] worst p95", worst_p95, "ms", "≤ 50")))
    figures.append(show(Figure(f"search [{kind}] worst page ÷ raw SQL", worst_ratio, "×", "≤ 3")))
    # The ratio is dominated by the page's fixed cost when the SQL takes microseconds; this is it.
    figures.append(
        show(
            Figure(
                f"search [{kind}] page time above its SQL (median of queries)",
                sorted(overheads)[len(overheads) // 2],
                "ms",
            )
        )
    )
    engine.dispose()
    return figures
