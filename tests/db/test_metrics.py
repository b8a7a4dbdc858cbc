"""/metrics: Prometheus text whose figures move when a batch is sent, readable from loopback or with
METRICS_TOKEN only, and right across processes (PROMETHEUS_MULTIPROC_DIR, as under gunicorn)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import delivery
from webapp import config as settings
from webapp import create_app
from webapp.models import Email
from webapp.sms import metrics as sms_metrics
from webapp.sms.providers.sandbox import Sandbox
from webapp.web import metrics as web_metrics

OUTSIDE = {"REMOTE_ADDR": "10.1.2.3"}
TOKEN = "metrics-token-for-tests"


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: (name, sorted labels) → value."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.get_data(as_text=True))


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_figures_move_when_a_batch_is_sent(app, client, session, make_user, make_candidate):
    sender = make_user(role="consultant")
    people = [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Bob", "Brown", "0412 000 111"),
    ]
    delivery.queue(session, sender, people, provider="sandbox")
    session.add(
        Email(to_address="casey@example.com", subject="SMS reply", body="x", state="failed")
    )
    session.commit()

    before = scrape(client)
    delivery.dispatcher(app, Sandbox()).run(once=True)
    after = scrape(client)

    assert value(before, "smsdesk_database_up") == value(after, "smsdesk_database_up") == 1
    assert value(before, "smsdesk_queue_depth") == 2 and value(after, "smsdesk_queue_depth") == 0
    assert value(before, "smsdesk_messages", state="queued", gateway="sandbox") == 2
    assert value(after, "smsdesk_messages", state="queued", gateway="sandbox") == 0
    assert value(after, "smsdesk_messages", state="sent", gateway="sandbox") == 2
    assert value(before, "smsdesk_queue_oldest_seconds") >= 0
    assert value(after, "smsdesk_queue_oldest_seconds") == 0
    assert value(after, "smsdesk_reply_emails_failed") == 1
    assert value(after, "smsdesk_reply_emails_pending") == 0
    calls = "smsdesk_gateway_send_seconds_count"
    assert (
        value(after, calls, gateway="sandbox", outcome="accepted")
        - value(before, calls, gateway="sandbox", outcome="accepted")
        == 2
    )
    assert value(after, "smsdesk_worker_last_seen_seconds") < 30


def test_a_failure_to_record_a_metric_never_changes_what_happened_to_a_message(
    app, client, session, make_user, make_candidate, monkeypatch
):
    """The histogram is written after the gateway took the message: failing there must not make a
    sent message `unknown`, nor fail a web request."""

    def broken(*_labels):
        raise OSError("No such file or directory: the PROMETHEUS_MULTIPROC_DIR")

    monkeypatch.setattr(sms_metrics.GATEWAY_SECONDS, "labels", broken)
    monkeypatch.setattr(web_metrics.REQUEST_SECONDS, "labels", broken)
    batch = delivery.queue(
        session, make_user(role="consultant"), [make_candidate()], provider="sandbox"
    )

    delivery.dispatcher(app, Sandbox()).run(once=True)

    assert [m.state for m in delivery.messages(session, batch)] == ["sent"]
    assert client.get("/login").status_code == 200


def test_web_requests_are_timed_by_endpoint_not_path(client, make_candidate, login):
    login("consultant")
    ada = make_candidate()
    counted = "smsdesk_http_request_seconds_count"
    before = scrape(client)

    for _ in range(3):
        assert client.get(f"/candidates/{ada.id}").status_code == 200

    after = scrape(client)
    assert (
        value(after, counted, endpoint="records.show", method="GET")
        - value(before, counted, endpoint="records.show", method="GET")
        == 3
    )
    assert not any(str(ada.id) in dict(labels).get("endpoint", "") for _, labels in after)


def test_loopback_needs_no_token(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_from_elsewhere_without_a_token_configured_there_is_no_metrics_page(client):
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 404


def test_loopback_through_an_untrusted_proxy_is_not_loopback(client):
    """A proxy on the same host makes every visitor look local; its X-Forwarded-For gives it
    away."""
    response = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 404


@pytest.fixture
def token_app(database_url):
    app = create_app(settings.testing_config(database_url, METRICS_TOKEN=TOKEN))
    yield app
    app.extensions["database"].engine.dispose()


def test_from_elsewhere_the_bearer_token_is_required(token_app):
    client = token_app.test_client()

    missing = client.get("/metrics", environ_base=OUTSIDE)
    wrong = client.get("/metrics", environ_base=OUTSIDE, headers={"Authorization": "Bearer nope"})
    basic = client.get(
        "/metrics", environ_base=OUTSIDE, headers={"Authorization": f"Basic {TOKEN}"}
    )
    right = client.get(
        "/metrics", environ_base=OUTSIDE, headers={"Authorization": f"Bearer {TOKEN}"}
    )

    assert (missing.status_code, wrong.status_code, basic.status_code) == (401, 401, 401)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in missing.get_data(as_text=True)
    assert right.status_code == 200
    assert b"smsdesk_queue_depth" in right.data


def test_the_database_down_is_a_zero_not_an_error():
    app = create_app(settings.testing_config("sqlite:////nonexistent-dir/x.sqlite3"))
    try:
        found = scrape(app.test_client())
    finally:
        app.extensions["database"].engine.dispose()
    assert value(found, "smsdesk_database_up") == 0
    assert ("smsdesk_queue_depth", ()) not in found


CHILD = textwrap.dedent("""
    import sys
    from webapp import create_app
    from webapp.config import testing_config

    app = create_app(testing_config(sys.argv[1]))
    client = app.test_client()
    if sys.argv[2] == "serve":
        for _ in range(3):
            client.get("/login")
    else:
        sys.stdout.write(client.get("/metrics").get_data(as_text=True))
""")


def test_several_processes_add_up_with_prometheus_multiproc_dir(database_url, tmp_path):
    """As under gunicorn: one process answers requests, another is scraped, and the scrape counts
    both."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}

    def child(role: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, database_url, role],
            env=env,
            cwd=delivery.ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    child("serve")
    found = samples(child("scrape"))

    assert (
        value(found, "smsdesk_http_request_seconds_count", endpoint="auth.login", method="GET") == 3
    )
    assert value(found, "smsdesk_database_up") == 1
