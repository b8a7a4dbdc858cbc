"""Webhook abuse the other webhook tests leave out: oversize bodies (413), malformed binary and
header fields, bodies that are not forms, and a replay that differs only in credentials'
spelling."""

from __future__ import annotations

import pytest

from tests.replying import stored
from tests.web.conftest import HOOK_PASSWORD, HOOK_USER, PUBLIC, WEBHOOKS, signer

SMSC_INBOUND = "/webhooks/smscentral/inbound"
SMSC_RECEIPT = "/webhooks/smscentral/receipt"
TWILIO_INBOUND = "/webhooks/twilio/inbound"
TWILIO_STATUS = "/webhooks/twilio/status"
NOTHING = {"inbound": 0, "emails": 0, "audit": 0, "parts": 0}
TWO_MB = 2 * 1024 * 1024


@pytest.fixture
def app_settings():
    """Both gateways' webhooks configured."""
    return WEBHOOKS


def smscentral_fields(**fields) -> dict[str, str]:
    params = {
        "USER_NAME": HOOK_USER,
        "PASSWORD": HOOK_PASSWORD,
        "ORIGINATOR": "61412345678",
        "RECIPIENT": "61400000001",
        "ID": "SC-900",
        "MESSAGE_TEXT": "Yes",
    }
    params.update(fields)
    return params


def twilio_fields(**fields) -> dict[str, str]:
    form = {
        "MessageSid": "SM" + "b" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": "+61412345678",
        "To": "+61400000001",
        "Body": "Yes",
        "NumSegments": "1",
        "NumMedia": "0",
    }
    form.update(fields)
    return form


@pytest.mark.parametrize("path", [SMSC_INBOUND, SMSC_RECEIPT])
def test_a_2mb_smscentral_push_is_413_and_stores_nothing(client, session, ada, path):
    form = smscentral_fields(MESSAGE_TEXT="x" * TWO_MB)

    response = client.post(path, data=form, csrf=False)

    assert response.status_code == 413
    assert stored(session) == NOTHING


@pytest.mark.parametrize("path", [TWILIO_INBOUND, TWILIO_STATUS])
def test_a_2mb_twilio_push_even_correctly_signed_is_413_and_stores_nothing(
    client, session, ada, path
):
    form = twilio_fields(Body="x" * TWO_MB)

    response = client.post(
        path,
        data=form,
        csrf=False,
        headers={"X-Twilio-Signature": signer.sign(PUBLIC + path, form)},
    )

    assert response.status_code == 413
    assert stored(session) == NOTHING


def test_a_2mb_raw_body_without_a_form_type_is_413_too(client, session, ada):
    response = client.post(
        SMSC_INBOUND, data=b"\0" * TWO_MB, content_type="application/octet-stream", csrf=False
    )

    assert response.status_code == 413
    assert stored(session) == NOTHING


def test_a_body_just_under_the_limit_is_still_read(client, session, ada):
    form = smscentral_fields(MESSAGE_TEXT="y" * (900 * 1024))

    response = client.post(SMSC_INBOUND, data=form, csrf=False)

    assert response.status_code == 200
    assert stored(session)["inbound"] == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"MESSAGE_TEXT": None, "BINARY": "zz-not-hex"},
        {"MESSAGE_TEXT": None, "BINARY": "00D"},
        {"UDH": "garbage"},
        {"UDH": "050003"},
        {"UDH": "0500030A0003"},
    ],
    ids=[
        "binary-not-hex",
        "binary-odd-length",
        "udh-not-hex",
        "udh-truncated",
        "udh-part-past-total",
    ],
)
def test_a_malformed_smscentral_push_is_answered_without_a_server_error(
    client, session, ada, fields
):
    form = {k: v for k, v in smscentral_fields(**fields).items() if v is not None}

    response = client.post(SMSC_INBOUND, data=form, csrf=False)

    assert response.status_code < 500, response.get_data(as_text=True)[:300]


def test_a_json_body_to_twilio_is_refused_as_unsigned(client, session, ada):
    response = client.post(
        TWILIO_INBOUND,
        json=twilio_fields(),
        csrf=False,
        headers={"X-Twilio-Signature": signer.sign(PUBLIC + TWILIO_INBOUND, {})},
    )

    assert response.status_code in {400, 403}
    assert stored(session) == NOTHING


def test_a_twilio_signature_for_the_status_url_is_refused_on_the_inbound_url(client, session, ada):
    form = twilio_fields()

    response = client.post(
        TWILIO_INBOUND,
        data=form,
        csrf=False,
        headers={"X-Twilio-Signature": signer.sign(PUBLIC + TWILIO_STATUS, form)},
    )

    assert response.status_code == 403
    assert stored(session) == NOTHING


def test_a_replayed_push_with_different_credentials_casing_is_refused_and_stored_once(
    client, session, ada
):
    assert client.post(SMSC_INBOUND, data=smscentral_fields(), csrf=False).status_code == 200
    assert client.post(SMSC_INBOUND, data=smscentral_fields(), csrf=False).status_code == 200
    forged = client.post(
        SMSC_INBOUND, data=smscentral_fields(PASSWORD=HOOK_PASSWORD.upper()), csrf=False
    )

    assert forged.status_code == 403
    assert stored(session)["inbound"] == 1
