"""Login throttling: failed sign-ins per account and per address, and the growing delay they
earn."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.database import is_sqlite
from webapp.models.activity import audit
from webapp.models.base import utcnow
from webapp.models.users import LOGIN_KEY_LENGTH, LoginFailure

ACCOUNT = "account"
ADDRESS = "address"
WINDOW = timedelta(minutes=15)
FREE_FAILURES = 5
MAX_DELAY = timedelta(minutes=15)
MAX_KEY = LOGIN_KEY_LENGTH


@dataclass(frozen=True)
class Attempt:
    """Who is trying to sign in: the username as typed and the client's address."""

    username: str
    address: str

    def keys(self) -> tuple[tuple[str, str], tuple[str, str]]:
        # Case-folded, so "Admin" and "admin" share one count whichever exists.
        return (
            (ACCOUNT, self.username.strip().casefold()[:MAX_KEY]),
            (ADDRESS, (self.address or "unknown")[:MAX_KEY]),
        )


# PostgreSQL: one transaction-long advisory lock per account (class 1921; settings use 1920).
_ACCOUNT_LOCK = sa.text("SELECT pg_advisory_xact_lock(1921, hashtext(:key))")


@contextmanager
def one_at_a_time(session: so.Session, attempt: Attempt) -> Iterator[None]:
    """Hold the account's attempts in line from the lockout check to the failure's record, so
    guesses sent in parallel cannot all pass the check before the first failure counts.

    PostgreSQL: an advisory lock on the account, released when the transaction ends (every web
    process waits its turn). SQLite needs none: a form post's transaction holds the database's
    write lock from its first statement (webapp.extensions), so attempts already go one by one.
    A check that commits on its way (a two-factor code) lets go early: count_attempt first."""
    kind, key = attempt.keys()[0]
    if not is_sqlite(session):
        session.connection().execute(_ACCOUNT_LOCK, {"key": f"{kind}:{key}"})
    yield


def now() -> datetime:
    """The current time; the view reads it through here so tests can fix it."""
    return utcnow()


def delay_after(failures: int) -> timedelta:
    """How long to refuse attempts after `failures` recent failures: 2^(n-5) s, at most
    MAX_DELAY."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20)), MAX_DELAY)


def _recent(
    session: so.Session, kind: str, key: str, moment: datetime
) -> tuple[int, datetime | None]:
    count, last = session.execute(
        sa.select(sa.func.count(LoginFailure.id), sa.func.max(LoginFailure.failed_at)).where(
            LoginFailure.kind == kind,
            LoginFailure.key == key,
            LoginFailure.failed_at > moment - WINDOW,
        )
    ).one()
    return count, last


def locked_until(session: so.Session, attempt: Attempt, moment: datetime) -> datetime | None:
    """When the account or address may try again, if that is after `moment`; else None."""
    until = None
    for kind, key in attempt.keys():
        count, last = _recent(session, kind, key, moment)
        if last is None or count < FREE_FAILURES:
            continue
        free_at = last + delay_after(count)
        if free_at > moment and (until is None or free_at > until):
            until = free_at
    return until


def wait_text(until: datetime, moment: datetime) -> str:
    """How long until `until`, as a refusal says it ("about 8 seconds", "about 4 minutes"): the
    wait doubles with each failure, from a second to MAX_DELAY."""
    seconds = max(1, round((until - moment).total_seconds()))
    if seconds < 90:
        return f"about {seconds} second{'' if seconds == 1 else 's'}"
    return f"about {round(seconds / 60)} minutes"


def locked_text(until: datetime, moment: datetime) -> str:
    """The refusal while attempts are locked. It blames nobody: the lock counts failures on the
    account and from the address alike, so a colleague behind the same address mistyping their
    password locks out someone who typed nothing wrong."""
    return (
        f"Too many failed attempts from this account or network. Try again in "
        f"{wait_text(until, moment)}: each failure makes the wait longer."
    )


def record_failure(session: so.Session, attempt: Attempt, moment: datetime) -> datetime | None:
    """Note a failed sign-in (audited); returns when the next attempt is allowed if that is now
    locked.

    The caller commits.
    """
    count_attempt(session, attempt, moment)
    return audit_failure(session, attempt, moment)


def count_attempt(session: so.Session, attempt: Attempt, moment: datetime) -> list[int]:
    """Count an attempt as failed before it is checked, for a check that may commit on its way
    (a lock held to the transaction's end would let the next guess in before the failure was
    written); returns the rows' ids, for forget when it turns out right."""
    rows = [LoginFailure(kind=kind, key=key, failed_at=moment) for kind, key in attempt.keys()]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def forget(session: so.Session, ids: list[int]) -> None:
    """Take back the failures count_attempt wrote for an attempt that was right after all."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.id.in_(ids)))


def audit_failure(session: so.Session, attempt: Attempt, moment: datetime) -> datetime | None:
    """Audit a failed attempt already counted (and the lock it brings, if any); returns when the
    next attempt is allowed if that is now locked. The caller commits."""
    details = {"username": attempt.username[:MAX_KEY], "address": attempt.address}
    audit(session, None, "auth.login_failed", **details)
    session.flush()
    until = locked_until(session, attempt, moment)
    if until is not None:
        audit(session, None, "auth.locked", until=until.isoformat(), **details)
    return until


def record_success(session: so.Session, attempt: Attempt) -> None:
    """Forget the account's failures
    (not the address's: one good password does not vouch for it)."""
    kind, key = attempt.keys()[0]
    session.execute(
        sa.delete(LoginFailure).where(LoginFailure.kind == kind, LoginFailure.key == key)
    )
