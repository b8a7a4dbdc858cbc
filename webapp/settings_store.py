"""Administrator settings kept in the `settings` table: reading them, saving a page's values with
one audit event, and reading the whole numbers typed for them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import database
from webapp.errors import FieldError
from webapp.models import Setting, User, audit
from webapp.text import ungrouped

_READ = "settings_store.read"  # session.info key: {key: value} read in this transaction
_ALL = sa.select(Setting.key, Setting.value)  # built once: every page runs it


def value(session: so.Session, key: str) -> Any:
    """A setting's stored value, None when there is none.

    Every page reads two or three settings (the region, the time zone, who needs two-factor
    sign-in): the first read fetches the whole table, a few rows, in one query, and later reads
    in the same transaction use it. A setting changed but not yet flushed is read as a query
    reads it: flushed first (autoflush), the reading made again.
    """
    read = session.info.get(_READ)
    if read is None or _unflushed_setting(session):
        read = session.info[_READ] = dict(database.read(session, _ALL).all())
    return read.get(key)


def _unflushed_setting(session: so.Session) -> bool:
    changed = (*session.new, *session.dirty, *session.deleted)
    return any(isinstance(instance, Setting) for instance in changed)


@sa.event.listens_for(so.Session, "after_flush")
@sa.event.listens_for(so.Session, "after_transaction_end")
def _forget_read(session: so.Session, *_args) -> None:
    # A flush may have written a setting, and another transaction may since have changed one.
    session.info.pop(_READ, None)


# pg_advisory_xact_lock(class, key) for a save of settings; webapp.sms.limits has class 1,919.
_LOCK = sa.select(sa.func.pg_advisory_xact_lock(1_920, 0))


def lock_to_save(session: so.Session) -> None:
    """Take the lock a save of settings compares under, and forget what this transaction has read
    of them, so the comparison reads them as stored now and no other save lands between it and
    this one: SQLite's write lock; on PostgreSQL a transaction-long advisory lock, since a setting
    may have no row yet for FOR UPDATE to hold. Another save's lock waits until this one ends."""
    database.begin_write(session)
    if database.is_sqlite(session):
        return  # begin_write began a new transaction: nothing read before it is kept
    session.flush()
    session.connection().execute(_LOCK)
    session.info.pop(_READ, None)
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Setting):
            session.expire(instance)


def is_unset(value: Any) -> bool:
    """True for a value that means "not set" (None, "", {}): its row is removed, so the default
    applies again. False, 0 and [] are values (0 is "no limit", [] is "no roles")."""
    return value is None or value == "" or value == {}


def save(
    session: so.Session,
    actor: User | None,
    wanted: Mapping[str, Any],
    before: Mapping[str, Any] | None = None,
) -> dict[str, list[Any]]:
    """Store `wanted` ({key: value}), removing the rows of unset values; returns {key: [old,
    new]} for the keys that changed, audited together as one "settings.changed". Commits.

    `before` is each value as the page showed it, compared and audited as it is; without it the
    stored value is, with None for "not set" on both sides.
    """
    changes: dict[str, list[Any]] = {}
    for key, value in wanted.items():
        row = session.get(Setting, key)
        if before is not None:
            old = before[key]
        else:
            old = None if row is None or is_unset(row.value) else row.value
            value = None if is_unset(value) else value
        if old == value:
            continue
        changes[key] = [old, value]
        if is_unset(value):
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(Setting(key=key, value=value))
        else:
            row.value = value
    if changes:
        audit(session, actor, "settings.changed", changes=changes)
    session.commit()
    return changes


def whole_number(text: str | None, field: str, maximum: int, refusal: str) -> int | None:
    """A whole number from 0 to `maximum` as typed ("1,000" and "1 000" too, not "1,5"), or None
    when empty;
    anything else raises FieldError(`refusal`, `field`).

    ASCII digits only: str.isdigit() also accepts "²" and "٣", which int() refuses or reads as
    another number.
    """
    value = ungrouped((text or "").strip())
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise FieldError(refusal, field)
    # Leading zeros off and the length checked first: int() refuses over 4,300 digits (ValueError).
    value = value.lstrip("0") or "0"
    if len(value) > len(str(maximum)) or int(value) > maximum:
        raise FieldError(refusal, field)
    return int(value)
