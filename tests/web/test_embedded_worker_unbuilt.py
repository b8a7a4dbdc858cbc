"""A dispatcher that cannot be built from what only the database holds (the SMS Central sender on
a fresh database) leaves the pages answering, and starts once the Sender ID is saved; the
`sms worker` command says what it lacks in one line."""

from __future__ import annotations

import logging
import signal

import pytest

from webapp import config, create_app, settings_store, worker


@pytest.fixture
def gateway(sms_central) -> dict:
    """SMS Central with no SMSCENTRAL_ORIGINATOR: the sender must come from /admin/settings."""
    return {
        "SMS_PROVIDER": "smscentral",
        "SMSCENTRAL_API_URL": sms_central.api_url,
        "SMSCENTRAL_USERNAME": sms_central.username,
        "SMSCENTRAL_PASSWORD": sms_central.password,
    }


@pytest.fixture
def serving(database_url, gateway, monkeypatch):
    """The app as a server runs it: not testing, with its dispatcher embedded."""
    # The process-wide exit hooks (SIGTERM, the interpreter's exit) are not this test's business.
    monkeypatch.setattr(worker, "_hook_process_exit", lambda: None)
    stoppers, threads = len(worker._stoppers), len(worker._threads)
    app = create_app(
        config.testing_config(database_url, TESTING=False, EMBEDDED_WORKER=True, **gateway)
    )
    yield app
    for stop in worker._stoppers[stoppers:]:
        stop()
    del worker._stoppers[stoppers:]
    del worker._threads[threads:]
    app.extensions["database"].engine.dispose()


def test_pages_answer_while_the_embedded_dispatcher_lacks_a_sender(serving, caplog, monkeypatch):
    monkeypatch.setattr(worker, "RETRY_SECONDS", 0.0)  # each request tries again
    client = serving.test_client()
    with caplog.at_level(logging.ERROR, logger="webapp.worker"):
        for path in ("/healthz", "/login", "/healthz"):
            assert client.get(path).status_code == 200, path
    assert "dispatcher" not in serving.extensions
    [record] = [r for r in caplog.records if r.name == "webapp.worker"]  # said once
    assert record.getMessage() == (
        "The embedded SMS dispatcher cannot start (tried again every 0 s): SMS_PROVIDER=smscentral "
        "needs a sender: set SMSCENTRAL_ORIGINATOR, or save a Sender ID on /admin/settings."
    )

    with serving.extensions["database"].sessionmaker() as session:
        settings_store.save(session, None, {"originator": "Recruit"})
    assert client.get("/healthz").status_code == 200
    assert serving.extensions["dispatcher"].provider.originator == "Recruit"


def cli_worker(app):
    # The command sets SIGTERM and SIGINT to stop its dispatcher: put pytest's own back after.
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        with app.app_context():
            return app.test_cli_runner().invoke(args=["sms", "worker", "--once"])
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


@pytest.mark.parametrize(
    "settings, said",
    [
        (
            {"SMS_PROVIDER": "smscentral", "SMSCENTRAL_USERNAME": "u", "SMSCENTRAL_PASSWORD": "p"},
            "SMS_PROVIDER=smscentral needs a sender: set SMSCENTRAL_ORIGINATOR, or save a "
            "Sender ID on /admin/settings.",
        ),
        (
            {"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"},
            "SMS_PROVIDER=twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID to be set.",
        ),
    ],
    ids=["smscentral-sender", "twilio-from"],
)
def test_the_worker_command_says_what_its_gateway_lacks_and_exits_1(database_url, settings, said):
    app = create_app(config.testing_config(database_url, **settings))
    try:
        result = cli_worker(app)
    finally:
        app.extensions["database"].engine.dispose()
    assert result.exit_code == 1
    assert result.output == f"Error: The SMS worker cannot start: {said}\n"
