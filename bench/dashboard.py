"""The dashboard over the benchmark database's year of 1,000,000 messages and 100,000 replies
(bench/conversations.py): everyone's 30 days (a team leader) and one consultant's, on the last day
of that year."""

from __future__ import annotations

from bench import conversations
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
        worst = 0.0
        for username, whose in (("lead", "everyone"), ("consultant", "one consultant")):
            client = app.test_client()
            assert client.login(username, "sms-desk-demo").status_code == 302
            samples = conversations._timed(client, "/dashboard")
            p50, p95 = percentile(samples, 50), percentile(samples, 95)
            worst = max(worst, p95)
            figures.append(show(Figure(f"dashboard [{kind}] {whose}: p50", p50, "ms")))
            figures.append(show(Figure(f"dashboard [{kind}] {whose}: p95", p95, "ms", GOAL)))
        name = f"dashboard p95 (everyone / one consultant) [{kind}]"
        figures.append(show(Figure(name, worst, "ms", GOAL)))
    finally:
        routes.now = real_now
        app.extensions["database"].engine.dispose()
    return figures
