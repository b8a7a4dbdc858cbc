"""The Twilio gateway against a loopback fake of its Messages API: every send outcome, status
callbacks, request signatures."""

from __future__ import annotations

import base64
import uuid

import pytest
from werkzeug.datastructures import MultiDict

from tests.fakes import FakeTwilio, body, http_status, refused_url, reset, timeout, twilio_error
from webapp.sms.providers import Accepted, OutboundSms, Receipt, Rejected, Transient, Unknown
from webapp.sms.providers.twilio import (
    PERMANENT_CODES,
    Twilio,
    parse_status_callback,
    signature,
    valid_signature,
)

CALLBACK = "https://desk.example.com/webhooks/twilio/status?message=abc"


@pytest.fixture
def gateway():
    with FakeTwilio(opted_out={"+61400000001"}) as fake:
        yield fake


def make_provider(gateway: FakeTwilio, *, read_timeout: float = 10.0, **options) -> Twilio:
    options.setdefault("from_number", "+61480000000")
    return Twilio(
        gateway.api_base,
        options.pop("account_sid", gateway.account_sid),
        options.pop("auth_token", gateway.auth_token),
        timeout=(2.0, read_timeout),
        **options,
    )


@pytest.fixture
def provider(gateway):
    provider = make_provider(gateway)
    yield provider
    provider.close()


def sms(to: str = "+61412345678", text: str = "Hello Ada", callback: str | None = CALLBACK):
    return OutboundSms(str(uuid.uuid4()), to, text, status_callback_url=callback)


def test_accepted_with_the_message_sid(provider, gateway):
    result = provider.send(sms())
    assert isinstance(result, Accepted)
    assert result.provider_message_id == gateway.messages[0]["sid"]
    assert result.provider_message_id.startswith("SM")


def test_request_uses_basic_auth_and_the_documented_form(provider, gateway):
    provider.send(sms(text="Zoë, 10 am?"))
    (request,) = gateway.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{gateway.account_sid}/Messages.json"
    scheme, credentials = request.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"{gateway.account_sid}:{gateway.auth_token}"
    assert request.form == {
        "To": "+61412345678",
        "From": "+61480000000",
        "Body": "Zoë, 10 am?",
        "StatusCallback": CALLBACK,
    }


def test_messaging_service_and_validity_period(gateway):
    provider = make_provider(
        gateway, from_number=None, messaging_service_sid="MG123", validity_period=3600
    )
    try:
        assert isinstance(provider.send(sms(callback=None)), Accepted)
    finally:
        provider.close()
    assert gateway.requests[0].form == {
        "To": "+61412345678",
        "Body": "Hello Ada",
        "MessagingServiceSid": "MG123",
        "ValidityPeriod": "3600",
    }


def test_needs_a_sender(gateway):
    with pytest.raises(ValueError, match="From"):
        Twilio(gateway.api_base, "AC1", "token")


def test_recipient_who_replied_stop_is_opted_out(provider):
    result = provider.send(sms("+61400000001"))
    assert isinstance(result, Rejected)
    assert (result.code, result.reason) == ("21610", "opted_out")
    assert "STOP" in result.text


def test_number_not_in_e164_is_invalid(provider, gateway):
    result = provider.send(sms("0412345678"))
    assert isinstance(result, Rejected)
    assert (result.code, result.reason) == ("21211", "invalid_number")
    assert gateway.messages == []


def test_wrong_token_is_bad_credentials(gateway):
    provider = make_provider(gateway, auth_token="wrong")
    try:
        result = provider.send(sms())
    finally:
        provider.close()
    assert isinstance(result, Rejected)
    assert (result.code, result.reason) == ("20003", "bad_credentials")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (21610, "opted_out"),
        (21408, "blocked"),
        (21612, "blocked"),
        (21211, "invalid_number"),
        (21614, "invalid_number"),
        (21635, "invalid_number"),
        (20003, "bad_credentials"),
    ],
)
def test_each_permanent_code(provider, gateway, code, reason):
    gateway.inject(twilio_error(401 if code == 20003 else 400, code))
    assert provider.send(sms()) == Rejected(str(code), PERMANENT_CODES[str(code)][1], reason)


def test_401_without_a_code_is_bad_credentials(provider, gateway):
    gateway.inject(http_status(401, "Unauthorized"))
    result = provider.send(sms())
    assert isinstance(result, Rejected) and result.reason == "bad_credentials"


def test_other_client_errors_fail_with_twilios_message(provider, gateway):
    gateway.inject(twilio_error(400, 21602, "Message body is required."))
    assert provider.send(sms()) == Rejected("21602", "Message body is required.", "failed")


@pytest.mark.parametrize(
    ("status", "code", "expected_code"),
    [
        (429, 20429, "20429"),
        (429, None, "http_429"),
        (400, 21611, "21611"),
        (400, 30001, "30001"),
        (500, 20500, "20500"),
        (503, None, "http_503"),
    ],
)
def test_rate_limits_queue_overflow_and_server_errors_are_transient(
    provider, gateway, status, code, expected_code
):
    gateway.inject(twilio_error(status, code) if code else http_status(status, "busy"))
    result = provider.send(sms())
    assert isinstance(result, Transient)
    assert result.code == expected_code
    assert result.retry_after is None


@pytest.mark.parametrize("status", [502, 504])
def test_edge_timeouts_are_unknown_because_the_message_may_exist(provider, gateway, status):
    gateway.inject(http_status(status, "Gateway Timeout"))
    result = provider.send(sms())
    assert isinstance(result, Unknown)
    assert str(status) in result.text


def test_retry_after_is_honoured(provider, gateway):
    gateway.inject(twilio_error(429, 20429, "Too Many Requests", retry_after=7))
    result = provider.send(sms())
    assert isinstance(result, Transient) and result.retry_after == 7.0


def test_created_without_a_readable_body_is_still_accepted(provider, gateway):
    gateway.inject(http_status(201, "not json"))
    assert provider.send(sms()) == Accepted(None)


@pytest.mark.parametrize("fault", [body("not json"), http_status(302, "")])
def test_answers_we_cannot_understand_are_unknown(provider, gateway, fault):
    gateway.inject(fault)
    assert isinstance(provider.send(sms()), Unknown)


def test_connection_refused_is_transient():
    provider = Twilio(refused_url(), "AC1", "token", from_number="+61480000000")
    try:
        result = provider.send(sms())
    finally:
        provider.close()
    assert isinstance(result, Transient) and result.code == "connect_error"


def test_read_timeout_is_unknown(gateway):
    provider = make_provider(gateway, read_timeout=0.3)
    gateway.inject(timeout(3.0))
    try:
        result = provider.send(sms())
    finally:
        provider.close()
    assert isinstance(result, Unknown)
    assert len(gateway.messages) == 1  # Twilio did create it: resending would duplicate


def test_reset_after_the_request_is_unknown(provider, gateway):
    gateway.inject(reset())
    assert isinstance(provider.send(sms()), Unknown)
    assert gateway.messages == []
    assert isinstance(provider.send(sms()), Accepted)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("canceled", "failed"),
    ],
)
def test_status_callback_states(status, state):
    receipt = parse_status_callback({"MessageSid": "SM1", "MessageStatus": status}, "u-1")
    assert receipt == Receipt("u-1", "SM1", state)


@pytest.mark.parametrize("status", ["queued", "accepted", "scheduled", "sending"])
def test_status_callback_before_sent_has_nothing_to_apply(status):
    assert parse_status_callback({"MessageSid": "SM1", "MessageStatus": status}) is None


@pytest.mark.parametrize("status", ["", "exploded", "received"])
def test_unknown_status_raises(status):
    with pytest.raises(ValueError, match="MessageStatus"):
        parse_status_callback({"MessageSid": "SM1", "MessageStatus": status})


def test_status_callback_error_code(provider, gateway):
    sid = provider.send(sms()).provider_message_id
    form = gateway.status_callback(sid, "undelivered", error_code="30003")
    assert parse_status_callback(form) == Receipt(
        None, sid, "undelivered", "30003", "The handset is unreachable."
    )
    unknown_code = parse_status_callback({"MessageStatus": "failed", "ErrorCode": "39999"})
    assert (unknown_code.error_code, unknown_code.error_text) == ("39999", None)


# Twilio's published vectors (twilio-python's tests and Twilio's security docs), token "12345".
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
GOOD = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_signature_known_vectors():
    assert signature(TOKEN, URL, PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert signature(TOKEN, URL, DOCS_PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert valid_signature(TOKEN, URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_signature_with_repeated_names_signs_all_values_sorted():
    pairs = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert signature(TOKEN, URL, pairs) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    assert valid_signature(TOKEN, URL, MultiDict(pairs), "IK+Dwps556ElfBT0I3Rgjkr1wJU=")


def test_signature_tries_the_url_with_and_without_its_port():
    with_port = URL.replace(".com", ".com:1234")
    assert valid_signature(TOKEN, with_port, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert valid_signature(TOKEN, URL, PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")  # signed with :443


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (URL.replace("foo=1", "foo=2"), PARAMS),
        ("http://mycompany.com/myapp.php?foo=1&bar=2", PARAMS),
        (URL, {**PARAMS, "Digits": "1235"}),
        (URL, {**PARAMS, "Extra": ""}),
        (URL, {k: v for k, v in PARAMS.items() if k != "To"}),
        (URL, {("digits" if k == "Digits" else k): v for k, v in PARAMS.items()}),
    ],
)
def test_tampered_requests_are_invalid(url, params):
    assert not valid_signature(TOKEN, url, params, GOOD)


@pytest.mark.parametrize(
    ("token", "header"),
    [("", GOOD), (TOKEN, ""), (TOKEN, None), ("54321", GOOD), (TOKEN, GOOD.lower())],
)
def test_missing_or_wrong_token_or_header_is_invalid(token, header):
    assert not valid_signature(token, URL, PARAMS, header)


def test_callback_signed_by_the_fake_validates(provider, gateway):
    sid = provider.send(sms()).provider_message_id
    form = gateway.status_callback(sid, "delivered")
    header = gateway.sign(CALLBACK, form)
    assert valid_signature(gateway.auth_token, CALLBACK, form, header)
    tampered = {**form, "MessageStatus": "failed"}
    assert not valid_signature(gateway.auth_token, CALLBACK, tampered, header)
