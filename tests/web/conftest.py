"""Fixtures for the page tests: a clock for the session timestamps (webapp.web.sessions.now), the
settings that switch both gateways' webhooks on, and posting to a webhook as Twilio does."""

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


def twilio_post(client, path: str, form: dict[str, str], signature: str | None):
    """`form` posted to `path` as Twilio posts it: `signature` as X-Twilio-Signature (no header
    when None), and no CSRF token."""
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return client.post(path, data=form, headers=headers, csrf=False)


def signed_twilio_post(client, path: str, form: dict[str, str]):
    """`form` posted to `path` as Twilio posts it, signed for the public URL of `path`."""
    return twilio_post(client, path, form, signer.sign(PUBLIC + path, form))
