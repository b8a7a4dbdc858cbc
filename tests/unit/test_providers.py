"""The gateway interface, the sandbox provider and the factory that builds providers from config."""

from __future__ import annotations

import ast
import dataclasses
import email.utils
import ssl
import time
from pathlib import Path

import pytest
import urllib3

from webapp.sms.providers import (
    ACCOUNT_REASONS,
    REASONS,
    Accepted,
    OutboundSms,
    Provider,
    Rejected,
    SendResult,
    Transient,
    Unknown,
    retry_after,
    smscentral,
    transport_failure,
    twilio,
)
from webapp.sms.providers.factory import make_provider
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.providers.smscentral import SmsCentral
from webapp.sms.providers.twilio import Twilio

PROVIDERS = Path(__file__).parents[2] / "webapp" / "sms" / "providers"

SMSCENTRAL = {
    "SMS_PROVIDER": "smscentral",
    "SMSCENTRAL_API_URL": "https://my.smscentral.com.au/api/v3.2",
    "SMSCENTRAL_USERNAME": "desk",
    "SMSCENTRAL_PASSWORD": "s3cret",
    "SMSCENTRAL_ORIGINATOR": "SMSDesk",
    "DISPATCH_CONCURRENCY": 8,
}
TWILIO = {
    "SMS_PROVIDER": "twilio",
    "TWILIO_API_BASE": "https://api.twilio.com",
    "TWILIO_ACCOUNT_SID": "AC123",
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM": "+61480000000",
    "TWILIO_MESSAGING_SERVICE_SID": "",
}


def sms(to: str) -> OutboundSms:
    return OutboundSms(uuid="u-1", to_e164=to, body="Hello")


def test_results_are_frozen_send_results():
    for result in (Accepted("x"), Rejected("1", "t", "failed"), Transient("1", "t"), Unknown("t")):
        assert isinstance(result, SendResult)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, result.__match_args__[0], "changed")


def test_every_mapped_reason_is_documented():
    mapped = {reason for reason, _ in smscentral.PERMANENT_CODES.values()}
    mapped |= {reason for reason, _ in twilio.PERMANENT_CODES.values()}
    assert mapped <= REASONS
    assert ACCOUNT_REASONS <= REASONS


def test_the_gateway_layer_imports_nothing_from_flask():
    for module in PROVIDERS.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in {"flask", "werkzeug"} for n in names), module.name


def test_retry_after():
    assert retry_after({"Retry-After": "12"}) == 12.0
    assert retry_after({}) is None
    assert retry_after({"Retry-After": "soon"}) is None
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    assert 100 < retry_after({"Retry-After": later}) <= 120
    assert retry_after({"Retry-After": email.utils.formatdate(0, usegmt=True)}) == 0.0


def test_sandbox_rule():
    sandbox = Sandbox()
    assert isinstance(sandbox, Provider)
    assert sandbox.send(sms("+61412345678")) == Accepted("sandbox-u-1")
    rejected = sandbox.send(sms("+61412340000"))
    assert isinstance(rejected, Rejected) and rejected.reason == "failed"
    assert rejected.text == "Sandbox: numbers ending 0000 are rejected"
    assert sandbox.send(sms("+61412349999")) == Unknown("Sandbox: numbers ending 9999 time out")
    sandbox.close()


@pytest.mark.parametrize("config", [{}, {"SMS_PROVIDER": "sandbox"}, {"SMS_PROVIDER": ""}])
def test_factory_defaults_to_the_sandbox(config):
    assert isinstance(make_provider(config), Sandbox)


def test_factory_builds_sms_central_with_a_pool_per_worker():
    provider = make_provider(SMSCENTRAL)
    try:
        assert isinstance(provider, SmsCentral)
        assert (provider.api_url, provider.username, provider.originator) == (
            "https://my.smscentral.com.au/api/v3.2",
            "desk",
            "SMSDesk",
        )
        assert provider._session.manager.connection_pool_kw["maxsize"] == 8
    finally:
        provider.close()


def test_factory_builds_twilio():
    provider = make_provider(TWILIO)
    try:
        assert isinstance(provider, Twilio)
        assert provider.messages_url == (
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
        )
        assert (provider.from_number, provider.messaging_service_sid) == ("+61480000000", None)
    finally:
        provider.close()


@pytest.mark.parametrize(
    ("base", "missing"),
    [
        (SMSCENTRAL, "SMSCENTRAL_USERNAME"),
        (SMSCENTRAL, "SMSCENTRAL_PASSWORD"),
        (SMSCENTRAL, "SMSCENTRAL_ORIGINATOR"),
        (TWILIO, "TWILIO_ACCOUNT_SID"),
        (TWILIO, "TWILIO_AUTH_TOKEN"),
    ],
)
def test_factory_names_the_missing_setting(base, missing):
    with pytest.raises(ValueError, match=missing):
        make_provider({**base, missing: "  "})


def test_factory_needs_a_twilio_sender():
    with pytest.raises(ValueError, match="TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"):
        make_provider({**TWILIO, "TWILIO_FROM": ""})


def test_factory_rejects_a_bad_url_and_an_unknown_provider():
    with pytest.raises(ValueError, match="SMSCENTRAL_API_URL"):
        make_provider({**SMSCENTRAL, "SMSCENTRAL_API_URL": "my.smscentral.com.au/api/v3.2"})
    with pytest.raises(ValueError, match="SMS_PROVIDER"):
        make_provider({"SMS_PROVIDER": "carrier-pigeon"})


def test_certificate_failure_is_transient_but_other_tls_trouble_is_unknown():
    # Built by hand: a loopback fake with TLS would need a certificate authority for one branch.
    def tls_error(cause: Exception) -> urllib3.exceptions.SSLError:
        return urllib3.exceptions.SSLError(cause)  # as urllib3 raises it, without retries

    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert transport_failure(tls_error(verify), "Twilio") == Transient(
        "certificate", "Twilio's TLS certificate was not accepted."
    )
    mid_stream = tls_error(ssl.SSLError(1, "bad record mac"))
    assert isinstance(transport_failure(mid_stream, "Twilio"), Unknown)
