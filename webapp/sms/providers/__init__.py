"""The gateway interface: what the dispatcher hands a provider, and what a send can come back as.

Outcomes of one send, and what the dispatcher does with each:

- `Accepted`  the gateway took the message (state `sent`, keep `provider_message_id`).
- `Rejected`  permanent refusal; never retry. `reason` is one of `REASONS`; the ones in
  `ACCOUNT_REASONS` concern our account, not the recipient, so every later send will fail too.
- `Transient` nothing was sent, or the gateway asked us to come back later: retry with backoff.
- `Unknown`   the request may have reached the gateway and we cannot tell: never retry blindly
  (state `unknown`, settled later by a lookup).

`send` never raises for network or gateway trouble; it returns one of the above.

An `unknown` message is later looked up (`lookup`, see webapp/sms/reconcile.py), with one outcome
per message:

- `Found`        the gateway holds it: record its state (and the gateway's id).
- `NotFound`     the gateway has no such message. SMS Central (`same_reference_is_refused`) may
  then send it again with the same REFERENCE; Twilio only once it has stayed absent long enough.
- `LookupFailed` we could not ask, or could not tell: ask again later.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import ssl
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, get_args, runtime_checkable

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, SSLError

Reason = Literal[
    "failed",  # the gateway refused the message for another reason; its text says why
    "blocked",  # the gateway will not deliver to this destination (blacklist, region, route)
    "opted_out",  # the recipient unsubscribed at the gateway (replied STOP)
    "invalid_number",  # not a valid, SMS-capable mobile number
    "no_credit",  # our account has no credit left
    "bad_credentials",  # the gateway refused our username/password or token
    "bad_originator",  # the sender id / From number is not allowed
    "account_expired",  # our gateway account has expired or is disabled
]
REASONS: frozenset[str] = frozenset(get_args(Reason))
ACCOUNT_REASONS: frozenset[str] = frozenset(
    {"no_credit", "bad_credentials", "bad_originator", "account_expired"}
)

ReceiptState = Literal["sent", "delivered", "undelivered", "failed"]

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 20.0)
LOOKUP_TIMEOUT: tuple[float, float] = (5.0, 10.0)  # a lookup runs in the loop's own thread
DEFAULT_POOL_SIZE = 16


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """What the dispatcher hands a provider."""

    uuid: str  # our message id, sent as the gateway reference so a resend is recognised
    to_e164: str  # "+61412345678"
    body: str
    status_callback_url: str | None = None  # Twilio only; built from PUBLIC_BASE_URL


@dataclass(frozen=True, slots=True)
class SendResult:
    """Base of the four outcomes of a send."""


@dataclass(frozen=True, slots=True)
class Accepted(SendResult):
    provider_message_id: str | None


@dataclass(frozen=True, slots=True)
class Rejected(SendResult):
    code: str  # the gateway's code, e.g. "534" or "21610"
    text: str  # the human meaning, shown to the user
    reason: Reason


@dataclass(frozen=True, slots=True)
class Transient(SendResult):
    code: str
    text: str
    retry_after: float | None = None  # seconds, when the gateway said how long to wait


@dataclass(frozen=True, slots=True)
class Unknown(SendResult):
    text: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt parsed from a gateway webhook."""

    reference: str | None  # our uuid, when the gateway echoes it
    provider_message_id: str | None
    state: ReceiptState
    error_code: str | None = None
    error_text: str | None = None


@dataclass(frozen=True, slots=True)
class Enquiry:
    """An `unknown` message to look up at the gateway."""

    uuid: str  # ours; the key of the answer
    reference: str  # what the gateway knows it by (SMS Central's REFERENCE)
    to_e164: str
    body: str
    since: datetime  # no attempt to send it began before this (aware, UTC)


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Base of the three outcomes of a lookup."""


@dataclass(frozen=True, slots=True)
class Found(LookupResult):
    state: ReceiptState
    provider_message_id: str | None = None
    error_code: str | None = None
    error_text: str | None = None


@dataclass(frozen=True, slots=True)
class NotFound(LookupResult):
    pass


@dataclass(frozen=True, slots=True)
class LookupFailed(LookupResult):
    text: str


@runtime_checkable
class Provider(Protocol):
    name: str

    def send(self, message: OutboundSms) -> SendResult: ...

    def lookup(
        self, enquiries: Sequence[Enquiry], taken: Collection[str] = ()
    ) -> dict[str, LookupResult]:
        """What the gateway knows of each message, by uuid; never raises for network trouble.

        `taken`: gateway ids already recorded on our other messages, never to be matched again.
        """
        ...

    def close(self) -> None: ...


def make_session(pool_size: int = DEFAULT_POOL_SIZE) -> requests.Session:
    """A pooled session for one provider, shared by the dispatcher's worker threads."""
    session = requests.Session()
    # max_retries=0: urllib3 must never resend a POST on its own; deciding to retry is ours.
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # Worker threads share the session; a cookie jar would be shared mutable state, and
    # neither API uses cookies.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    session.headers["User-Agent"] = "sms-desk"
    return session


def post_form(
    session: requests.Session,
    url: str,
    data: Mapping[str, str],
    *,
    timeout: tuple[float, float],
    gateway: str,
    auth: tuple[str, str] | None = None,
) -> requests.Response | SendResult:
    """POST a form; a transport failure comes back as the `SendResult` it amounts to."""
    try:
        return session.post(url, data=data, auth=auth, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return transport_failure(exc, gateway)


def transport_failure(exc: requests.RequestException, gateway: str) -> SendResult:
    """Transient when the request cannot have left us; Unknown when it may have been sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return Transient("connect_timeout", f"Could not connect to {gateway} in time.")
    if isinstance(exc, requests.ConnectionError):
        # requests raises ConnectionError both for a refused connection (nothing sent) and for a
        # connection dropped after the request was written (maybe sent); urllib3 tells them apart.
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, MaxRetryError):
            cause = cause.reason
        if isinstance(cause, (NewConnectionError, ConnectTimeoutError)):
            return Transient("connect_error", f"Could not connect to {gateway}.")
        if isinstance(cause, SSLError) and isinstance(
            cause.args[0] if cause.args else None, ssl.SSLCertVerificationError
        ):
            # Verification happens in the handshake, before a byte of the request is sent.
            return Transient("certificate", f"{gateway}'s TLS certificate was not accepted.")
        return Unknown(
            f"The connection to {gateway} was lost after the message was handed over; "
            "it may or may not have been sent."
        )
    if isinstance(exc, requests.ReadTimeout):
        return Unknown(
            f"{gateway} did not answer in time; the message may or may not have been sent."
        )
    return Unknown(
        f"Sending through {gateway} failed ({type(exc).__name__}); "
        "the message may or may not have been sent."
    )


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), if any."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def check_base_url(url: str, setting: str) -> str:
    """Reject a URL requests could not even try, so `send` never fails on configuration."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{setting} must be an http:// or https:// URL, not {url!r}.")
    return url
