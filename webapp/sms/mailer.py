"""Send the email outbox over SMTP, retrying until it goes: an SMTP outage delays mail, loses
none."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import formataddr

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import settings_store
from webapp.database import begin_write
from webapp.models import Email, Message, User
from webapp.models.base import utcnow
from webapp.people.kinds import KINDS
from webapp.sms.replies import (
    CONVERSATION_LINK,
    OPEN_PATH,
    person_of,
    readdressed_note,
    unreachable,
)
from webapp.text import one_line

log = logging.getLogger(__name__)
RETRY_CAP = timedelta(hours=1)
# An email sent this many times with the connection dropping under it each time is marked failed.
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class MailSettings:
    server: str
    port: int
    use_tls: bool
    username: str
    password: str
    from_address: str
    timeout: float = 10.0
    use_ssl: bool = False  # SMTPS: TLS from the first byte (port 465), instead of STARTTLS
    # MAIL_FROM as configured ("" when unset): where unmatched replies go unless Settings names
    # an address (as sms.settings.load reads it).
    unmatched_fallback: str = ""

    @classmethod
    def from_config(cls, config) -> MailSettings | None:
        if not config.get("MAIL_SERVER") or not config.get("MAIL_PORT"):
            return None
        return cls(
            config["MAIL_SERVER"],
            int(config["MAIL_PORT"]),
            bool(config.get("MAIL_USE_TLS")),
            config.get("MAIL_USERNAME", ""),
            config.get("MAIL_PASSWORD", ""),
            config.get("MAIL_FROM") or "sms-desk@localhost",
            use_ssl=bool(config.get("MAIL_USE_SSL")),
            unmatched_fallback=config.get("MAIL_FROM") or "",
        )


def retry_delay(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), RETRY_CAP)


def send_due(
    session: so.Session, settings: MailSettings, now: datetime | None = None, limit: int = 50
) -> int:
    """Send queued emails that are due. A server that cannot be reached delays them all; a
    refusal concerns one email only: permanent (5xx) marks it failed, temporary (4xx) retries it.
    An email that cannot be built or sent at all (a bad address, a header that will not encode)
    is marked failed with the reason, and the others still go. A connection that drops while an
    email is sent counts against that email only (failed after MAX_ATTEMPTS); the rest wait for
    the next round without a penalty."""
    now = now or utcnow()
    due = list(
        session.scalars(
            sa.select(Email)
            .where(Email.state == "queued", Email.next_attempt_at <= now)
            .order_by(Email.id)
            .limit(limit)
        )
    )
    if not due:
        return 0
    reply_to = _consultants(session, due)
    # Queued while its consultant could have it (an SMTP outage since): theirs no longer. Only a
    # reply's email without an active consultant with an address may be; the rest cost nothing.
    doubtful = [e for e in due if e.message_id is not None and e.id not in reply_to]
    unmatched = ""
    if doubtful:
        unmatched = (
            settings_store.value(session, "unmatched_reply_address") or settings.unmatched_fallback
        )
    session.commit()  # end the read, so each write below waits for SQLite's lock if it must
    readdressed = []
    if doubtful:
        # Reads (the reply, its consultant), then writes: on SQLite the lock is taken first, or a
        # write by another connection in between fails this round at once.
        begin_write(session)
        readdressed = [email for email in doubtful if readdress(session, email, unmatched)]
        session.commit()
    due = [email for email in due if email not in readdressed or email.state == "queued"]
    sent = 0
    done: set[int] = set()
    sending: Email | None = None  # the email on the wire, if the connection drops
    try:
        with _connect(settings) as smtp:
            for email in due:
                sending = None
                try:
                    message = _compose(email, settings, reply_to.get(email.id))
                except Exception as error:  # only this email's data is at fault, never the server
                    _failed(email, f"Could not be built: {error}")
                    done.add(email.id)
                    session.commit()
                    continue
                sending = email
                try:
                    smtp.send_message(message)
                except (
                    smtplib.SMTPRecipientsRefused,
                    smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError,
                ) as refusal:
                    _refused(email, refusal, now)
                except (smtplib.SMTPNotSupportedError, ValueError, MessageError) as error:
                    # Raised before the server saw a command (e.g. a non-ASCII address that the
                    # server cannot take): this email will never go, the next one may.
                    _failed(email, f"Could not be sent: {error}")
                else:
                    email.state, email.sent_at, email.last_error = "sent", now, None
                    sent += 1
                done.add(email.id)
                sending = None
                session.commit()  # each one as it goes, so a later failure cannot resend it
    except (OSError, smtplib.SMTPException) as error:
        if sending is not None and sending.id not in done:
            # The connection dropped while this email was on the wire: perhaps because of it. The
            # attempt counts against it alone, so it cannot hold back the ones after it for ever;
            # they go next round (it has moved back in the queue).
            log.warning(
                "The mail server dropped the connection while sending email %s (%s)",
                sending.id,
                type(error).__name__,
            )
            if sending.attempts + 1 >= MAX_ATTEMPTS:
                sending.attempts += 1
                _failed(
                    sending,
                    f"Gave up after {sending.attempts} attempts, the connection dropping "
                    f"each time: {error}",
                )
            else:
                _postpone(sending, str(error), now, error)
        else:
            log.warning(
                "The mail server could not be reached (%s); emails will retry", type(error).__name__
            )
            for email in due:
                if email.id not in done:
                    _postpone(email, str(error), now, error)
        session.commit()
    return sent


# The line a reply email written for its consultant has (replies._queue_email), and no other.
_FOR_THEM = "\nIn reply to your message:\n"


def readdress(session: so.Session, email: Email, unmatched_address: str) -> bool:
    """Send a reply email written for its consultant to the unmatched-replies address instead,
    saying why as a new reply's email does (replies._queue_email), when the consultant is now
    deactivated or without an email address: their mailbox may be read by nobody, or by whoever
    has the address next. True if the email changed; without an unmatched address it is marked
    failed, saying so (a new reply then is not emailed at all)."""
    if email.message_id is None or email.to_address == unmatched_address:
        return False
    reply = session.get(Message, email.message_id)
    consultant = session.get(User, reply.sender_id) if reply and reply.sender_id else None
    if consultant is None or (consultant.active and consultant.email):
        return False
    # The texter's words come first: only what follows them is ours to read and rewrite (an SMS
    # may hold "In reply to your message:" or a link line of its own).
    start = email.body.find(reply.body) + len(reply.body) if reply.body in email.body else 0
    head, tail = email.body[:start], email.body[start:]
    if _FOR_THEM not in tail and email.to_address != consultant.email:
        return False  # written for the unmatched inbox, whatever its address is now
    if not unmatched_address:
        _failed(
            email,
            # Not the name: the log repeats the reason, and names emails by id only.
            f"Not sent: its consultant {unreachable(consultant)} in SMS Desk and there is no "
            "address for unmatched replies (Settings).",
        )
        return True
    person = person_of(session, reply)
    tail = tail.replace(_FOR_THEM, f"\nIn reply to {consultant.full_name}'s message:\n", 1)
    if person is not None:
        # The inbox's Open is the consultant's; the unmatched inbox gets the record's page. The
        # last such line is ours (our SMS, quoted above it, is ours too, but may hold anything).
        kind = KINDS.of(person).segment
        opens = re.escape(CONVERSATION_LINK) + "(.*)" + re.escape(OPEN_PATH.format(reply.id, ""))
        links = list(re.finditer(f"^{opens}\\S*$", tail, flags=re.MULTILINE))
        if links:
            link = links[-1]
            page = f"{CONVERSATION_LINK}{link[1]}/{kind}/{person.id}#message-{reply.id}"
            tail = tail[: link.start()] + page + tail[link.end() :]
    body = head + tail
    note = readdressed_note(consultant, person is not None, reply.in_reply_to_id is not None)
    email.body = f"{note}\n\n{body}"
    email.to_address = unmatched_address
    return True


def _failed(email: Email, reason: str) -> None:
    email.state = "failed"
    email.last_error = one_line(reason)[:300]
    # The log names the email by id, never by address (personal data; the Status page shows it).
    log.error(
        "Email %s failed for good: %s",
        email.id,
        email.last_error.replace(email.to_address, "<address>")
        if email.to_address
        else email.last_error,
    )


def _refused(email: Email, refusal: smtplib.SMTPException, now: datetime) -> None:
    codes = [code for code, _ in getattr(refusal, "recipients", {}).values()] or [
        getattr(refusal, "smtp_code", 0)
    ]
    if all(500 <= code < 600 for code in codes):
        email.state = "failed"
        email.last_error = f"Refused by the mail server: {refusal}"[:300]
        # The codes, not the refusal: its text lists the refused addresses.
        log.error(
            "Email %s refused for good by the mail server (%s)",
            email.id,
            ", ".join(str(code) for code in codes),
        )
    else:
        _postpone(email, str(refusal), now, refusal)


def _postpone(email: Email, error: str, now: datetime, cause: Exception) -> None:
    email.attempts += 1
    email.last_error = error[:300]
    email.next_attempt_at = now + retry_delay(email.attempts)
    log.warning(
        "Email %s not sent (%s, attempt %d); next try at %s",
        email.id,
        type(cause).__name__,
        email.attempts,
        email.next_attempt_at.isoformat(timespec="seconds"),
    )


def _connect(settings: MailSettings) -> smtplib.SMTP:
    # Verified against the system's CAs (SSL_CERT_FILE names another bundle, e.g. an intranet CA):
    # smtplib's own default would take any certificate, and with it any server in the middle.
    context = ssl.create_default_context() if settings.use_ssl or settings.use_tls else None
    if settings.use_ssl:
        smtp = smtplib.SMTP_SSL(
            settings.server, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
    try:
        if settings.use_tls and not settings.use_ssl:
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _consultants(session: so.Session, emails: list[Email]) -> dict[int, tuple[str, str]]:
    """Email id → (name, address) of the consultant whose SMS the email's reply answers, while
    their account is active: a deactivated consultant's reply goes to the unmatched address, and
    answering it must not reach them either.

    Found through the reply (Email.message_id → Message.sender_id), so no column is needed."""
    ids = [email.message_id for email in emails if email.message_id is not None]
    if not ids:
        return {}
    rows = session.execute(
        sa.select(Message.id, User.full_name, User.email)
        .join(User, User.id == Message.sender_id)
        .where(
            Message.id.in_(ids),
            User.active.is_(True),
            User.email.is_not(None),
            User.email != "",
        )
    )
    found = {message_id: (name or "", address) for message_id, name, address in rows}
    return {email.id: found[email.message_id] for email in emails if email.message_id in found}


def _reply_to(consultant: tuple[str, str] | None) -> str | None:
    """The Reply-To header's value, or None when there is no consultant or no safe address for one.

    An address holding a line break is left out, never cleaned into some other address; the email
    still goes (to its own To), only answering it does not reach the consultant."""
    if consultant is None:
        return None
    name, address = consultant
    if one_line(address) != address.strip() or not address.strip():
        log.warning("A consultant's email address holds a control character: no Reply-To")
        return None
    return formataddr((one_line(name), address.strip()))


def _compose(
    email: Email, settings: MailSettings, consultant: tuple[str, str] | None = None
) -> EmailMessage:
    """The message, every header on one line: a header that data could split would let that data
    add headers (a Bcc) or, as EmailMessage refuses it, stop the email. Reply-To is the consultant,
    so answering the email reaches a person rather than the app's sender address."""
    to_address = one_line(email.to_address)
    if not to_address or to_address != email.to_address.strip():
        # Cleaned, "a@x\r\nBcc: b@y" would still read as some address: send to nobody rather
        # than guess who was meant.
        raise ValueError("the address holds a line break or control character")
    message = EmailMessage()
    message["From"] = one_line(settings.from_address)
    message["To"] = to_address
    message["Subject"] = one_line(email.subject)
    reply_to = _reply_to(consultant)
    if reply_to is not None:
        try:
            message["Reply-To"] = reply_to
        except (ValueError, MessageError) as error:  # an address the header will not take
            log.warning("Email %s: no Reply-To (%s)", email.id, type(error).__name__)
    message.set_content(email.body)
    return message
