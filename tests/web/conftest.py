"""Fixtures for the page tests: a clock for the session timestamps (webapp.web.sessions.now), and
the settings that switch both gateways' webhooks on."""

from __future__ import annotations

import pytest

from tests.fakes import FakeTwilio
from webapp.web import sessions

START = 1_800_000_000.0  # what the clock says until a test moves it

HOOK_USER = "desk-hook"
HOOK_PASSWORD = "s3cret-hook-pw"
PUBLIC = "https://desk.example.com"
signer = FakeTwilio()  # its sign() is Twilio's algorithm, written apart from the app's code
WEBHOOKS = {
    "SMSCENTRAL_WEBHOOK_USERNAME": HOOK_USER,
    "SMSCENTRAL_WEBHOOK_PASSWORD": HOOK_PASSWORD,
    "TWILIO_AUTH_TOKEN": signer.auth_token,
    "PUBLIC_BASE_URL": PUBLIC,
}


@pytest.fixture
def clock(monkeypatch):
    """A clock that stands still at START until the test moves it to `seconds_after_start`."""
    state = {"now": START}
    monkeypatch.setattr(sessions, "now", lambda: state["now"])

    def move_to(seconds_after_start: float) -> None:
        state["now"] = START + seconds_after_start

    return move_to
