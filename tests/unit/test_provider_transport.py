"""The gateways' HTTP transport (urllib3 used directly): failures, redirects, retries, headers."""

from __future__ import annotations

import ssl
from contextlib import closing

import pytest
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from tests.fakes import FakeSmsCentral, FakeTwilio, http_status
from webapp.sms.providers import Accepted, OutboundSms, Transient, Unknown, transport_failure
from webapp.sms.providers.smscentral import SmsCentral
from webapp.sms.providers.twilio import Twilio

POOL = urllib3.HTTPConnectionPool("gateway.example")


@pytest.fixture
def gateway():
    with FakeSmsCentral() as fake:
        yield fake


@pytest.fixture
def provider(gateway):
    with closing(SmsCentral(gateway.api_url, "desk", "s3cret", "SMSDesk")) as provider:
        yield provider


def sms(text: str = "Hello Ada", uuid: str = "u-1") -> OutboundSms:
    return OutboundSms(uuid=uuid, to_e164="+61412345678", body=text)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            NewConnectionError(None, "refused"),
            Transient("connect_error", "Could not connect to G."),
        ),
        (
            ConnectTimeoutError(None, "timed out"),
            Transient("connect_timeout", "Could not connect to G in time."),
        ),
        (
            SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed")),
            Transient("certificate", "G's TLS certificate was not accepted."),
        ),
        (
            ReadTimeoutError(POOL, "/", "read timed out"),
            Unknown("G did not answer in time; the message may or may not have been sent."),
        ),
        (
            ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
            Unknown(
                "The connection to G was lost after the message was handed over; "
                "it may or may not have been sent."
            ),
        ),
        (
            SSLError(ssl.SSLError(1, "bad record mac")),
            Unknown(
                "The connection to G was lost after the message was handed over; "
                "it may or may not have been sent."
            ),
        ),
        (
            ProxyError("Unable to connect to proxy", OSError("refused")),
            Transient("proxy", "Could not reach G through the proxy."),
        ),
        (
            DecodeError("bad gzip"),
            Unknown(
                "Sending through G failed (DecodeError); the message may or may not have been sent."
            ),
        ),
    ],
)
def test_urllib3s_errors_are_transient_only_when_nothing_can_have_left(error, expected):
    assert transport_failure(error, "G") == expected


def test_a_redirect_is_not_followed(provider, gateway):
    gateway.inject(http_status(302, "", {"Location": gateway.api_url}))
    result = provider.send(sms())
    assert isinstance(result, Transient) and result.code == "http_302"
    assert len(gateway.requests) == 1


def test_a_503_with_retry_after_is_answered_not_retried_by_the_client(provider, gateway):
    gateway.inject(http_status(503, "", {"Retry-After": "1"}))
    result = provider.send(sms())
    assert isinstance(result, Transient) and result.retry_after == 1.0
    assert len(gateway.requests) == 1


def test_requests_say_who_sends_them_and_never_carry_a_cookie(provider, gateway):
    gateway.inject(http_status(200, "0", {"Set-Cookie": "session=abc; Path=/"}))
    assert provider.send(sms(uuid="u-1")) == Accepted(None)
    assert provider.send(sms(uuid="u-2")) == Accepted(None)
    first, second = gateway.requests
    assert first.headers["User-Agent"] == second.headers["User-Agent"] == "sms-desk"
    assert second.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert second.headers.get("Cookie") is None


def test_the_form_carries_any_text_unchanged(provider, gateway):
    text = "Café & co: 100% = sure? +1\nNext line ✓"
    assert provider.send(sms(text)) == Accepted(None)
    assert gateway.messages[0]["MESSAGE_TEXT"] == text
    assert gateway.messages[0]["USERNAME"] == "desk"


def test_the_proxy_the_environment_names_is_used(gateway, monkeypatch):
    # The fake answers absolute-form requests too, so it stands in for the proxy.
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", gateway.url)
    with closing(
        SmsCentral("http://smscentral.invalid/api/v3.2", "desk", "s3cret", "SMSDesk")
    ) as provider:
        assert provider.send(sms()) == Accepted(None)
    assert [r.path for r in gateway.requests] == ["/api/v3.2"]


def test_twilio_sends_basic_auth_on_every_request():
    with FakeTwilio() as fake:
        provider = Twilio(fake.url, fake.account_sid, fake.auth_token, from_number="+61480000000")
        with closing(provider):
            assert isinstance(provider.send(sms(uuid="u-1")), Accepted)
            assert isinstance(provider.send(sms(uuid="u-2")), Accepted)
        assert len(fake.requests) == 2
        assert len({r.headers["Authorization"] for r in fake.requests}) == 1


def no_proxy_settings(monkeypatch) -> None:
    for name in ("no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_credentials_in_the_proxys_url_go_with_each_request(gateway, monkeypatch):
    no_proxy_settings(monkeypatch)
    # As requests read it: the credentials percent-encoded in the URL.
    monkeypatch.setenv("http_proxy", gateway.url.replace("http://", "http://relay:p%40ss@"))
    with closing(
        SmsCentral("http://smscentral.invalid/api/v3.2", "desk", "s3cret", "SMSDesk")
    ) as provider:
        assert provider.send(sms()) == Accepted(None)
    expected = urllib3.make_headers(proxy_basic_auth="relay:p@ss")["proxy-authorization"]
    assert gateway.requests[0].headers["Proxy-Authorization"] == expected


def test_all_proxy_is_used_and_no_proxy_address_ranges_are_honoured(gateway, monkeypatch):
    no_proxy_settings(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", gateway.url.removeprefix("http://"))  # no scheme: http
    with closing(
        SmsCentral("http://smscentral.invalid/api/v3.2", "desk", "s3cret", "SMSDesk")
    ) as provider:
        assert provider.send(sms()) == Accepted(None)
    assert [r.path for r in gateway.requests] == ["/api/v3.2"]

    # The gateway itself is on 127.0.0.1: a range that holds it goes direct, past the proxy.
    monkeypatch.setenv("ALL_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.0/8")
    with closing(SmsCentral(gateway.api_url, "desk", "s3cret", "SMSDesk")) as provider:
        assert provider.send(sms(uuid="u-2")) == Accepted(None)


def test_a_ca_folder_is_used_as_a_folder_and_a_missing_bundle_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))
    with closing(SmsCentral("https://gateway.example/api", "d", "s", "O")) as provider:
        options = provider._session.manager.connection_pool_kw
        assert (options.get("ca_cert_dir"), options.get("ca_certs")) == (str(tmp_path), None)

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="does not exist"):
        SmsCentral("https://gateway.example/api", "d", "s", "O")
