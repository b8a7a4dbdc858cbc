"""How SMS Desk is doing, for operators: worker heartbeats, the readiness of each part (/readyz and
the Status page, a gateway refusing our account among them), the figures /metrics exports, and what
an administrator may do with a failed email."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.exc
import sqlalchemy.orm as so

from webapp import migrate
from webapp.database import begin_write, close_session, make_sessionmaker, reread_for_update
from webapp.models import Email, Message, SmsAccount, User, WorkerHeartbeat, audit
from webapp.models.base import utcnow
from webapp.models.messaging import DELIVERED, FAILED, OUTBOUND_ONLY, QUEUED, SENT, UNDELIVERED
from webapp.sms import mailer
from webapp.sms.providers import ACCOUNT_REASONS, smscentral, twilio
from webapp.sms.replies import KEPT_EMAIL, ReplySettings

# A beat every few seconds is one tiny write;
# READY_WORKER_STALE_SECONDS (60) allows many missed ones.
HEARTBEAT_EVERY = 5.0
# Rows of processes that stopped are dropped after this, so the table stays a handful of rows.
HEARTBEAT_KEEP = timedelta(days=1)
FAILED_EMAIL = "failed"
DISCARDED_EMAIL = "discarded"

# A gateway refusing our account (no credit, bad credentials, a refused sender) fails every send
# after it: one such refusal this recent makes Status "Not ready", until the gateway or account
# accepts a message after it.
ACCOUNT_FAILURE_WINDOW = timedelta(minutes=15)
# The codes a send's refusal is stored with (error_code) whose reason is the account's
# (providers.ACCOUNT_REASONS), by gateway; "account" is the dispatcher's own, for an SMS account
# it cannot use (its secrets unreadable, say), whatever the gateway.
ACCOUNT_CODES: dict[str, frozenset[str]] = {
    "smscentral": frozenset(
        code
        for code, (reason, _) in smscentral.PERMANENT_CODES.items()
        if reason in ACCOUNT_REASONS
    ),
    "twilio": frozenset(
        code for code, (reason, _) in twilio.PERMANENT_CODES.items() if reason in ACCOUNT_REASONS
    )
    | {"http_401"},
}
DISPATCHER_ACCOUNT_CODE = "account"
GATEWAY_NAMES = {"smscentral": smscentral.GATEWAY, "twilio": twilio.GATEWAY, "sandbox": "Sandbox"}
# How long ago a message refused now may have been due: beyond it, its queue was a day late.
_TRIED_WITHIN = timedelta(days=1)
# Accepted by the gateway, whatever became of it after: the account worked then.
_ACCEPTED = (SENT, DELIVERED, UNDELIVERED)


def worker_name() -> str:
    """This process's name in the heartbeat table: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def beat(session: so.Session, name: str, started_at: datetime, now: datetime | None = None) -> None:
    """Record that the worker `name` is alive now, and forget workers silent for a day."""
    now = now or utcnow()
    begin_write(session)
    updated = session.execute(
        sa.update(WorkerHeartbeat)
        .where(WorkerHeartbeat.name == name)
        .values(last_seen=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not updated:
        session.add(WorkerHeartbeat(name=name, started_at=started_at, last_seen=now))
    session.execute(
        sa.delete(WorkerHeartbeat)
        .where(WorkerHeartbeat.last_seen < now - HEARTBEAT_KEEP)
        .execution_options(synchronize_session=False)
    )
    try:
        session.commit()
    except sqlalchemy.exc.IntegrityError:
        # A second dispatcher in this process wrote the row first: alive all the same.
        session.rollback()


def forget(session: so.Session, name: str, started_at: datetime) -> None:
    """Drop the row of the worker `name` started at `started_at`, which stopped when told to: only
    a process that died or hung stays listed (and warned of) until its row is a day old. Another
    dispatcher of the same process, still beating in the row it wrote first, keeps it."""
    begin_write(session)
    session.execute(
        sa.delete(WorkerHeartbeat)
        .where(WorkerHeartbeat.name == name, WorkerHeartbeat.started_at == started_at)
        .execution_options(synchronize_session=False)
    )
    session.commit()


@dataclass(frozen=True)
class Thresholds:
    """Beyond these, /readyz answers 503 (READY_* settings; see the README's Operating section)."""

    worker_stale_seconds: float = 60.0
    queue_age_seconds: float = 300.0
    email_failed: int = 0

    @classmethod
    def from_config(cls, config) -> Thresholds:
        return cls(
            float(config.get("READY_WORKER_STALE_SECONDS", 60)),
            float(config.get("READY_QUEUE_AGE_SECONDS", 300)),
            int(config.get("READY_EMAIL_FAILED", 0)),
        )


class Worker(NamedTuple):
    """A worker process as its heartbeat row has it."""

    name: str
    started_at: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Figures:
    """What the database says, read in one go."""

    workers: list[Worker]
    queued: int  # every outbound message queued, held ones included
    oldest_due: datetime | None  # the next attempt time of the message waiting longest
    emails_pending: int
    emails_failed: int
    # Of `queued`, those held for a scheduled send's time (no attempt time until it is released):
    # waiting as asked, not a backlog.
    held: int = 0
    # Gateways or SMS accounts refusing our account lately, and not accepting a message since.
    account_failures: tuple[AccountFailure, ...] = ()


class AccountFailure(NamedTuple):
    """Messages a gateway (through one SMS account, or the default one) refused for a reason of
    the account's, within ACCOUNT_FAILURE_WINDOW."""

    provider: str
    account: str | None  # the SMS account's name; None: the gateway the settings configure
    code: str
    text: str
    count: int

    @property
    def gateway(self) -> str:
        name = GATEWAY_NAMES.get(self.provider, self.provider)
        return f"{name} (SMS account {self.account})" if self.account else name


def account_failures(session: so.Session, now: datetime | None = None) -> list[AccountFailure]:
    """The gateways and SMS accounts whose sends failed for the account's reason within the window,
    and that have accepted no message since (the credit topped up, the password corrected).

    Read on every /readyz and Status page, so through indexes: the failed messages due in the last
    day (the claim index, state and next_attempt_at; a message is tried when due, or once the queue
    reaches it), then those made in the day before the last refusal or since
    (ix_messages_out_created)."""
    now = now or utcnow()
    by_code = [
        sa.and_(Message.provider == provider, Message.error_code.in_(sorted(codes)))
        for provider, codes in ACCOUNT_CODES.items()
    ]
    rows = session.execute(
        sa.select(
            Message.provider,
            Message.account_id,
            SmsAccount.name,
            Message.error_code,
            sa.func.max(Message.error_text),
            sa.func.count(),
            sa.func.max(Message.updated_at),
        )
        .outerjoin(SmsAccount, SmsAccount.id == Message.account_id)
        .where(
            Message.state == FAILED,
            Message.next_attempt_at >= now - _TRIED_WITHIN,
            Message.updated_at >= now - ACCOUNT_FAILURE_WINDOW,
            # Refused when sent, not failed later by a delivery receipt (whose codes differ).
            Message.sent_at.is_(None),
            sa.or_(Message.error_code == DISPATCHER_ACCOUNT_CODE, *by_code),
        )
        .group_by(Message.provider, Message.account_id, SmsAccount.name, Message.error_code)
        .order_by(Message.provider, SmsAccount.name, Message.error_code)
    ).all()
    found = []
    for provider, account_id, account, code, text, count, last in rows:
        accepted_since = session.scalar(
            sa.select(Message.id)
            .where(
                sa.text(OUTBOUND_ONLY),
                # Sent after the refusal, though perhaps queued before it (a backlog going out
                # once the credit is topped up); made within the day before it, so that only
                # those rows are looked at (ix_messages_out_created).
                Message.created_at >= last - _TRIED_WITHIN,
                Message.sent_at > last,
                # Not the claim index (state first), which SQLite would take to read every
                # message ever sent: an expression, so only the rows of that day on are looked at.
                Message.state.concat("").in_(_ACCEPTED),
                Message.provider == provider,
                Message.account_id.is_(None)
                if account_id is None
                else Message.account_id == account_id,
            )
            .limit(1)
        )
        if accepted_since is None:
            found.append(AccountFailure(provider, account, code, text or "", count))
    return found


def figures(session: so.Session, now: datetime | None = None) -> Figures:
    now = now or utcnow()
    workers = [
        Worker(*row)
        for row in session.execute(
            sa.select(
                WorkerHeartbeat.name, WorkerHeartbeat.started_at, WorkerHeartbeat.last_seen
            ).order_by(WorkerHeartbeat.last_seen.desc())
        )
    ]
    # Both served by the claim index (state, next_attempt_at, id); the held (a scheduled send's,
    # no attempt time yet) counted in the same pass. A message waiting for its retry backoff or a
    # later send time is not late: only due ones count towards the age.
    not_timed = sa.case((Message.next_attempt_at.is_(None), 1))
    queued, held = session.execute(
        sa.select(sa.func.count(), sa.func.count(not_timed))
        .select_from(Message)
        .where(Message.state == QUEUED)
    ).one()
    oldest_due = session.scalar(
        sa.select(sa.func.min(Message.next_attempt_at)).where(
            Message.state == QUEUED, Message.next_attempt_at <= now
        )
    )
    emails = dict(
        session.execute(sa.select(Email.state, sa.func.count()).group_by(Email.state)).all()
    )
    return Figures(
        workers,
        queued,
        oldest_due,
        emails.get("queued", 0),
        emails.get(FAILED_EMAIL, 0),
        held,
        tuple(account_failures(session, now)),
    )


def message_counts(session: so.Session) -> dict[tuple[str, str], int]:
    """Messages (outbound and inbound) per (state, gateway)."""
    rows = session.execute(
        sa.select(Message.state, Message.provider, sa.func.count()).group_by(
            Message.state, Message.provider
        )
    )
    return {(state, provider): count for state, provider, count in rows}


@dataclass
class Readiness:
    """Each part's state, the JSON /readyz answers, and the same in sentences for the Status
    page."""

    version: str
    database_ok: bool
    figures: Figures | None = None
    worker_ok: bool = False
    last_seen_s: float | None = None
    oldest_queued_s: float | None = None
    queue_ok: bool = False
    email_ok: bool = False
    gateway_ok: bool = False
    problems: list[str] = field(default_factory=list)
    # Said on the Status page, but not enough for "Not ready": one worker alive is enough to send.
    warnings: list[str] = field(default_factory=list)
    # The workers silent for longer than the threshold, by name (a stopped or hung process).
    silent_workers: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        known = self.figures
        return {
            "status": "ok" if self.ok else "error",
            "version": self.version,
            "database": {"ok": self.database_ok},
            "worker": {"ok": self.worker_ok, "last_seen_s": self.last_seen_s},
            "queue": {
                "ok": self.queue_ok,
                "queued": known.queued if known else None,
                "held": known.held if known else None,
                "oldest_queued_s": self.oldest_queued_s,
            },
            "email": {
                "ok": self.email_ok,
                "pending": known.emails_pending if known else None,
                "failed": known.emails_failed if known else None,
            },
            "gateway": {
                "ok": self.gateway_ok,
                "account_failures": [
                    {
                        "gateway": failure.provider,
                        "account": failure.account,
                        "code": failure.code,
                        "text": failure.text,
                        "messages": failure.count,
                    }
                    for failure in known.account_failures
                ]
                if known
                else None,
            },
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }


def readiness(
    engine: sa.Engine, thresholds: Thresholds, version: str, now: datetime | None = None
) -> Readiness:
    """Ask the database how each part is doing; never raises for a database that is away."""
    now = now or utcnow()
    try:
        with make_sessionmaker(engine)() as session:
            # One tiny read: a database of another revision answers, but not as this code asks.
            revision = session.scalar(sa.text("SELECT version_num FROM alembic_version"))
            found = figures(session, now) if revision == migrate.head_revision() else None
            close_session(session)
    except sqlalchemy.exc.SQLAlchemyError:
        return Readiness(version, database_ok=False, problems=[_database_problem(engine)])
    if found is None:
        return Readiness(version, database_ok=False, problems=[revision_problem(revision)])
    state = Readiness(version, database_ok=True, figures=found)
    if found.workers:
        state.last_seen_s = round(max((now - found.workers[0].last_seen).total_seconds(), 0.0), 1)
        state.worker_ok = state.last_seen_s <= thresholds.worker_stale_seconds
        stale_before = now - timedelta(seconds=thresholds.worker_stale_seconds)
        state.silent_workers = frozenset(
            worker.name for worker in found.workers if worker.last_seen < stale_before
        )
        if not state.worker_ok:
            state.problems.append(
                f"No worker has been seen for {state.last_seen_s:.0f} s (more than "
                f"{thresholds.worker_stale_seconds:.0f} s): nothing is sending SMS."
            )
        elif state.silent_workers:
            # The newest alone was looked at: a second worker silent for hours read as "OK".
            names = ", ".join(sorted(state.silent_workers))
            state.warnings.append(
                f"{_processes(len(state.silent_workers))} silent for more than "
                f"{thresholds.worker_stale_seconds:.0f} s ({names}): stopped or hung. Another "
                "is sending SMS; a stopped one's row goes after a day."
            )
    else:
        state.problems.append(
            "No worker is running: nothing is sending SMS "
            "(start `flask --app webapp sms worker`, or the embedded worker)."
        )
    if found.oldest_due is not None:
        state.oldest_queued_s = round(max((now - found.oldest_due).total_seconds(), 0.0), 1)
    state.queue_ok = (state.oldest_queued_s or 0.0) <= thresholds.queue_age_seconds
    if not state.queue_ok:
        state.problems.append(
            f"The oldest queued message has waited {state.oldest_queued_s:.0f} s "
            f"(more than {thresholds.queue_age_seconds:.0f} s)."
        )
    state.email_ok = found.emails_failed <= thresholds.email_failed
    if not state.email_ok:
        state.problems.append(
            f"{_emails(found.emails_failed)} failed for good (more than "
            f"{thresholds.email_failed} allowed): retry or discard them on the "
            "Status page."
        )
    state.gateway_ok = not found.account_failures
    minutes = ACCOUNT_FAILURE_WINDOW.total_seconds() / 60
    for failure in found.account_failures:
        # Workers beating and a short queue read as "Messages are flowing" while every send
        # failed on the account.
        state.problems.append(
            f"{failure.gateway} refused {_messages(failure.count)} in the last {minutes:.0f} "
            f"minutes for the account's reason: {failure.text} (code {failure.code}). Every "
            "send through it fails until that is fixed."
        )
    return state


def revision_problem(revision: str | None) -> str:
    """What a database at `revision` (not this code's head) needs, in words."""
    if revision is None:
        return "The database is not migrated (it has no tables yet): run `flask db-upgrade`."
    if not migrate.known_revision(revision):
        return (
            f"The database is at revision {revision}, which this version of SMS Desk does not "
            "know: a newer version upgraded it. Run that version, or restore the backup taken "
            "before its upgrade."
        )
    return (
        f"The database is at revision {revision} and this version of SMS Desk needs "
        f"{migrate.head_revision()}: run `flask db-upgrade`."
    )


def _database_problem(engine: sa.Engine) -> str:
    """Why reading the figures failed: a database without its tables, or one that is away."""
    try:
        with engine.connect() as connection:
            revision = migrate.stored_revision(connection)
    except sqlalchemy.exc.SQLAlchemyError:
        return "The database cannot be reached."
    if revision != migrate.head_revision():
        return revision_problem(revision)
    return "The database cannot be reached."


def _processes(count: int) -> str:
    return "A worker process is" if count == 1 else f"{count} worker processes are"


def _messages(count: int) -> str:
    return f"{count} message" + ("" if count == 1 else "s")


def _emails(count: int) -> str:
    return f"{count} reply email" + ("" if count == 1 else "s")


# --- failed emails --------------------------------------------------------------------------------


def failed_emails(session: so.Session, limit: int = 200, offset: int = 0) -> list[Email]:
    """Emails that will not be tried again unless someone says so, newest first; `limit` of them
    after the newest `offset`."""
    return list(
        session.scalars(
            sa.select(Email)
            .where(Email.state == FAILED_EMAIL)
            .order_by(Email.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def retry_email(
    session: so.Session,
    email: Email,
    actor: User,
    settings: ReplySettings,
    now: datetime | None = None,
) -> bool:
    """Queue a failed email again, from its first attempt (audited); False if it is not failed
    (read afresh under the row's lock: a Retry and a Discard pressed at once, in two tabs or by
    two administrators, settle it once, and the second one is told). A reply email whose
    consultant is now deactivated or without an address goes to the unmatched-replies address,
    as a new one would; kept, not queued, where emails are kept (a demo without a mail server)."""
    reread_for_update(session, email)
    if email.state != FAILED_EMAIL:
        session.rollback()
        return False
    to, error = email.to_address, email.last_error
    email.state, email.attempts, email.next_attempt_at = "queued", 0, now or utcnow()
    if settings.keep_emails:
        email.state = KEPT_EMAIL
    mailer.readdress(session, email, settings.unmatched_reply_address)
    moved = {"was": to} if email.to_address != to else {}
    audit(session, actor, "email.retried", email, to=email.to_address, error=error, **moved)
    session.commit()
    return True


def discard_email(session: so.Session, email: Email, actor: User) -> bool:
    """Give up on a failed email for good (audited); False if it is not failed (read afresh under
    the row's lock, as retry_email does)."""
    reread_for_update(session, email)
    if email.state != FAILED_EMAIL:
        session.rollback()
        return False
    email.state = DISCARDED_EMAIL
    audit(session, actor, "email.discarded", email, to=email.to_address, error=email.last_error)
    session.commit()
    return True
