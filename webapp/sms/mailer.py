"""Send the email outbox over SMTP, retrying until it goes: an SMTP outage delays mail, loses none."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models import Email
from webapp.models.base import utcnow

log = logging.getLogger(__name__)
RETRY_CAP = timedelta(hours=1)


@dataclass(frozen=True)
class MailSettings:
    server: str
    port: int
    use_tls: bool
    username: str
    password: str
    from_address: str
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config) -> "MailSettings | None":
        if not config.get("MAIL_SERVER") or not config.get("MAIL_PORT"):
            return None
        return cls(config["MAIL_SERVER"], int(config["MAIL_PORT"]), bool(config.get("MAIL_USE_TLS")),
                   config.get("MAIL_USERNAME", ""), config.get("MAIL_PASSWORD", ""),
                   config.get("MAIL_FROM") or "sms-desk@localhost")


def retry_delay(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), RETRY_CAP)


def send_due(session: so.Session, settings: MailSettings, now: datetime | None = None,
             limit: int = 50) -> int:
    """Send queued emails that are due. A server that cannot be reached delays them all; a
    refusal concerns one email only: permanent (5xx) marks it failed, temporary (4xx) retries it."""
    now = now or utcnow()
    due = list(session.scalars(
        sa.select(Email).where(Email.state == "queued", Email.next_attempt_at <= now)
        .order_by(Email.id).limit(limit)))
    if not due:
        return 0
    session.commit()  # end the read, so each write below waits for SQLite's lock if it must
    sent = 0
    done: set[int] = set()
    try:
        with _connect(settings) as smtp:
            for email in due:
                try:
                    smtp.send_message(_compose(email, settings))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                        smtplib.SMTPDataError) as refusal:
                    _refused(email, refusal, now)
                else:
                    email.state, email.sent_at, email.last_error = "sent", now, None
                    sent += 1
                done.add(email.id)
                session.commit()  # each one as it goes, so a later failure cannot resend it
    except (OSError, smtplib.SMTPException) as error:
        log.warning("Email not sent yet (%s); will retry", error)
        for email in due:
            if email.id not in done:
                _postpone(email, str(error), now)
        session.commit()
    return sent


def _refused(email: Email, refusal: smtplib.SMTPException, now: datetime) -> None:
    codes = [code for code, _ in getattr(refusal, "recipients", {}).values()] or \
        [getattr(refusal, "smtp_code", 0)]
    if all(500 <= code < 600 for code in codes):
        email.state = "failed"
        email.last_error = f"Refused by the mail server: {refusal}"[:300]
        log.error("Email %s to %s refused for good: %s", email.id, email.to_address, refusal)
    else:
        _postpone(email, str(refusal), now)


def _postpone(email: Email, error: str, now: datetime) -> None:
    email.attempts += 1
    email.last_error = error[:300]
    email.next_attempt_at = now + retry_delay(email.attempts)


def _connect(settings: MailSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
    try:
        if settings.use_tls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _compose(email: Email, settings: MailSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.from_address
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message.set_content(email.body)
    return message
