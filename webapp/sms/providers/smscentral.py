"""The SMS Central HTTP API v3.2 gateway: send, look up by reference, read receipt pushes."""

from __future__ import annotations

import hmac
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Collection, Mapping, Sequence
from urllib.parse import urlencode

from . import (
    DEFAULT_POOL_SIZE,
    DEFAULT_TIMEOUT,
    LOOKUP_TIMEOUT,
    Accepted,
    Enquiry,
    Found,
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
    check_base_url,
    make_session,
    post_form,
    retry_after,
)

GATEWAY = "SMS Central"

# 513 "duplicate REFERENCE": the gateway already holds a message with this uuid, so an earlier
# attempt got through. Treating it as accepted is what makes a resend after `unknown` safe.
DUPLICATE_REFERENCE = "513"

TRANSIENT_CODES: dict[str, str] = {
    "500": "SMS Central had an internal error.",
    "536": "SMS Central is temporarily delaying messages.",
}

PERMANENT_CODES: dict[str, tuple[Reason, str]] = {
    "503": ("account_expired", "The SMS Central account has expired."),
    "511": ("bad_credentials", "SMS Central did not accept the username or password."),
    "514": ("invalid_number", "SMS Central found no recipient number in the request."),
    "519": ("blocked", "The number is on SMS Central's blacklist."),
    "531": ("failed", "The message has no content."),
    "534": ("no_credit", "The SMS Central account has no credit left."),
    "535": ("bad_originator", "SMS Central does not accept the sender (originator)."),
}

RECEIPT_STATES: dict[str, ReceiptState] = {
    # Documented as DELIVERD, seen live as DELIVRD (the SMPP spelling): accept both.
    "DELIVRD": "delivered",
    "DELIVERD": "delivered",
    "ACCEPTD": "sent",
    "BUFFRED": "sent",
    "ENROUTE": "sent",
    "FAILED": "undelivered",
    "UNDELIV": "undelivered",
    "EXPIRED": "undelivered",
    "DELETED": "undelivered",
    "REJECTD": "failed",
}

_ANSWER = re.compile(r"(\d{3})(?:\s+(.*))?", re.DOTALL)

LOOKUP_BATCH = 100  # REFERENCE takes a comma list of up to 100


class SmsCentral:
    """Sends through SMS Central; our message uuid is the REFERENCE, unique per message."""

    name = "smscentral"
    # A repeated REFERENCE is refused (513), so a message the gateway does not hold may be sent
    # again with its reference: if the first one did get through after all, nothing goes twice.
    same_reference_is_refused = True
    lookup_limit = LOOKUP_BATCH  # one status check per step

    def __init__(
        self,
        api_url: str,
        username: str,
        password: str,
        originator: str,
        *,
        status_url: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        lookup_timeout: tuple[float, float] = LOOKUP_TIMEOUT,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.api_url = check_base_url(api_url, "SMSCENTRAL_API_URL")
        # The status check is documented as a POST to "the API URL" with no ACTION.
        self.status_url = check_base_url(status_url or api_url, "SMSCENTRAL_STATUS_URL")
        self.lookup_timeout = lookup_timeout
        self.username = username
        self.password = password
        self.timeout = timeout
        self._session = make_session(pool_size, self.api_url)
        self.originator = originator

    @property
    def originator(self) -> str:
        """The sender ID every send goes out under."""
        return self._originator

    @originator.setter
    def originator(self, value: str) -> None:
        # The worker changes it when the sender ID setting changes, while sends are in flight:
        # each send reads the fields once, and both are swapped whole.
        # The fields every send repeats, encoded once: encoding is a fair part of a send's CPU.
        self._send_fields = urlencode(
            {
                "USERNAME": self.username,
                "PASSWORD": self.password,
                "ACTION": "send",
                "ORIGINATOR": value,
            }
        )
        self._originator = value

    def send(self, message: OutboundSms) -> SendResult:
        form = urlencode(
            {
                "RECIPIENT": message.to_e164.removeprefix("+"),
                "MESSAGE_TEXT": message.body,
                "REFERENCE": message.uuid,
            }
        )
        response = post_form(
            self._session,
            self.api_url,
            f"{self._send_fields}&{form}",
            timeout=self.timeout,
            gateway=GATEWAY,
        )
        if isinstance(response, SendResult):
            return response
        if response.status_code != 200:
            # SMS Central itself always answers 200; anything else came from a proxy or load
            # balancer in front of it, before the API saw the request.
            return Transient(
                f"http_{response.status_code}",
                f"SMS Central answered HTTP {response.status_code}.",
                retry_after(response.headers),
            )
        return interpret_answer(response.content.decode("utf-8", "replace"))

    def lookup(
        self, enquiries: Sequence[Enquiry], taken: Collection[str] = ()
    ) -> dict[str, LookupResult]:
        """Ask for the status of each message by REFERENCE, up to 100 in one request."""
        results: dict[str, LookupResult] = {}
        for start in range(0, len(enquiries), LOOKUP_BATCH):
            chunk = enquiries[start : start + LOOKUP_BATCH]
            answer = self._status(sorted({e.reference for e in chunk}))
            for enquiry in chunk:
                results[enquiry.uuid] = (
                    answer
                    if isinstance(answer, LookupFailed)
                    else answer.get(enquiry.reference, NotFound())
                )
        return results

    def _status(self, references: list[str]) -> dict[str, Found] | LookupFailed:
        form = {
            "USERNAME": self.username,
            "PASSWORD": self.password,
            "REFERENCE": ",".join(references),
        }
        response = post_form(
            self._session, self.status_url, form, timeout=self.lookup_timeout, gateway=GATEWAY
        )
        if isinstance(response, SendResult):
            return LookupFailed(getattr(response, "text", "SMS Central could not be asked."))
        if response.status_code != 200:
            return LookupFailed(f"SMS Central's status check answered HTTP {response.status_code}.")
        try:
            return parse_status(response.content.decode("utf-8", "replace"))
        except ValueError as error:
            return LookupFailed(str(error))

    def close(self) -> None:
        self._session.close()


def parse_status(text: str) -> dict[str, Found]:
    """The messages a status answer reports, by REFERENCE; ValueError for an error or non-XML.

    The documented XML layout was not at hand, so this reads any element that has both a
    REFERENCE and a STATUS (child elements or attributes, any case). Reading too little is safe:
    a message not reported is sent again with its reference, which SMS Central refuses if it
    holds it. Reading too much is not, so an element without a STATUS is never taken as found.
    """
    text = text.strip()
    match = _ANSWER.fullmatch(text)
    if match:
        meaning = PERMANENT_CODES.get(match.group(1), (None, match.group(2) or ""))[1]
        raise ValueError(
            f"SMS Central refused the status check ({match.group(1)}): {meaning}".strip()
        )
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise ValueError("SMS Central's status answer declares a DOCTYPE; not read.")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise ValueError(
            f"SMS Central's status answer is not XML ({error}): {text[:200]!r}."
        ) from None
    found: dict[str, Found] = {}
    for element in root.iter():
        fields = {_local(name).upper(): value.strip() for name, value in element.attrib.items()}
        for child in element:
            if len(child) == 0:
                fields.setdefault(_local(child.tag).upper(), (child.text or "").strip())
        reference, status = fields.get("REFERENCE", ""), fields.get("STATUS", "").upper()
        if not reference or not status or "NOT FOUND" in status or status == "UNKNOWN":
            continue
        # Held, whatever it is called: a status we do not know is at least "the gateway took it".
        state = RECEIPT_STATES.get(status, "sent")
        failed = state in ("undelivered", "failed")
        found[reference] = Found(
            state,
            fields.get("ID") or None,
            error_code=(fields.get("RESULT") or status) if failed else None,
            error_text=(fields.get("STATUSDESCRIPTION") or None) if failed else None,
        )
    return found


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def interpret_answer(text: str) -> SendResult:
    """Map the body of a 200 answer (`0`, or `{code} {text}`) to a send result."""
    text = text.strip()
    if text == "0":
        return Accepted(provider_message_id=None)
    match = _ANSWER.fullmatch(text)
    if not match:
        return Unknown(f"SMS Central gave an answer we do not understand: {text[:200]!r}.")
    code, gateway_text = match.group(1), (match.group(2) or "").strip()
    if code == DUPLICATE_REFERENCE:
        return Accepted(provider_message_id=None)
    if code in TRANSIENT_CODES:
        return Transient(code, TRANSIENT_CODES[code])
    if code in PERMANENT_CODES:
        reason, meaning = PERMANENT_CODES[code]
        return Rejected(code, meaning, reason)
    if code.startswith("5"):
        return Rejected(
            code, gateway_text or f"SMS Central refused the message ({code}).", "failed"
        )
    return Unknown(f"SMS Central gave an answer we do not understand: {text[:200]!r}.")


def parse_receipt(params: Mapping[str, str]) -> Receipt:
    """Read a delivery-receipt push (GET query or POST form).

    Long messages get one receipt per part, so the same reference can arrive several times.
    Raises ValueError for a STATUS we do not know.
    """
    status = (params.get("STATUS") or "").strip().upper()
    state = RECEIPT_STATES.get(status)
    if state is None:
        raise ValueError(f"Unknown SMS Central receipt STATUS {status!r}.")
    failed = state in ("undelivered", "failed")
    return Receipt(
        reference=(params.get("REFERENCE") or "").strip() or None,
        provider_message_id=(params.get("ID") or "").strip() or None,
        state=state,
        error_code=((params.get("RESULT") or "").strip() or status) if failed else None,
        error_text=((params.get("STATUSDESCRIPTION") or "").strip() or None) if failed else None,
    )


def check_webhook_credentials(params: Mapping[str, str], username: str, password: str) -> bool:
    """True when a push carries the USER_NAME and PASSWORD we configured for our webhook URL.

    Always False while our own credentials are empty: an unconfigured webhook accepts nothing.
    """
    if not username or not password:
        return False
    # Compare both, always, so the timing does not reveal which one was wrong.
    user_ok = hmac.compare_digest((params.get("USER_NAME") or "").encode(), username.encode())
    password_ok = hmac.compare_digest((params.get("PASSWORD") or "").encode(), password.encode())
    return user_ok and password_ok
