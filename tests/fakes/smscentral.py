"""A loopback fake of the SMS Central HTTP API v3.2: the send action with its documented answers,
and the status check by REFERENCE or RECIPIENT."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from xml.sax.saxutils import escape

from .server import FakeServer, Recorded, Reply

_ORIGINATOR = re.compile(r"\+?\d{3,15}|[A-Za-z0-9]{1,11}|shared|dedicated")


class FakeSmsCentral(FakeServer):
    """POST {url}/api/v3.2 with the upper-case form; answers `0` or `{code} {text}`, always 200.

    `credit` (None: unlimited) runs down one per message; numbers in `blacklist` get 519.

    A POST without ACTION is the status check (USERNAME, PASSWORD and REFERENCE, a comma list of
    up to 100, or RECIPIENT, up to 10 numbers: their last 10 messages). It answers XML, one
    <message> per message held, in a layout of our own: the documented one was not at hand.
    `statuses` holds each message's STATUS by reference (BUFFRED until set).
    """

    path = "/api/v3.2"

    def __init__(
        self,
        *,
        username: str = "desk",
        password: str = "s3cret",
        credit: int | None = None,
        blacklist: Iterable[str] = (),
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.username = username
        self.password = password
        self.credit = credit
        self.blacklist = set(blacklist)
        self.messages: list[dict[str, str]] = []  # accepted, in order
        self.statuses: dict[str, str] = {}
        self._ids = itertools.count(1000)
        self._references: set[str] = set()

    @property
    def api_url(self) -> str:
        return self.url + self.path

    def respond(self, request: Recorded) -> Reply:
        if request.path != self.path or request.method != "POST":
            return Reply(404, "Not found")
        form = request.form
        if form.get("USERNAME") != self.username or form.get("PASSWORD") != self.password:
            return Reply(200, "511 Invalid username or password")
        if "ACTION" not in form:
            return self._status(form)
        recipient = form.get("RECIPIENT", "")
        if not re.fullmatch(r"\d{6,15}", recipient):  # international format, digits only
            return Reply(200, "514 No valid recipient")
        if not form.get("MESSAGE_TEXT"):
            return Reply(200, "531 No message content")
        if not _ORIGINATOR.fullmatch(form.get("ORIGINATOR", "")):
            return Reply(200, "535 Invalid originator")
        reference = form.get("REFERENCE", "")
        with self._lock:
            if reference and reference in self._references:  # a set: benchmarks send thousands
                return Reply(200, "513 Duplicate reference")
            if recipient in self.blacklist:
                return Reply(200, "519 Recipient is blacklisted")
            if self.credit is not None:
                if self.credit <= 0:
                    return Reply(200, "534 Insufficient credit")
                self.credit -= 1
            self.messages.append({**form, "ID": str(next(self._ids))})
            self._references.add(reference)
        return Reply(200, "0")

    @property
    def sends(self) -> list[Recorded]:
        """The send requests received (not status checks)."""
        return [r for r in self.requests if r.form.get("ACTION") == "send"]

    @property
    def status_checks(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and "ACTION" not in r.form]

    def _status(self, form: dict[str, str]) -> Reply:
        references = [r for r in form.get("REFERENCE", "").split(",") if r]
        recipients = [r for r in form.get("RECIPIENT", "").split(",") if r]
        if not references and not recipients:
            return Reply(200, "514 Either RECIPIENT or REFERENCE must be provided")
        if len(references) > 100 or len(recipients) > 10:
            return Reply(200, "500 Too many values")
        with self._lock:
            if references:
                wanted = set(references)
                held = [m for m in self.messages if m.get("REFERENCE") in wanted]
            else:
                held = [
                    m
                    for number in recipients
                    for m in [m for m in self.messages if m["RECIPIENT"] == number][-10:]
                ]
            rows = [(m, self.statuses.get(m.get("REFERENCE", ""), "BUFFRED")) for m in held]
        items = "".join(
            f"<message><ID>{escape(m['ID'])}</ID>"
            f"<REFERENCE>{escape(m.get('REFERENCE', ''))}</REFERENCE>"
            f"<RECIPIENT>{escape(m['RECIPIENT'])}</RECIPIENT><STATUS>{escape(status)}</STATUS>"
            f"<STATUSDESCRIPTION>{'Delivered' if status.startswith('DELIV') else ''}"
            "</STATUSDESCRIPTION></message>"
            for m, status in rows
        )
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<messages>{items}</messages>'
        return Reply(200, xml, "text/xml; charset=utf-8")

    def receipt(
        self, reference: str, status: str = "DELIVRD", *, user_name: str = "", password: str = ""
    ) -> dict[str, str]:
        """The query SMS Central would push to our receipt webhook for an accepted message."""
        with self._lock:
            message = next(m for m in self.messages if m["REFERENCE"] == reference)
        return {
            "USER_NAME": user_name,
            "PASSWORD": password,
            "ORIGINATOR": message["ORIGINATOR"],
            "RECIPIENT": message["RECIPIENT"],
            "PROVIDER": "telstra",
            "MESSAGE_TEXT": message["MESSAGE_TEXT"],
            "ID": message["ID"],
            "REFERENCE": reference,
            "RESULT": "0" if status.startswith("DELIV") else "1",
            "UDH": "",
            "STATUS": status,
            "STATUSDESCRIPTION": "Delivered" if status.startswith("DELIV") else "Not delivered",
        }
