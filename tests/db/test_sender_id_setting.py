"""The sender ID saved on the settings page: a running worker sends under it from its next claim,
without a restart, and the SMS accounts page shows the sender messages actually go out under.
Against the loopback SMS Central (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import pytest

from tests.delivery import Running, messages, queue, wait_until
from tests.pages import text
from webapp import worker

ENV_SENDER = "EnvSender"


@pytest.fixture
def app_settings(sms_central):
    return {
        "SMS_PROVIDER": "smscentral",
        "SMSCENTRAL_API_URL": sms_central.api_url,
        "SMSCENTRAL_USERNAME": sms_central.username,
        "SMSCENTRAL_PASSWORD": sms_central.password,
        "SMSCENTRAL_ORIGINATOR": ENV_SENDER,
    }


@pytest.fixture
def admin(client, login):
    return login("administrator")


def save_sender(client, sender_id: str) -> None:
    """Save the sender ID as an administrator does, on the settings page."""
    response = client.post(
        "/admin/settings",
        data={
            "comment_types": "SMS",
            "default_region": "",
            "originator": sender_id,
            "unmatched_reply_address": "",
        },
    )
    assert response.status_code == 302, response.data


def send_one(session, sender, person, sms_central, dispatcher) -> str:
    """Queue one message, wake the running worker, and return the ORIGINATOR it went out under."""
    before = len(sms_central.sends)
    batch = queue(session, sender, [person], provider="smscentral")
    dispatcher.wake()
    wait_until(lambda: len(sms_central.sends) > before, 10, "the gateway to get the message")
    [send] = sms_central.sends[before:]
    [message] = messages(session, batch)
    assert send.form["REFERENCE"] == message.uuid
    return send.form["ORIGINATOR"]


def test_a_running_worker_sends_under_the_sender_id_saved_after_it_started(
    app, session, client, admin, sender, make_candidate, sms_central
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    dispatcher = worker.build(app, poll_seconds=0.05)
    try:
        with Running(dispatcher):
            assert send_one(session, sender, ada, sms_central, dispatcher) == ENV_SENDER

            save_sender(client, "NewSender")
            assert send_one(session, sender, ada, sms_central, dispatcher) == "NewSender"

            # Emptied: the environment's again.
            save_sender(client, "")
            assert send_one(session, sender, ada, sms_central, dispatcher) == ENV_SENDER
    finally:
        dispatcher.provider.close()


def test_the_sms_accounts_page_shows_the_saved_sender_id_for_the_default_account(client, admin):
    assert ENV_SENDER in text(client.get("/admin/sms-accounts"))

    save_sender(client, "NewSender")

    page = text(client.get("/admin/sms-accounts"))
    assert "NewSender" in page and ENV_SENDER not in page


def test_without_an_environment_sender_the_worker_starts_with_the_saved_one(
    app, session, client, admin, sms_central, sender, make_candidate
):
    app.config["SMSCENTRAL_ORIGINATOR"] = ""
    save_sender(client, "SavedFirst")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    dispatcher = worker.build(app, poll_seconds=0.05)
    try:
        with Running(dispatcher):
            assert send_one(session, sender, ada, sms_central, dispatcher) == "SavedFirst"
    finally:
        dispatcher.provider.close()


def test_without_an_environment_sender_the_saved_one_may_not_be_cleared(client, admin, app):
    """Cleared, the worker had nothing to fall back on but the value it started with, and the
    next start failed: SMS Central sends with no sender ID of its own."""
    app.config["SMSCENTRAL_ORIGINATOR"] = ""
    save_sender(client, "SavedFirst")

    response = client.post(
        "/admin/settings",
        data={"comment_types": "SMS", "originator": "  ", "unmatched_reply_address": ""},
    )

    assert response.status_code == 400
    assert "Enter a sender ID: SMS Central needs one" in text(response)
    assert "SavedFirst" in text(client.get("/admin/sms-accounts"))
