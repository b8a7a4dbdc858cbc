"""The Twilio Programmable Messaging gateway: send, look up, read status callbacks, check
signatures."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

from urllib3.exceptions import HTTPError

from . import (
    DEFAULT_POOL_SIZE,
    DEFAULT_TIMEOUT,
    LOOKUP_TIMEOUT,
    Accepted,
    Enquiry,
    Found,
    HttpAnswer,
    LookupFailed,
    LookupResult,
    NotFound,
    OutboundSms,
    Reason,
    Receipt,
    ReceiptState,
    Rejected,
    SendResult,
    Transient,
    Unknown,
    basic_auth,
    check_base_url,
    http_call,
    make_session,
    post_form,
    retry_after,
)

GATEWAY = "Twilio"

PERMANENT_CODES: dict[str, tuple[Reason, str]] = {
    # 21610: the recipient replied STOP to this sender; the dispatcher records the opt-out.
    "21610": ("opted_out", "The recipient has unsubscribed (replied STOP) from this sender."),
    "21408": ("blocked", "Sending to this region is not enabled on the Twilio account."),
    "21612": ("blocked", "Twilio cannot send from this sender to this number."),
    "21211": ("invalid_number", "Twilio says this is not a valid phone number."),
    "21614": ("invalid_number", "This number cannot receive SMS."),
    "21635": ("invalid_number", "This number is a landline."),
    "20003": ("bad_credentials", "Twilio did not accept the Account SID or Auth Token."),
}

TRANSIENT_CODES: dict[str, str] = {
    "20429": "Twilio is rate limiting us.",
    "21611": "The sender's Twilio queue is full.",
    "30001": "Twilio's queue overflowed.",
}

# Meanings of the delivery errors a status callback reports most often.
DELIVERY_ERRORS: dict[str, str] = {
    "30003": "The handset is unreachable.",
    "30004": "The message was blocked.",
    "30005": "The number is unknown or no longer exists.",
    "30006": "The number is a landline or its carrier is unreachable.",
    "30007": "The carrier filtered the message.",
    "30008": "Unknown delivery error.",
    **{code: meaning for code, (_, meaning) in PERMANENT_CODES.items()},
}

CALLBACK_STATES: dict[str, ReceiptState] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
# Statuses before `sent`: our message is already `sending`, so there is nothing to apply.
IN_FLIGHT = frozenset({"queued", "accepted", "scheduled", "sending"})

Params = Mapping[str, str] | Iterable[tuple[str, str]]

LOOKUP_PAGE_SIZE = 100
LOOKUP_PAGES = 5  # pages read per number before giving up on telling (500 messages to one person)
CLOCK_SKEW = timedelta(minutes=5)  # Twilio's clock against ours, when comparing date_created


class Twilio:
    """Sends through Twilio's Messages resource, from a number or a Messaging Service."""

    name = "twilio"
    # One list request per number, in the worker loop's own thread: a few per step.
    lookup_limit = 10

    def __init__(
        self,
        api_base: str,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        validity_period: int | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        lookup_timeout: tuple[float, float] = LOOKUP_TIMEOUT,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ValueError("Twilio needs a From number or a Messaging Service SID.")
        base = check_base_url(api_base, "TWILIO_API_BASE").rstrip("/")
        account = quote(account_sid, safe="")
        self.messages_url = f"{base}/2010-04-01/Accounts/{account}/Messages.json"
        self.api_base = base
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.validity_period = validity_period
        self.timeout = timeout
        self.lookup_timeout = lookup_timeout
        self._authorization = basic_auth(account_sid, auth_token)
        self._session = make_session(pool_size, base)

    def send(self, message: OutboundSms) -> SendResult:
        form = {"To": message.to_e164, "Body": message.body}
        # With a Messaging Service, Twilio picks the sender from the service's pool.
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.from_number or ""
        if message.status_callback_url:
            form["StatusCallback"] = message.status_callback_url
        if self.validity_period:
            form["ValidityPeriod"] = str(self.validity_period)
        response = post_form(
            self._session,
            self.messages_url,
            form,
            timeout=self.timeout,
            gateway=GATEWAY,
            authorization=self._authorization,
        )
        if isinstance(response, SendResult):
            return response
        return interpret_response(response)

    def lookup(
        self, enquiries: Sequence[Enquiry], taken: Collection[str] = ()
    ) -> dict[str, LookupResult]:
        """Find each message in Twilio's list of messages to its number, created since its `since`.

        Twilio takes no reference, and the resource does not echo the StatusCallback URL that
        carries our uuid, so a message is matched by number, text and time. Not filtered by
        DateSent: that stays empty while the message waits in Twilio's queue, and a queued
        message would then look never created.
        """
        results: dict[str, LookupResult] = {}
        used = set(taken)
        by_number: dict[str, list[Enquiry]] = {}
        for enquiry in enquiries:
            by_number.setdefault(enquiry.to_e164, []).append(enquiry)
        failed: LookupFailed | None = None
        for number, group in by_number.items():
            # Oldest first, so each takes the earliest unclaimed match, as they were sent.
            group.sort(key=lambda e: e.since)
            # Once Twilio could not be asked, the other numbers wait for the next step too.
            listed = failed or self._list_to(number, min(e.since for e in group) - CLOCK_SKEW)
            if isinstance(listed, LookupFailed):
                failed = listed
            for enquiry in group:
                if isinstance(listed, LookupFailed):
                    results[enquiry.uuid] = listed
                    continue
                match = _match(listed, enquiry, used)
                if match is None:
                    results[enquiry.uuid] = NotFound()
                    continue
                used.add(match["sid"])
                results[enquiry.uuid] = _found(match)
        return results

    def _list_to(self, number: str, since: datetime) -> list[dict[str, Any]] | LookupFailed:
        """Outbound messages to `number` created since `since`, newest first."""
        query = urlencode({"To": number, "PageSize": str(LOOKUP_PAGE_SIZE)})
        url = f"{self.messages_url}?{query}"
        listed: list[dict[str, Any]] = []
        for _ in range(LOOKUP_PAGES):
            try:
                response = http_call(
                    self._session,
                    "GET",
                    url,
                    timeout=self.lookup_timeout,
                    authorization=self._authorization,
                )
            except (HTTPError, OSError) as error:
                return LookupFailed(f"Could not list Twilio's messages ({type(error).__name__}).")
            if response.status_code != 200:
                return LookupFailed(
                    f"Twilio answered HTTP {response.status_code} to the message list."
                )
            page = _json(response)
            messages = page.get("messages")
            if not isinstance(messages, list):
                return LookupFailed("Twilio's message list had no messages field.")
            listed += [m for m in messages if isinstance(m, dict)]
            created = [_created(m) for m in messages if isinstance(m, dict)]
            next_page = page.get("next_page_uri")
            if not next_page or (created and all(c is not None and c < since for c in created)):
                return [m for m in listed if (_created(m) or since) >= since]
            url = self.api_base + str(next_page)
        return LookupFailed(
            f"Over {LOOKUP_PAGES * LOOKUP_PAGE_SIZE} recent messages to one number; "
            "cannot tell which is ours."
        )

    def close(self) -> None:
        self._session.close()


def _created(message: Mapping[str, Any]) -> datetime | None:
    """date_created (RFC 2822, e.g. "Mon, 30 Nov 2026 09:00:00 +0000"), aware; None if
    unreadable."""
    try:
        created = email.utils.parsedate_to_datetime(str(message.get("date_created") or ""))
    except (TypeError, ValueError):
        return None
    return created if created.tzinfo is not None else created.replace(tzinfo=UTC)


def _match(listed: list[dict[str, Any]], enquiry: Enquiry, used: set[str]) -> dict[str, Any] | None:
    """The earliest listed message that can be this one: outbound, to its number, its text,
    created since it was queued, and not already recorded on another of our messages."""
    candidates = []
    for message in listed:
        sid = message.get("sid")
        if not isinstance(sid, str) or sid in used or message.get("to") != enquiry.to_e164:
            continue
        if not str(message.get("direction") or "outbound").startswith("outbound"):
            continue
        callback = _callback_uuid(message)
        if callback is not None:
            if callback != enquiry.uuid:
                continue
        elif not _same_text(str(message.get("body") or ""), enquiry.body):
            continue
        created = _created(message)
        if created is not None and created < enquiry.since - CLOCK_SKEW:
            continue
        candidates.append((created or enquiry.since, message))
    return min(candidates, key=lambda pair: pair[0])[1] if candidates else None


def _callback_uuid(message: Mapping[str, Any]) -> str | None:
    """Our uuid from a status_callback field, should the resource carry one
    (ours puts it in ?m=)."""
    url = message.get("status_callback")
    if not isinstance(url, str) or not url:
        return None
    values = parse_qs(urlsplit(url).query).get("m")
    return values[0] if values else None


_WORD = re.compile(r"[^0-9A-Za-z]+")


def _same_text(listed: str, ours: str) -> bool:
    """Equal, or equal in letters and digits: Twilio's Smart Encoding may have replaced curly
    quotes, dashes or ellipses before it stored the body."""
    return listed == ours or (_WORD.sub("", listed) == _WORD.sub("", ours) != "")


def _found(message: Mapping[str, Any]) -> Found:
    status = str(message.get("status") or "").strip().lower()
    # Created but not yet past `sent` (queued, accepted, scheduled, sending): it will go.
    state = CALLBACK_STATES.get(status, "sent")
    error_code = str(message["error_code"]) if message.get("error_code") not in (None, "") else None
    failed = state in ("undelivered", "failed")
    return Found(
        state,
        str(message["sid"]),
        error_code=error_code if failed else None,
        error_text=(
            DELIVERY_ERRORS.get(error_code or "") or str(message.get("error_message") or "") or None
        )
        if failed
        else None,
    )


def interpret_response(response: HttpAnswer) -> SendResult:
    """Map Twilio's answer (201 with a Message, or an error JSON) to a send result."""
    status = response.status_code
    payload = _json(response)
    if 200 <= status < 300:
        sid = payload.get("sid")
        if isinstance(sid, str) and sid:
            return Accepted(sid)
        if status == 201:
            # Created, so it will be sent; receipts still find it by the callback URL's uuid.
            return Accepted(None)
        return Unknown(f"Twilio answered HTTP {status} without a message id.")
    code = str(payload["code"]) if payload.get("code") is not None else ""
    twilio_text = str(payload.get("message") or "").strip()
    if code in PERMANENT_CODES:
        reason, meaning = PERMANENT_CODES[code]
        return Rejected(code, meaning, reason)
    if status in (502, 504) and code not in TRANSIENT_CODES:
        # An edge proxy timing out: Twilio may have created the message behind it, and it has no
        # idempotency key, so a retry could send it twice.
        return Unknown(f"Twilio answered HTTP {status}; the message may or may not have been sent.")
    if status == 429 or status >= 500 or code in TRANSIENT_CODES:
        text = TRANSIENT_CODES.get(code) or twilio_text or f"Twilio answered HTTP {status}."
        return Transient(code or f"http_{status}", text, retry_after(response.headers))
    if status == 401:
        return Rejected(code or "http_401", PERMANENT_CODES["20003"][1], "bad_credentials")
    if 400 <= status < 500:
        text = twilio_text or f"Twilio refused the message (HTTP {status})."
        return Rejected(code or f"http_{status}", text, "failed")
    return Unknown(f"Twilio answered HTTP {status}, which we do not understand.")


def _json(response: HttpAnswer) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def means_opted_out(error_code: str | None) -> bool:
    """Whether an error code (a status callback's ErrorCode) says the recipient unsubscribed
    (21610), as the same code answering a send does (a Rejected with reason "opted_out")."""
    meaning = PERMANENT_CODES.get(error_code or "")
    return meaning is not None and meaning[0] == "opted_out"


def parse_status_callback(form: Mapping[str, str], reference: str | None = None) -> Receipt | None:
    """Read a status callback; None for statuses before `sent` (nothing to apply).

    Twilio does not echo our uuid in the form: pass `reference` from the callback URL, where
    the dispatcher put it. Raises ValueError for a status we do not know.
    """
    status = (form.get("MessageStatus") or "").strip().lower()
    if status in IN_FLIGHT:
        return None
    state = CALLBACK_STATES.get(status)
    if state is None:
        raise ValueError(f"Unknown Twilio MessageStatus {status!r}.")
    error_code = (form.get("ErrorCode") or "").strip() or None
    return Receipt(
        reference=reference,
        provider_message_id=(form.get("MessageSid") or "").strip() or None,
        state=state,
        error_code=error_code,
        error_text=DELIVERY_ERRORS.get(error_code or ""),
    )


def signature(auth_token: str, url: str, params: Params) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + name+value of each sorted parameter))."""
    signed = url + "".join(name + value for name, value in sorted(_pairs(params)))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid_signature(auth_token: str, url: str, params: Params, header_value: str | None) -> bool:
    """Whether `header_value` signs this URL and every received parameter.

    `params` is a mapping, a list of (name, value) pairs, or a multi-dict with `getlist`
    (a repeated name signs all its values, sorted). Like Twilio's own validator, the URL is
    also tried without its port and with the scheme's default port, as proxies differ.
    """
    if not auth_token or not header_value:
        return False
    pairs = _pairs(params)
    given = header_value.strip().encode()
    return any(
        hmac.compare_digest(signature(auth_token, candidate, pairs).encode(), given)
        for candidate in _url_variants(url)
    )


def _pairs(params: Params) -> list[tuple[str, str]]:
    getlist = getattr(params, "getlist", None)
    if callable(getlist):
        return [(name, value) for name in params for value in getlist(name)]
    if isinstance(params, Mapping):
        return list(params.items())
    return list(params)


def _url_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    if port is not None:
        return [url, urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))]
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))]
