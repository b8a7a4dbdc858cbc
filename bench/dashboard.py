"""The dashboard over the benchmark database's year of 1,000,000 messages and 100,000 replies
(bench/conversations.py): everyone's 30 days (a team leader) and one consultant's, on the last day
of that year."""

from __future__ import annotations

from bench import conversations, floor
from bench.report import Figure, percentile, show
from webapp import create_app
from webapp.config import testing_config
from webapp.dashboard import routes

GOAL = "≤ 200"


def run(kind: str, url: str) -> list[Figure]:
    from tests.conftest import Browser

    seconds = conversations.build(url)
    figures = []
    if seconds is not None:
        figures.append(show(Figure(f"dashboard [{kind}] adding the messages", seconds, "s")))
    app = create_app(testing_config(url, LOG_LEVEL="WARNING"))
    app.test_client_class = Browser
    real_now = routes.now
    routes.now = lambda: conversations.END  # "today" is the last day holding messages
    try:
        engine = app.extensions["database"].engine
        worst, worst_ratio = 0.0, 0.0
        for username, whose in (("lead", "everyone"), ("consultant", "one consultant")):
            client = app.test_client()
            assert client.login(username, "sms-desk-demo").status_code == 302
            fetch = conversations._fetcher(client, "/dashboard")
            samples = floor.timed(fetch, conversations.RUNS)
            page_floor = floor.page_floor(engine, fetch, conversations.RUNS)
            shown, ratio = floor.page_figures(
                f"dashboard [{kind}] {whose}", samples, page_floor, GOAL
            )
            figures += shown
            worst, worst_ratio = max(worst, percentile(samples, 95)), max(worst_ratio, ratio)
        name = f"dashboard p95 (everyone / one consultant) [{kind}]"
        figures.append(show(Figure(name, worst, "ms", GOAL)))
        name = f"dashboard page ÷ floor p50 (worse of the two) [{kind}]"
        figures.append(show(Figure(name, worst_ratio, "×", floor.RATIO_GOAL)))
    finally:
        routes.now = real_now
        app.extensions["database"].engine.dispose()
    return figures
