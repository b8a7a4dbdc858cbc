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
import json
import math
import os
import ssl
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, get_args, runtime_checkable
from urllib.parse import urlencode

import urllib3
from requests.utils import (
    get_auth_from_url,
    get_environ_proxies,
    prepend_scheme_if_needed,
    select_proxy,
)
from urllib3 import BaseHTTPResponse, HTTPConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import parse_url

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


USER_AGENT = "sms-desk"
FORM = "application/x-www-form-urlencoded"

# urllib3 used directly, not through `requests`: its sessions, hooks, cookie jars and header
# merging cost more CPU per message than the rest of a send (issue #22). What requests did for
# us is done here: the same CA bundle and proxy variables, never a retry, never a redirect.
ROUTES = 8  # fixed gateway URLs (send, status check) whose pool is looked up once


class Http:
    """One provider's connections, pooled per gateway host and shared by the worker threads."""

    def __init__(self, pool_size: int = DEFAULT_POOL_SIZE, url: str | None = None) -> None:
        options: dict[str, Any] = {
            "maxsize": max(pool_size, 1),
            # Never resend on our own: a POST that may have left is `unknown`, not sent twice.
            "retries": False,
            **_ca_options(),
        }
        # `url`: the gateway's, sent through the proxy the environment names for it, as
        # requests did (HTTPS_PROXY, ALL_PROXY, NO_PROXY with its address ranges, credentials
        # in the proxy's URL): worked out once, with requests' own functions.
        proxy = select_proxy(url, get_environ_proxies(url)) if url else None
        # More pools than ROUTES, so a remembered pool is never evicted (closed) while in use.
        self.manager: urllib3.PoolManager = (
            urllib3.ProxyManager(
                prepend_scheme_if_needed(proxy, "http"),
                proxy_headers=_proxy_headers(proxy),
                num_pools=2 * ROUTES,
                **options,
            )
            if proxy
            else urllib3.PoolManager(num_pools=2 * ROUTES, **options)
        )
        self._direct = proxy is None
        self._routes: dict[str, tuple[HTTPConnectionPool, str]] = {}

    def urlopen(
        self, method: str, url: str, *, remember: bool = False, **options: Any
    ) -> BaseHTTPResponse:
        """One request, never redirected. `remember`: a fixed URL, whose pool is looked up once
        (parsing the URL and finding its pool is a fair part of a send's CPU)."""
        if not self._direct:
            return self.manager.urlopen(method, url, redirect=False, **options)
        route = self._routes.get(url)
        if route is None:
            parsed = parse_url(url)
            pool = self.manager.connection_from_host(parsed.host, parsed.port, parsed.scheme)
            route = (pool, parsed.request_uri)
            if remember and len(self._routes) < ROUTES:
                self._routes[url] = route
        pool, path = route
        return pool.urlopen(method, path, redirect=False, assert_same_host=False, **options)

    def close(self) -> None:
        self._routes.clear()
        self.manager.clear()


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A gateway's answer, read in full (so its connection is back in the pool)."""

    status_code: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError if it is not."""
        return json.loads(self.content)


def make_session(pool_size: int = DEFAULT_POOL_SIZE, url: str | None = None) -> Http:
    """A connection pool for one provider (for `url`'s host), shared by the worker threads."""
    return Http(pool_size, url)


def _ca_options() -> dict[str, str]:
    """The CAs requests trusted: its environment overrides (a file or a folder), else certifi's
    bundle; a path that does not exist is refused here rather than failing every send."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        if os.path.isdir(bundle):
            return {"ca_cert_dir": bundle}
        if not os.path.isfile(bundle):
            raise ValueError(f"The CA bundle {bundle!r} (REQUESTS_CA_BUNDLE) does not exist.")
        return {"ca_certs": bundle}
    try:
        import certifi
    except ImportError:  # the system's store, as for email
        return {}
    return {"ca_certs": certifi.where()}


def _proxy_headers(proxy: str) -> dict[str, str]:
    """Basic credentials for a proxy whose URL holds them, as requests sent them."""
    username, password = get_auth_from_url(prepend_scheme_if_needed(proxy, "http"))
    if not username:
        return {}
    return urllib3.make_headers(proxy_basic_auth=f"{username}:{password}")


def basic_auth(username: str, password: str) -> str:
    """An Authorization header value, encoded as requests did (latin-1)."""
    return urllib3.make_headers(basic_auth=f"{username}:{password}")["authorization"]


def http_call(
    session: Http,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float],
    body: str | None = None,
    authorization: str | None = None,
    remember: bool = False,
) -> HttpAnswer:
    """One request, no retry and no redirect; raises urllib3's errors (see transport_failure)."""
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    if body is not None:
        headers["Content-Type"] = FORM
    if authorization:
        headers["Authorization"] = authorization
    response = session.urlopen(
        method,
        url,
        body=body.encode() if body is not None else None,
        headers=headers,
        retries=False,
        remember=remember,
        timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
    )
    return HttpAnswer(response.status, response.headers, response.data)


def post_form(
    session: Http,
    url: str,
    data: Mapping[str, str] | str,
    *,
    timeout: tuple[float, float],
    gateway: str,
    authorization: str | None = None,
) -> HttpAnswer | SendResult:
    """POST a form (or one already encoded); a transport failure comes back as the `SendResult`
    it amounts to."""
    body = data if isinstance(data, str) else urlencode(data)
    try:
        return http_call(
            session,
            "POST",
            url,
            timeout=timeout,
            body=body,
            authorization=authorization,
            remember=True,
        )
    except (HTTPError, OSError) as exc:
        return transport_failure(exc, gateway)


def transport_failure(exc: Exception, gateway: str) -> SendResult:
    """Transient when the request cannot have left us; Unknown when it may have been sent."""
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        exc = exc.reason  # should a Retry ever wrap it: what happened is the reason
    # NewConnectionError (refused, no route, no such host) is a ConnectTimeoutError too.
    if isinstance(exc, NewConnectionError):
        return Transient("connect_error", f"Could not connect to {gateway}.")
    if isinstance(exc, ProxyError):
        # urllib3 raises it only before the proxy (or its tunnel) was reached: nothing was sent.
        return Transient("proxy", f"Could not reach {gateway} through the proxy.")
    if isinstance(exc, ConnectTimeoutError):
        return Transient("connect_timeout", f"Could not connect to {gateway} in time.")
    if isinstance(exc, SSLError) and isinstance(
        exc.args[0] if exc.args else None, ssl.SSLCertVerificationError
    ):
        # Verification happens in the handshake, before a byte of the request is sent.
        return Transient("certificate", f"{gateway}'s TLS certificate was not accepted.")
    if isinstance(exc, ReadTimeoutError):
        return Unknown(
            f"{gateway} did not answer in time; the message may or may not have been sent."
        )
    if isinstance(exc, (ProtocolError, SSLError, OSError)):
        # A connection dropped after the request was written, TLS trouble mid-stream: it may
        # have been sent.
        return Unknown(
            f"The connection to {gateway} was lost after the message was handed over; "
            "it may or may not have been sent."
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
        seconds = float(value)
    except ValueError:
        pass
    else:
        # float() also reads "nan" and "inf" (and "1e999" as inf): no wait a clock can add.
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def check_base_url(url: str, setting: str) -> str:
    """Reject a URL we could not even try, so `send` never fails on configuration."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{setting} must be an http:// or https:// URL, not {url!r}.")
    return url
