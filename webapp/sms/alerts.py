"""Volume alerts: tell the security contact when a user's sending passes SMS_ALERT_RATE, or a
Send goes to a country the organisation has not sent to in 90 days (SMS pumping, a taken-over
account)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models import AuditEvent, Email, Message, User, audit
from webapp.models.base import utcnow
from webapp.models.messaging import OUTBOUND_ONLY
from webapp.sms.limits import sent_by
from webapp.sms.replies import KEPT_EMAIL

UNITS = {"s": ("second", 1), "m": ("minute", 60), "h": ("hour", 3600), "d": ("day", 86400)}
# "500/10m": at most 500 messages in any 10 minutes; the number of units may be left out ("50/h").
RATE_PATTERN = re.compile(r"([1-9][0-9]{0,7})/([1-9][0-9]{0,4})?([smhd])")
# Counting a user's messages over a longer window would read too much on every Send.
MAX_WINDOW = timedelta(days=31)
NEW_COUNTRY_WINDOW = timedelta(days=90)
VOLUME_ALERT = "security.volume_alert"
NEW_COUNTRY_ALERT = "security.new_country_alert"


@dataclass(frozen=True)
class Rate:
    messages: int
    window: timedelta
    text: str  # as set, e.g. "500/10m"

    @property
    def window_words(self) -> str:
        amount, unit = RATE_PATTERN.fullmatch(self.text).group(2, 3)
        name, _ = UNITS[unit]
        amount = int(amount or 1)
        return f"{amount:,} {name}{'s' if amount != 1 else ''}"


def parse_rate(text: str | None) -> Rate | None:
    """SMS_ALERT_RATE as set: "500/10m" (units s, m, h, d); empty is None (no volume alert).
    Anything else raises ValueError saying what is expected."""
    value = (text or "").strip()
    if not value:
        return None
    match = RATE_PATTERN.fullmatch(value)
    window = None
    if match:
        amount, unit = match.group(2, 3)
        window = timedelta(seconds=int(amount or 1) * UNITS[unit][1])
    if window is None or window > MAX_WINDOW:
        raise ValueError(
            f"{value!r} is not a rate like 500/10m: a number of messages, '/', then a number of "
            "s (seconds), m (minutes), h (hours) or d (days), at most 31 days."
        )
    return Rate(int(match.group(1)), window, value)


@dataclass(frozen=True)
class AlertSettings:
    rate: Rate | None = None  # SMS_ALERT_RATE; None: no volume alert
    email: str = ""  # SECURITY_ALERT_EMAIL; empty: the audit log only
    keep_emails: bool = False  # MAIL_KEEP: a demo without a mail server keeps the email
    public_base_url: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AlertSettings:
        return cls(
            parse_rate(config.get("SMS_ALERT_RATE")),
            config.get("SECURITY_ALERT_EMAIL") or "",
            bool(config.get("MAIL_KEEP")),
            config.get("PUBLIC_BASE_URL") or "",
        )


def _sent_to(region: str | None, since: datetime, before: datetime) -> sa.Select:
    query = sa.select(Message.id).where(
        sa.text(OUTBOUND_ONLY), Message.created_at >= since, Message.created_at < before
    )
    if region is not None:
        query = query.where(Message.to_region == region)  # ix_messages_out_region
    return query.limit(1)


def new_regions(session: so.Session, regions: Iterable[str | None], started: datetime) -> list[str]:
    """Of `regions`, those no outbound message went to in the 90 days before `started`.

    None when the organisation sent nothing at all then: a new installation's (or a long-idle
    one's) first Send has nothing to compare with, and every country would be "new".
    """
    since = started - NEW_COUNTRY_WINDOW
    if session.scalar(_sent_to(None, since, started)) is None:
        return []
    return [
        region
        for region in sorted({region for region in regions if region})
        if session.scalar(_sent_to(region, since, started)) is None
    ]


def after_send(
    session: so.Session,
    sender: User,
    subject: Any,
    regions: Iterable[str | None],
    settings: AlertSettings,
    *,
    started: datetime,
    now: datetime | None = None,
) -> list[AuditEvent]:
    """Alert on the Send (or resend) whose messages the session's transaction has just added:
    an audit event, and an email to the security contact when one is set, for each of

    - the sender's messages in the last SMS_ALERT_RATE window passing its number (once a window:
      not again while an alert for them is younger than the window), and
    - destinations (region codes) the organisation had not sent to in the 90 days before
      `started`, the moment this Send began (its own messages are not "before").

    Adds to the transaction; the caller commits it with the Send.
    """
    now = now or utcnow()
    events = []
    rate = settings.rate
    if rate is not None:
        since = now - rate.window
        sent = sent_by(session, sender.id, since)
        if sent > rate.messages and not _alerted(session, sender, VOLUME_ALERT, since):
            events.append(
                _alert(
                    session,
                    settings,
                    sender,
                    VOLUME_ALERT,
                    subject,
                    f"SMS Desk alert: {sender.username} sent {sent:,} SMS in {rate.window_words}",
                    f"{sender.full_name} ({sender.username}) has sent {sent:,} SMS in the last "
                    f"{rate.window_words}, more than the alert rate of {rate.messages:,} "
                    f"(SMS_ALERT_RATE={rate.text}).",
                    messages=sent,
                    rate=rate.text,
                )
            )
    regions = new_regions(session, regions, started)
    if regions:
        listed = ", ".join(regions)
        events.append(
            _alert(
                session,
                settings,
                sender,
                NEW_COUNTRY_ALERT,
                subject,
                f"SMS Desk alert: {sender.username} sent SMS to a new country ({listed})",
                f"{sender.full_name} ({sender.username}) has sent SMS to numbers in {listed}: "
                "the organisation had sent none there in the last 90 days.",
                regions=regions,
            )
        )
    return events


def _alerted(session: so.Session, sender: User, action: str, since: datetime) -> bool:
    return (
        session.scalar(
            sa.select(AuditEvent.id)
            .where(
                AuditEvent.action == action,
                AuditEvent.actor_id == sender.id,
                AuditEvent.created_at >= since,
            )
            .limit(1)
        )
        is not None
    )


def _alert(
    session: so.Session,
    settings: AlertSettings,
    sender: User,
    action: str,
    subject: Any,
    title: str,
    text: str,
    **details: Any,
) -> AuditEvent:
    event = audit(
        session,
        sender,
        action,
        subject,
        emailed=bool(settings.email),
        **details,
    )
    if settings.email:
        lines = [text, ""]
        batch_id = getattr(subject, "id", None)
        if batch_id is not None and settings.public_base_url:
            lines.append(f"The SMS: {settings.public_base_url}/sms/batches/{batch_id}")
        if settings.public_base_url:
            lines.append(f"The audit log: {settings.public_base_url}/audit")
        lines += [
            "",
            "If this was not expected, deactivate the user (Users page) and review what was sent.",
        ]
        session.add(
            Email(
                to_address=settings.email,
                subject=title,
                body="\n".join(lines),
                state=KEPT_EMAIL if settings.keep_emails else "queued",
            )
        )
    return event
