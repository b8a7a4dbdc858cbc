"""Build the gateways: the one configured in the environment (SMS_PROVIDER and its settings,
DESIGN.md section 6) and each SMS account's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import DEFAULT_POOL_SIZE, Provider
from .sandbox import Sandbox
from .smscentral import SmsCentral
from .twilio import Twilio

DEFAULT_SMSCENTRAL_API_URL = "https://my.smscentral.com.au/api/v3.2"
DEFAULT_TWILIO_API_BASE = "https://api.twilio.com"


def make_provider(config: Mapping[str, Any]) -> Provider:
    """The provider named by config["SMS_PROVIDER"]; ValueError names a missing setting."""
    name = str(config.get("SMS_PROVIDER") or "sandbox").strip().lower()
    # One pooled connection per dispatcher thread, so no thread waits for a socket.
    pool_size = max(int(config.get("DISPATCH_CONCURRENCY") or DEFAULT_POOL_SIZE), 1)

    def setting(key: str, default: str = "") -> str:
        return str(config.get(key) or default).strip()

    def required(key: str) -> str:
        value = setting(key)
        if not value:
            raise ValueError(f"SMS_PROVIDER={name} needs {key} to be set.")
        return value

    if name == "sandbox":
        return Sandbox()
    if name == "smscentral":
        return SmsCentral(
            setting("SMSCENTRAL_API_URL", DEFAULT_SMSCENTRAL_API_URL),
            required("SMSCENTRAL_USERNAME"),
            required("SMSCENTRAL_PASSWORD"),
            required("SMSCENTRAL_ORIGINATOR"),
            status_url=setting("SMSCENTRAL_STATUS_URL") or None,
            pool_size=pool_size,
        )
    if name == "twilio":
        account_sid = required("TWILIO_ACCOUNT_SID")
        auth_token = required("TWILIO_AUTH_TOKEN")
        from_number = setting("TWILIO_FROM")
        service_sid = setting("TWILIO_MESSAGING_SERVICE_SID")
        if not from_number and not service_sid:
            raise ValueError(
                "SMS_PROVIDER=twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID to be set."
            )
        return Twilio(
            setting("TWILIO_API_BASE", DEFAULT_TWILIO_API_BASE),
            account_sid,
            auth_token,
            from_number=from_number or None,
            messaging_service_sid=service_sid or None,
            pool_size=pool_size,
        )
    raise ValueError(f"SMS_PROVIDER must be sandbox, smscentral or twilio, not {name!r}.")


def make_account_provider(
    account: Any,
    secrets: Mapping[str, str],
    *,
    sandbox: bool = False,
    pool_size: int = DEFAULT_POOL_SIZE,
) -> Provider:
    """The gateway of one SMS account (a webapp.models.SmsAccount row) with its unsealed secrets
    ("password" for SMS Central, "auth_token" for Twilio); ValueError names what it lacks.

    With `sandbox` (the environment's gateway is the sandbox) every account sends through the
    sandbox, so a demo with accounts set up works without reaching any gateway."""
    if sandbox:
        return Sandbox()

    def required(value: str | None, what: str) -> str:
        value = (value or "").strip()
        if not value:
            raise ValueError(f"The SMS account {account.name} has no {what}.")
        return value

    if account.provider == "smscentral":
        return SmsCentral(
            (account.api_url or "").strip() or DEFAULT_SMSCENTRAL_API_URL,
            required(account.username, "user name"),
            required(secrets.get("password"), "API password"),
            required(account.originator, "originator (sender ID)"),
            pool_size=pool_size,
        )
    if account.provider == "twilio":
        from_number = (account.from_number or "").strip()
        service_sid = (account.messaging_service_sid or "").strip()
        if not from_number and not service_sid:
            raise ValueError(
                f"The SMS account {account.name} has neither a From number nor a Messaging "
                "Service SID."
            )
        return Twilio(
            (account.api_url or "").strip() or DEFAULT_TWILIO_API_BASE,
            required(account.account_sid, "Account SID"),
            required(secrets.get("auth_token"), "auth token"),
            from_number=from_number or None,
            messaging_service_sid=service_sid or None,
            pool_size=pool_size,
        )
    raise ValueError(f"The SMS account {account.name} has an unknown gateway {account.provider!r}.")
