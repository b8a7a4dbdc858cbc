"""A loopback fake of the SMS Central HTTP API v3.2 send action, with its documented answers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from .server import FakeServer, Recorded, Reply

_ORIGINATOR = re.compile(r"\+?\d{3,15}|[A-Za-z0-9]{1,11}|shared|dedicated")


class FakeSmsCentral(FakeServer):
    """POST {url}/api/v3.2 with the upper-case form; answers `0` or `{code} {text}`, always 200.

    `credit` (None: unlimited) runs down one per message; numbers in `blacklist` get 519.
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
