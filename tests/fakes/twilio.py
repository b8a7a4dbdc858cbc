"""A loopback fake of Twilio's Messages resource (2010-04-01 API), with its error JSON: create
(POST) and list (GET, filtered by To, newest first, paged)."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from .server import FakeServer, Fault, Recorded, Reply

_MESSAGES = re.compile(r"/2010-04-01/Accounts/([^/]+)/Messages\.json")
_E164 = re.compile(r"\+[1-9]\d{1,14}")


def error_reply(
    status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> Reply:
    document = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Reply(status, json.dumps(document), "application/json", dict(headers or {}))


def twilio_error(
    status: int, code: int, message: str = "Injected error", *, retry_after: float | None = None
) -> Fault:
    """Answer with Twilio's error JSON without processing the request."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return Fault("reply", error_reply(status, code, message, headers))


class FakeTwilio(FakeServer):
    """POST {url}/2010-04-01/Accounts/{sid}/Messages.json with HTTP Basic (sid, token).

    Numbers in `opted_out` have replied STOP: sending to them answers 21610. GET on the same URL
    lists the messages (To filters, PageSize up to 1000, Page for the next pages), newest first,
    without `status_callback` (the real resource does not show it).
    """

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0" * 31 + "1",
        auth_token: str = "twilio-auth-token",
        opted_out: Iterable[str] = (),
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.opted_out = set(opted_out)
        self.messages: list[dict[str, Any]] = []  # created, in order

    @property
    def api_base(self) -> str:
        return self.url

    def respond(self, request: Recorded) -> Reply:
        match = _MESSAGES.fullmatch(request.path)
        if not match:
            return error_reply(404, 20404, f"The requested resource {request.path} was not found")
        if not self._authorised(request, match.group(1)):
            return error_reply(401, 20003, "Authenticate")
        if request.method == "GET":
            return self._list(request)
        if request.method != "POST":
            return error_reply(405, 20004, "Method not allowed")
        form = request.form
        to = form.get("To", "")
        if not _E164.fullmatch(to):
            return error_reply(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return error_reply(400, 21603, "A 'From' or 'MessagingServiceSid' is required.")
        if not form.get("Body"):
            return error_reply(400, 21602, "Message body is required.")
        if to in self.opted_out:
            return error_reply(400, 21610, "Attempt to send to unsubscribed recipient")
        now = email.utils.format_datetime(datetime.now(UTC))
        message = {
            "sid": "SM" + uuid.uuid4().hex,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "direction": "outbound-api",
            "account_sid": self.account_sid,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form["Body"],
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "num_segments": "1",
            "error_code": None,
            "error_message": None,
            "api_version": "2010-04-01",
            "status_callback": form.get("StatusCallback"),
        }
        with self._lock:
            self.messages.append(message)
        return Reply(201, json.dumps(message), "application/json")

    @property
    def creates(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    @property
    def lists(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET"]

    def _list(self, request: Recorded) -> Reply:
        query = request.query
        try:
            size = min(max(int(query.get("PageSize", "50")), 1), 1000)
            number = max(int(query.get("Page", "0")), 0)
        except ValueError:
            return error_reply(400, 20001, "PageSize and Page must be numbers")
        with self._lock:
            chosen = [m for m in self.messages if "To" not in query or m["to"] == query["To"]]
        chosen.reverse()  # newest first
        page = chosen[number * size : (number + 1) * size]
        base = request.path
        rest = {k: v for k, v in query.items() if k not in ("Page", "PageSize")}

        def uri(n: int) -> str:
            return f"{base}?{urlencode({**rest, 'PageSize': size, 'Page': n})}"

        document = {
            "messages": [{k: v for k, v in m.items() if k != "status_callback"} for m in page],
            "page": number,
            "page_size": size,
            "uri": uri(number),
            "first_page_uri": uri(0),
            "next_page_uri": uri(number + 1) if len(chosen) > (number + 1) * size else None,
            "previous_page_uri": uri(number - 1) if number > 0 else None,
            "start": number * size,
            "end": number * size + len(page) - 1,
        }
        return Reply(200, json.dumps(document), "application/json")

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        """Move a created message on, as Twilio would (sent, delivered, undelivered, failed)."""
        with self._lock:
            message = next(m for m in self.messages if m["sid"] == sid)
            message["status"] = status
            message["error_code"] = error_code
            if status in ("sent", "delivered", "undelivered") and message["date_sent"] is None:
                message["date_sent"] = email.utils.format_datetime(datetime.now(UTC))

    def _authorised(self, request: Recorded, path_sid: str) -> bool:
        scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except ValueError:
            return False
        sid, _, token = decoded.partition(":")
        return (
            scheme == "Basic" and sid == path_sid == self.account_sid and token == self.auth_token
        )

    def status_callback(
        self, sid: str, status: str, *, error_code: str | None = None
    ) -> dict[str, str]:
        """The form Twilio would POST to a message's StatusCallback."""
        with self._lock:
            message = next(m for m in self.messages if m["sid"] == sid)
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": message["from"] or "",
            "To": message["to"],
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            form["ErrorCode"] = error_code
        return form

    def sign(self, url: str, form: Mapping[str, str]) -> str:
        """X-Twilio-Signature as Twilio computes it (kept independent of the app's code)."""
        data = url + "".join(f"{name}{form[name]}" for name in sorted(form))
        digest = hmac.new(self.auth_token.encode(), data.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()
