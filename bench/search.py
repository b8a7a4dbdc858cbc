"""Search page server time over a million candidates, beside its floors (bench/floor.py): a bare
Flask page and the page's own SQL on a raw cursor."""

from __future__ import annotations

import sqlalchemy as sa

from bench import floor
from bench.report import Figure, percentile, show
from webapp import create_app
from webapp.config import testing_config
from webapp.models import Candidate

RUNS = floor.RUNS


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


def run(kind: str, url: str) -> list[Figure]:
    from tests.conftest import Browser

    app = create_app(testing_config(url, LOG_LEVEL="WARNING"))
    app.test_client_class = Browser
    client = app.test_client()
    assert client.login("consultant", "sms-desk-demo").status_code == 302
    engine = app.extensions["database"].engine
    figures = []
    worst_p95, worst_ratio = 0.0, 0.0
    for label, args in _queries(engine):

        def fetch(label=label, args=args) -> None:
            response = client.get("/candidates", query_string=args)
            assert response.status_code == 200, (label, response.status_code)

        samples = floor.timed(fetch, RUNS)
        page_floor = floor.page_floor(engine, fetch, RUNS)
        shown, ratio = floor.page_figures(f"search [{kind}] {label}", samples, page_floor, "≤ 50")
        figures += shown
        worst_p95, worst_ratio = max(worst_p95, percentile(samples, 95)), max(worst_ratio, ratio)
    figures.append(show(Figure(f"search [{kind}] worst p95", worst_p95, "ms", "≤ 50")))
    figures.append(
        show(Figure(f"search [{kind}] worst page ÷ floor p50", worst_ratio, "×", floor.RATIO_GOAL))
    )
    engine.dispose()
    return figures
