"""The SMS Central gateway against a loopback fake of its HTTP API: every send outcome, receipts,
webhook credentials."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest

from tests.fakes import FakeSmsCentral, blackhole, body, http_status, refused_url, reset, timeout
from webapp.sms.providers import (
    Accepted,
    OutboundSms,
    Provider,
    Receipt,
    Rejected,
    Transient,
    Unknown,
)
from webapp.sms.providers.smscentral import (
    PERMANENT_CODES,
    SmsCentral,
    check_webhook_credentials,
    parse_receipt,
)

READ_TIMEOUT = 0.3


@pytest.fixture
def gateway():
    with FakeSmsCentral() as fake:
        yield fake


def make_provider(url: str, *, read_timeout: float = 10.0, password: str = "s3cret"):
    return SmsCentral(url, "desk", password, "SMSDesk", timeout=(2.0, read_timeout))


@pytest.fixture
def provider(gateway):
    provider = make_provider(gateway.api_url)
    yield provider
    provider.close()


@pytest.fixture
def impatient(gateway):
    """A provider whose read timeout is shorter than the fake's slow answers."""
    provider = make_provider(gateway.api_url, read_timeout=READ_TIMEOUT)
    yield provider
    provider.close()


def sms(to: str = "+61412345678", text: str = "Hello Ada", **fields) -> OutboundSms:
    return OutboundSms(uuid=fields.pop("uuid", str(uuid.uuid4())), to_e164=to, body=text, **fields)


def test_accepted_request_carries_the_documented_parameters(provider, gateway):
    message = sms(text="Interview at 10 – see you there 😀")
    assert provider.send(message) == Accepted(provider_message_id=None)

    (request,) = gateway.requests
    assert (request.method, request.path) == ("POST", "/api/v3.2")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "USERNAME": "desk",
        "PASSWORD": "s3cret",
        "ACTION": "send",
        "ORIGINATOR": "SMSDesk",
        "RECIPIENT": "61412345678",
        "MESSAGE_TEXT": "Interview at 10 – see you there 😀",
        "REFERENCE": message.uuid,
    }
    assert len(gateway.messages) == 1


def test_provider_satisfies_the_interface(provider):
    assert isinstance(provider, Provider)
    assert provider.name == "smscentral"


def test_duplicate_reference_counts_as_accepted_and_is_not_sent_again(provider, gateway):
    message = sms()
    assert provider.send(message) == Accepted(None)
    assert provider.send(message) == Accepted(None)  # the fake answered 513
    assert len(gateway.requests) == 2
    assert len(gateway.messages) == 1


def test_a_resend_after_a_timeout_does_not_send_twice(impatient, gateway):
    message = sms()
    gateway.inject(timeout())
    assert isinstance(impatient.send(message), Unknown)
    assert impatient.send(message) == Accepted(None)
    assert len(gateway.messages) == 1


@pytest.mark.parametrize("answer", ["500 Internal error", "536 Temporarily delayed"])
def test_gateway_trouble_is_transient(provider, gateway, answer):
    gateway.inject(body(answer))
    result = provider.send(sms())
    assert isinstance(result, Transient)
    assert result.code == answer[:3]
    assert result.text


@pytest.mark.parametrize("code", sorted(PERMANENT_CODES))
def test_each_permanent_code_is_rejected_with_its_meaning(provider, gateway, code):
    gateway.inject(body(f"{code} Whatever the gateway says"))
    reason, meaning = PERMANENT_CODES[code]
    assert provider.send(sms()) == Rejected(code, meaning, reason)


def test_permanent_meanings():
    assert {code: reason for code, (reason, _) in PERMANENT_CODES.items()} == {
        "503": "account_expired",
        "511": "bad_credentials",
        "514": "invalid_number",
        "519": "blocked",
        "531": "failed",
        "534": "no_credit",
        "535": "bad_originator",
    }


def test_wrong_password_is_rejected_by_the_gateway(gateway):
    with closing(make_provider(gateway.api_url, password="wrong")) as provider:
        result = provider.send(sms())
    assert isinstance(result, Rejected)
    assert (result.code, result.reason) == ("511", "bad_credentials")
    assert gateway.messages == []


def test_blacklisted_number_is_blocked(provider, gateway):
    gateway.blacklist.add("61412345678")
    result = provider.send(sms("+61412345678"))
    assert isinstance(result, Rejected)
    assert (result.code, result.reason) == ("519", "blocked")


def test_running_out_of_credit(provider, gateway):
    gateway.credit = 1
    assert provider.send(sms()) == Accepted(None)
    result = provider.send(sms())
    assert isinstance(result, Rejected)
    assert (result.code, result.reason) == ("534", "no_credit")


def test_empty_message_and_missing_recipient(provider, gateway):
    empty = provider.send(sms(text=""))
    nobody = provider.send(sms(to=""))
    assert isinstance(empty, Rejected) and empty.code == "531"
    assert isinstance(nobody, Rejected)
    assert (nobody.code, nobody.reason) == ("514", "invalid_number")


def test_unlisted_5xx_code_is_rejected_with_the_gateway_text(provider, gateway):
    gateway.inject(body("542 Message too long"))
    assert provider.send(sms()) == Rejected("542", "Message too long", "failed")


@pytest.mark.parametrize("answer", ["<html>Service Unavailable</html>", "", "OK", "200 fine"])
def test_an_answer_we_cannot_understand_is_unknown(provider, gateway, answer):
    gateway.inject(body(answer))
    assert isinstance(provider.send(sms()), Unknown)


def test_http_error_from_a_proxy_is_transient_and_honours_retry_after(provider, gateway):
    gateway.inject(http_status(502, "Bad gateway"), http_status(503, "", {"Retry-After": "30"}))
    first, second = provider.send(sms()), provider.send(sms())
    assert isinstance(first, Transient) and first.code == "http_502"
    assert first.retry_after is None
    assert isinstance(second, Transient) and second.retry_after == 30.0
    assert gateway.messages == []


def test_connection_refused_is_transient(gateway):
    with closing(make_provider(refused_url())) as provider:
        result = provider.send(sms())
    assert isinstance(result, Transient)
    assert result.code == "connect_error"


def test_stopped_gateway_refuses_even_with_a_pooled_connection(provider, gateway):
    assert provider.send(sms()) == Accepted(None)
    gateway.stop()
    result = provider.send(sms())
    assert isinstance(result, Transient)


def test_connect_timeout_is_transient():
    with blackhole() as url:
        with closing(SmsCentral(url, "desk", "s3cret", "SMSDesk", timeout=(0.3, 5.0))) as provider:
            result = provider.send(sms())
    assert isinstance(result, Transient)
    assert result.code == "connect_timeout"


def test_read_timeout_is_unknown(impatient, gateway):
    gateway.latency = 3.0
    result = impatient.send(sms())
    assert isinstance(result, Unknown)
    assert "may or may not" in result.text
    assert len(gateway.requests) == 1


def test_reset_after_the_request_is_unknown(provider, gateway):
    gateway.inject(reset())
    assert isinstance(provider.send(sms()), Unknown)
    assert len(gateway.requests) == 1
    assert provider.send(sms()) == Accepted(None)  # the pool recovers


def test_concurrent_sends_share_the_pool(provider, gateway):
    messages = [sms(f"+6141234{n:04d}") for n in range(32)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(provider.send, messages))
    assert results == [Accepted(None)] * 32
    assert {m["REFERENCE"] for m in gateway.messages} == {m.uuid for m in messages}


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("DELIVRD", "delivered"),
        ("DELIVERD", "delivered"),
        ("BUFFRED", "sent"),
        ("ACCEPTD", "sent"),
        ("ENROUTE", "sent"),
        ("FAILED", "undelivered"),
        ("UNDELIV", "undelivered"),
        ("EXPIRED", "undelivered"),
        ("REJECTD", "failed"),
        ("delivrd", "delivered"),
    ],
)
def test_receipt_states(status, state):
    receipt = parse_receipt({"REFERENCE": "u-1", "ID": "77", "STATUS": status})
    assert (receipt.reference, receipt.provider_message_id, receipt.state) == ("u-1", "77", state)


def test_failed_receipt_carries_the_error():
    params = {"REFERENCE": "u-1", "ID": "77", "STATUS": "UNDELIV", "RESULT": "34"}
    receipt = parse_receipt({**params, "STATUSDESCRIPTION": "Absent subscriber"})
    assert receipt == Receipt("u-1", "77", "undelivered", "34", "Absent subscriber")


def test_delivered_receipt_has_no_error_and_missing_fields_are_none():
    assert parse_receipt({"STATUS": "DELIVRD", "RESULT": "0"}) == Receipt(None, None, "delivered")


@pytest.mark.parametrize("status", ["", "READ", "DELIVERED!", "UNKNOWN"])
def test_unknown_receipt_status_raises(status):
    with pytest.raises(ValueError, match="STATUS"):
        parse_receipt({"REFERENCE": "u-1", "STATUS": status})


def test_receipt_built_by_the_fake_round_trips(provider, gateway):
    message = sms()
    provider.send(message)
    params = gateway.receipt(message.uuid, "DELIVRD", user_name="hook", password="pw")
    assert check_webhook_credentials(params, "hook", "pw")
    receipt = parse_receipt(params)
    assert (receipt.reference, receipt.state) == (message.uuid, "delivered")
    assert receipt.provider_message_id == gateway.messages[0]["ID"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"USER_NAME": "hook", "PASSWORD": "pw"}, True),
        ({"USER_NAME": "hook", "PASSWORD": "PW"}, False),
        ({"USER_NAME": "other", "PASSWORD": "pw"}, False),
        ({"USER_NAME": "hook"}, False),
        ({}, False),
    ],
)
def test_webhook_credentials(params, expected):
    assert check_webhook_credentials(params, "hook", "pw") is expected


@pytest.mark.parametrize(("username", "password"), [("", ""), ("hook", ""), ("", "pw")])
def test_webhook_without_configured_credentials_accepts_nothing(username, password):
    params = {"USER_NAME": username, "PASSWORD": password}
    assert check_webhook_credentials(params, username, password) is False
