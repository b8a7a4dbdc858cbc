"""Send later: reading the time a Send is due, and cancelling, editing and releasing batches that
wait for it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.bulk import insert_rows
from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import Batch, Comment, ComposeDraft, Message, User, audit
from webapp.models.base import utcnow
from webapp.models.messaging import FAILED, QUEUED, WAITING_TO_GO
from webapp.people.kinds import KINDS
from webapp.sms import (
    alerts,
    compose,
    limits,
    merge,
    opt_out_line,
    quiet_hours,
    segments,
    settings,
)
from webapp.sms.people import load
from webapp.text import clean_multiline
from webapp.times import user_zone, when

log = logging.getLogger(__name__)

MAX_AHEAD = timedelta(days=90)
# What a datetime-local input posts (seconds, and their fraction, only when its step allows
# them); a space for the T is what a browser without the input type may send, typed by hand.
_FORMATS = tuple(f"%Y-%m-%d{t}%H:%M{rest}" for t in ("T", " ") for rest in ("", ":%S", ":%S.%f"))
RELEASE_GROUP = 100  # due batches looked up at once; the rest wait for the next poll
# The error_code of a message refused at release by a daily limit, and because its sender was
# deactivated or lost sms.send meanwhile: the limits do not count either (it never left).
LIMIT_ERROR, SENDER_ERROR = limits.NEVER_LEFT_CODES
messages = Message.__table__
batches = Batch.__table__


def parse_send_at(
    text: str | None, zone: tzinfo, now: datetime | None = None, *, compare_only: bool = False
) -> datetime | None:
    """The moment a `datetime-local` field's value ("2026-12-03T09:30", seconds optional) means
    in `zone` (the user's), as an aware UTC datetime; None for "" or None (send now).

    Refused (FieldError on "send_at", 400) when unparseable, not a real local time (the hour
    skipped when clocks go forward), ambiguous (the repeated hour when they go back: which of
    the two is meant cannot be told, so the user picks a time outside it), in the past, or more
    than MAX_AHEAD after `now`. The current minute is not the past: the field has no seconds, so
    a time typed as "now" goes at once.

    `compare_only`: the draft has made its batch already, so the time schedules nothing and is
    only compared with the batch's (compose.already_sent). One that has passed is then no error:
    Back and Send after a scheduled batch went posts its time, which has passed since.
    """
    typed = (text or "").strip()
    if not typed:
        return None
    now = now or utcnow()
    local = _parse(typed)
    first, second = local.replace(tzinfo=zone, fold=0), local.replace(tzinfo=zone, fold=1)
    try:
        moment = first.astimezone(UTC)
        other = second.astimezone(UTC)
    except (OverflowError, ValueError):
        raise FieldError(_example("That date is out of range."), "send_at") from None
    shown = _clock(local)
    if moment.astimezone(zone).replace(tzinfo=None) != local:
        raise FieldError(
            f"{shown} does not exist in {_zone_name(zone)}: the clocks go forward then. "
            "Choose a time after the change.",
            "send_at",
        )
    if moment != other:
        raise FieldError(
            f"{shown} happens twice in {_zone_name(zone)}: the clocks go back then. Choose a "
            "time outside that hour.",
            "send_at",
        )
    if compare_only:
        return moment
    if moment < now.replace(second=0, microsecond=0):
        raise FieldError(
            f"{shown} has passed: it is now {when(now, zone)}. Choose a later time, or leave "
            "Send at empty to send now.",
            "send_at",
        )
    if moment > now + MAX_AHEAD:
        raise FieldError(
            f"An SMS can be scheduled at most {MAX_AHEAD.days} days ahead: the latest is "
            f"{when(now + MAX_AHEAD, zone)}.",
            "send_at",
        )
    return moment


def read_local(typed: str | None) -> datetime | None:
    """The local date and time (naive) a "Send at" as typed names, as Send reads it; None when
    it names none. The draft reads it the same way, so whatever Send would take, it keeps."""
    typed = (typed or "").strip()
    for pattern in _FORMATS:
        try:
            return datetime.strptime(typed, pattern)
        except ValueError:
            continue
    return None


def _parse(typed: str) -> datetime:
    local = read_local(typed)
    if local is None:
        raise FieldError(_example(f"“{typed[:40]}” is not a date and time."), "send_at")
    return local


def _example(problem: str) -> str:
    return f"{problem} Enter one like 2026-12-03 09:30, or leave Send at empty to send now."


def _clock(local: datetime) -> str:
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'} on " + (
        f"{local.day} {local.strftime('%b %Y')}"
    )


def _zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


# --- changing a scheduled batch -----------------------------------------------------------------


def _held(batch_id: int):
    """The batch's messages still held for its time (queued, not yet due)."""
    return sa.and_(
        messages.c.batch_id == batch_id,
        messages.c.state == QUEUED,
        messages.c.next_attempt_at.is_(None),
    )


def _still_waiting(session: so.Session, batch: Batch, actor: User) -> str:
    """Refuse anyone but the sender (403), then lock the batch row and refuse (409) when it is
    no longer waiting; ends with the transaction open and the row locked until its commit, and
    returns its text as stored now.

    The lock (FOR UPDATE on PostgreSQL; SQLite's write lock, begin_write) is what a release
    takes too, so a cancel or an edit and a release never both go ahead."""
    if actor.id != batch.sender_id:
        raise FieldError("Only the person who scheduled this SMS can change it.", status=403)
    begin_write(session)
    waiting = session.execute(
        sa.select(batches.c.released_at, batches.c.cancelled_at, batches.c.send_at, batches.c.body)
        .where(batches.c.id == batch.id)
        .with_for_update()
    ).one_or_none()
    if waiting is None or waiting.send_at is None:
        session.rollback()
        raise FieldError("This SMS was not scheduled: it went when it was sent.", status=409)
    if waiting.cancelled_at is not None:
        session.rollback()
        raise FieldError(
            "This scheduled SMS was already cancelled (perhaps in another tab): nothing was sent.",
            status=409,
        )
    if waiting.released_at is not None:
        session.rollback()
        raise FieldError(
            "This SMS is no longer waiting: it was released at its time and is being sent, so "
            "it can no longer be changed or cancelled.",
            status=409,
        )
    return waiting.body


def cancel(session: so.Session, batch: Batch, actor: User) -> int:
    """Withdraw a scheduled batch: its held messages are deleted (none was sent), the batch is
    marked cancelled, audited "sms.schedule_cancelled". Returns how many messages were withdrawn.

    403 unless `actor` sent it; 409 when it is no longer scheduled (released or cancelled).
    Commits."""
    stored = _still_waiting(session, batch, actor)
    now = utcnow()
    withdrawn = session.execute(sa.delete(messages).where(_held(batch.id))).rowcount
    # The draft is free again: a Send of it from the SMS screen makes a new batch rather than
    # finding this cancelled one (compose.batch_for). It is as if opened now, so Bulk SMS for the
    # same people finds it, with the text as it was to go (Edit text may have changed it since),
    # however long ago it was scheduled (drafts from before today, or a day old, are not reopened),
    # and before an empty draft opened for them since, just to look. Not before one holding what
    # was typed since (compose.reopened_at): that stays, and this text is on the batch page.
    draft = (
        session.get(ComposeDraft, batch.draft_id, populate_existing=True)
        if batch.draft_id is not None
        else None
    )
    if draft is not None:
        reopened = compose.reopened_at(session, draft, now)
        session.execute(
            sa.update(ComposeDraft)
            .where(ComposeDraft.id == draft.id)
            .values(
                message=editable_text(batch, stored),
                updated_at=now,
                **({} if reopened is None else {"created_at": reopened}),
            )
        )
    session.execute(
        sa.update(batches)
        .where(batches.c.id == batch.id)
        .values(cancelled_at=now, cancelled_by_id=actor.id, draft_id=None)
    )
    audit(
        session,
        actor,
        "sms.schedule_cancelled",
        batch,
        messages=withdrawn,
        send_at=batch.send_at.isoformat() if batch.send_at else None,
    )
    session.commit()
    session.expire(batch)
    return withdrawn


class ChangedMeanwhile(FieldError):
    """The text was saved elsewhere (another tab) since the form showed it (409): saving over it
    would lose that text unseen. `stored` is the text as the form shows it now."""

    def __init__(self, stored: str):
        super().__init__(
            "This text was changed and saved elsewhere (another tab?) since you opened it, so "
            f"yours was not saved. It now reads: “{stored}”. Yours is below: press Save text "
            "again to replace it.",
            status=409,
        )
        self.stored = stored


def editable_text(batch: Batch, body: str | None = None) -> str:
    """A batch's text (`body`, else its own) as Edit text shows it: without the opt-out line the
    Send added, line breaks as "\n"."""
    return clean_multiline(
        opt_out_line.without_line(
            batch.body if body is None else body, batch.commercial, batch.opt_out_line
        )
    )


def edit_text(
    session: so.Session, batch: Batch, actor: User, body: str, shown: str | None = None
) -> None:
    """Change a scheduled batch's text (`body` as typed: the batch's opt-out line is added again
    when commercial): each held message is rendered again for its person. Audited
    "sms.schedule_edited".

    Refused as compose.check_message refuses (400 on "message"); 403 unless `actor` sent it;
    409 when it is no longer scheduled, and (ChangedMeanwhile) when `shown`, the text the form
    was opened with, is no longer the stored text, compared under the row's lock so two saves at
    once cannot both pass. Text already stored is saved already (Save pressed twice, or the same
    text saved in another tab): nothing changes and nothing is refused. Commits."""
    body = body.replace("\x00", "")
    stored = editable_text(batch, _still_waiting(session, batch, actor))
    if clean_multiline(body) == stored:
        session.rollback()
        return
    if shown is not None and shown != stored:
        session.rollback()
        raise ChangedMeanwhile(stored)
    column = KINDS.by_segment(batch.kind).person_column
    held = session.execute(
        sa.select(messages.c.id, messages.c[column], messages.c.override_opt_out).where(
            _held(batch.id)
        )
    ).all()
    full = opt_out_line.with_line(body, batch.commercial, batch.opt_out_line)
    parsed = merge.parse(full)
    people = {p.id: p for p in load(session, batch.kind, [row[1] for row in held if row[1]])}
    items: list[compose.PreviewItem] = []
    changes: list[dict] = []
    same = None if parsed.fields else merge.render(parsed, None, batch.sender)
    for message_id, person_id, overridden in held:
        person = people.get(person_id)
        if person is None:
            # The record was removed while it waited: the worker will not send to it anyway
            # (outbox.recheck), and there is nobody to fill the fields in for.
            continue
        rendered = same or merge.render(parsed, person, batch.sender)
        count = segments.count(rendered.text)
        items.append(compose.PreviewItem(person, rendered, count, overridden))
        changes.append(
            {
                "id": message_id,
                "body": rendered.text,
                "segments": count.segments,
                "encoding": count.encoding,
            }
        )
    try:
        compose.check_message(body, items, screen=False)
    except FieldError:
        session.rollback()
        raise
    if changes:
        session.execute(sa.update(Message), changes)
    old = batch.body
    batch.body = full
    audit(
        session,
        actor,
        "sms.schedule_edited",
        batch,
        messages=len(changes),
        old_length=len(old),
        new_length=len(full),
    )
    session.commit()


# --- the worker's release -----------------------------------------------------------------------


def due(session: so.Session, now: datetime, skipping: Iterable[int] = ()) -> list[int]:
    """Scheduled batches due by `now`, earliest first (read through ix_batches_due), but for
    those in `skipping` (failing, waiting for their next try)."""
    query = sa.select(batches.c.id).where(sa.text(WAITING_TO_GO), batches.c.send_at <= now)
    if skipped := sorted(skipping):
        query = query.where(batches.c.id.not_in(skipped))
    ids = list(
        session.scalars(query.order_by(batches.c.send_at, batches.c.id).limit(RELEASE_GROUP))
    )
    session.rollback()  # a read only: no transaction held open across the releases
    return ids


def waiting_of(session: so.Session, sender_id: int) -> int:
    """How many of this sender's scheduled sends are still waiting to go (shown before they are
    deactivated: each is refused at its time while they are)."""
    query = sa.select(sa.func.count()).where(
        sa.text(WAITING_TO_GO), batches.c.sender_id == sender_id
    )
    return session.scalar(query) or 0


RETRY_FIRST = timedelta(seconds=5)
RETRY_CAP = timedelta(minutes=10)


@dataclass
class Retries:
    """Batches whose release failed, and when each is tried again: the first failure waits
    RETRY_FIRST, each next one twice as long, up to RETRY_CAP. Kept by the worker for as long as
    it runs: a batch that always fails is logged once a try, not every poll, and never holds
    back the ones due after it."""

    next_try: dict[int, datetime] = field(default_factory=dict)
    failures: dict[int, int] = field(default_factory=dict)

    def waiting(self, now: datetime) -> list[int]:
        return [batch_id for batch_id, at in self.next_try.items() if at > now]

    def failed(self, batch_id: int, now: datetime) -> tuple[int, datetime]:
        count = self.failures.get(batch_id, 0) + 1
        self.failures[batch_id] = count
        self.next_try[batch_id] = now + min(RETRY_FIRST * 2 ** (count - 1), RETRY_CAP)
        return count, self.next_try[batch_id]

    def forget(self, batch_id: int) -> None:
        self.next_try.pop(batch_id, None)
        self.failures.pop(batch_id, None)

    def forget_gone(self, now: datetime, due_ids: Iterable[int]) -> None:
        """Drop those whose try is due but which are due no more (cancelled, or released by
        another worker)."""
        listed = set(due_ids)
        for batch_id in [b for b, at in self.next_try.items() if at <= now and b not in listed]:
            self.forget(batch_id)


def release_due(
    session: so.Session,
    now: datetime | None = None,
    *,
    limit_settings: limits.LimitSettings,
    quiet_settings: quiet_hours.QuietSettings | None,
    alert_settings: alerts.AlertSettings | None = None,
    retries: Retries | None = None,
) -> list[int]:
    """Release every scheduled batch due by `now`, each in its own short transaction; returns
    the ids of the batches released (or refused at release for passing a daily limit).

    One batch that cannot be released is logged and left waiting, skipped until its next try
    (`retries`, the worker's; None: tried again at the next call); the others still go.
    Commits."""
    now = now or utcnow()
    retries = retries if retries is not None else Retries()
    ids = due(session, now, retries.waiting(now))
    retries.forget_gone(now, ids)
    done = []
    for batch_id in ids:
        try:
            if release(
                session,
                batch_id,
                now,
                limit_settings=limit_settings,
                quiet_settings=quiet_settings,
                alert_settings=alert_settings,
            ):
                done.append(batch_id)
            retries.forget(batch_id)
        except Exception:
            session.rollback()
            count, again = retries.failed(batch_id, now)
            log.exception(
                "Releasing scheduled batch %s failed (%d time(s)); it will be tried again at %s",
                batch_id,
                count,
                again.isoformat(timespec="seconds"),
            )
    return done


@dataclass(frozen=True)
class _Held:
    id: int
    to_e164: str


def release(
    session: so.Session,
    batch_id: int,
    now: datetime,
    *,
    limit_settings: limits.LimitSettings,
    quiet_settings: quiet_hours.QuietSettings | None,
    alert_settings: alerts.AlertSettings | None = None,
) -> bool:
    """Release one due batch: True when this call did (False: not due, cancelled, or another
    worker released it first). The released messages can raise a volume alert for its sender
    (webapp.sms.alerts), as a Send's do. Commits."""
    begin_write(session)
    # Marked released first: the UPDATE locks the row (a cancel or edit waits for the commit,
    # then finds it released) and only one of two workers gets a row count of 1.
    taken = session.execute(
        sa.update(batches)
        .where(batches.c.id == batch_id, sa.text(WAITING_TO_GO), batches.c.send_at <= now)
        .values(released_at=now)
    ).rowcount
    if taken != 1:
        session.rollback()
        return False
    batch = session.get(Batch, batch_id, populate_existing=True)
    assert batch is not None
    held = [
        _Held(*row)
        for row in session.execute(
            sa.select(messages.c.id, messages.c.to_e164)
            .where(_held(batch_id))
            .order_by(messages.c.id)
        )
    ]
    sender = batch.sender
    if not (sender.active and sender.can("sms.send")):
        # Deactivated, or no longer allowed to send, since scheduling: their batch does not go.
        refused = limits.Refusal(
            f"{sender.full_name or sender.username} can no longer send SMS.",
            {"scope": "sender", "active": sender.active},
        )
        _refuse(session, batch, refused, len(held), now, code=SENDER_ERROR)
        return True
    # In the sender's zone, the refusal says from when it could go, as a refused Send does.
    organisation = settings.organisation_zone(
        session, {"TIMEZONE": (quiet_settings or quiet_hours.QuietSettings()).organisation_zone}
    )
    refused = limits.refusal(
        session,
        sender,
        len(held),
        limit_settings,
        now=now,
        batch_id=batch_id,
        zone=user_zone(sender, organisation),
    )
    if refused is not None:
        _refuse(session, batch, refused, len(held), now)
        return True
    withdrawn = 0
    if not sender.can("sms.ignore_opt_out"):
        # Ignore was theirs to give, and is no longer: the consent check at sending decides, so
        # whoever is still opted out gets nothing (and whoever ticked SMS since, an ordinary SMS).
        withdrawn = session.execute(
            sa.update(messages)
            .where(_held(batch_id), messages.c.override_opt_out.is_(True))
            .values(override_opt_out=False)
        ).rowcount
    quiet = quiet_hours.planner(session, batch.sender, quiet_settings)
    waits = {m.id: until for m in held if quiet and (until := quiet(m.to_e164, now))}
    # Queued now: created_at is what the daily limits count, and they count from the release.
    session.execute(
        sa.update(messages)
        .where(_held(batch_id))
        .values(next_attempt_at=now, created_at=now, updated_at=now)
    )
    if waits:
        session.execute(
            sa.update(Message),
            [
                {"id": message_id, "next_attempt_at": until, "quiet_until": until}
                for message_id, until in waits.items()
            ],
        )
    if batch.comment_type is not None or batch.comment_text is not None:
        _add_comments(session, batch, [m.id for m in held], now)
    audit(
        session,
        None,
        "sms.released",
        batch,
        messages=len(held),
        quiet=len(waits),
        send_at=batch.send_at.isoformat() if batch.send_at else None,
        **({"ignore_withdrawn": withdrawn} if withdrawn else {}),
    )
    # Held, they did not count towards SMS_ALERT_RATE when scheduled; queued now, they do. The
    # new-country check was made at scheduling (its messages counted then), so no regions here.
    alerts.after_send(
        session, sender, batch, (), alert_settings or alerts.AlertSettings(), started=now, now=now
    )
    session.commit()
    return True


def refused_at_release(session: so.Session, batch: Batch) -> bool:
    """Whether the batch was refused at its time (a daily limit, or a sender who may no longer
    send), so that none of it went."""
    refused = sa.select(messages.c.id).where(
        messages.c.batch_id == batch.id, messages.c.error_code.in_(limits.NEVER_LEFT_CODES)
    )
    return session.scalar(refused.limit(1)) is not None


def _refuse(
    session: so.Session,
    batch: Batch,
    refused: limits.Refusal,
    count: int,
    now: datetime,
    *,
    code: str = LIMIT_ERROR,
) -> None:
    """At its time the batch may not go (a daily limit, or its sender may no longer send): its
    messages fail, with the reason."""
    text = f"Not sent at its scheduled time: {refused.message}"[:300]
    session.execute(
        sa.update(messages)
        .where(_held(batch.id))
        .values(
            state=FAILED,
            error_code=code,
            error_text=text,
            # Dated their release, as the messages that go are: the dashboard counts a scheduled
            # message on the day it was due, never on the day it was written. They never left,
            # so the daily limits do not count them (limits.NEVER_LEFT_CODES).
            created_at=now,
            updated_at=now,
        )
    )
    audit(session, None, "sms.schedule_refused", batch, messages=count, **refused.details)
    session.commit()
    log.warning("Scheduled batch %s was refused at its time (%s): not sent", batch.id, code)


def _add_comments(session: so.Session, batch: Batch, ids: list[int], now: datetime) -> None:
    """The Comment on each person's record, written as the message they get was released: not for
    one who opted out while it waited (or whose record went), whom the worker's check at sending
    refuses (webapp.sms.outbox.recheck) unless their opt-out is ignored, as the release left it."""
    kind = KINDS.by_segment(batch.kind)
    column = kind.person_column
    people = kind.model.__table__
    rows = []
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        rows.extend(
            {
                column: person_id,
                "author_id": batch.sender_id,
                "type": batch.comment_type,
                "text": batch.comment_text or text,
                "created_at": now,
            }
            for person_id, text in session.execute(
                sa.select(messages.c[column], messages.c.body)
                .join(people, people.c.id == messages.c[column])
                .where(
                    messages.c.id.in_(chunk),
                    sa.or_(messages.c.override_opt_out.is_(True), people.c.sms_consent.is_(True)),
                )
            )
        )
    insert_rows(session, Comment.__table__, rows)
