"""Read a batch's progress for the batch page (counts per state, messages a second, the time
left, receipts that never came) and its messages; and resend what failed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import Batch, Candidate, ClientContact, Message, User, audit
from webapp.models.base import utcnow
from webapp.models.messaging import FINAL_STATES, UNKNOWN
from webapp.models.people import person_name
from webapp.people.kinds import KINDS
from webapp.sms import alerts, limits, quiet_hours
from webapp.sms.compose import ignore_reason, overridden_people
from webapp.sms.providers.smscentral import SmsCentral
from webapp.sms.providers.twilio import Twilio
from webapp.sms.reconcile import ReconcileSettings
from webapp.users.offices import Team

STATE_ORDER = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "failed",
    "rejected",
    "undelivered",
    "unknown",
)


def may_see(user: User, sender_id: int | None, team_ids: frozenset[int] | None = None) -> bool:
    """Whether `user` may open a batch sent by `sender_id`: its sender, or anyone who may read the
    audit log — only their team's batches (`team_ids`, see offices.team_of) when given. The one
    rule for the batch page and every link to it."""
    if sender_id == user.id:
        return True
    if not user.can("audit.view"):
        return False
    return team_ids is None or sender_id in team_ids


def team_ids(session: so.Session, user: User, team: Team | None) -> frozenset[int] | None:
    """The users whose batches `user` may open besides their own, for may_see: None for everyone
    (no team, or nobody's but their own: may_see does not read it then)."""
    if team is None or not user.can("audit.view"):
        return None
    return team.member_ids(session)


def openable(
    session: so.Session, user: User, team: Team | None, batch_ids: set[int]
) -> set[int] | None:
    """Which of these batches `user` may open (see may_see), to link only those: None for all of
    them (no team to limit them to)."""
    members = team_ids(session, user, team)
    if members is None or not batch_ids:
        return None
    query = sa.select(Batch.id).where(
        Batch.id.in_(batch_ids), Batch.sender_id.in_(members | {user.id})
    )
    return set(session.scalars(query))


def visible_batch(
    session: so.Session, batch_id: int, user: User, team: Team | None = None
) -> Batch | None:
    """The batch if this user may see it (see may_see); another office's is not opened by a team
    leader limited to their `team`."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        return None
    if batch.sender_id != user.id and not may_see(
        user, batch.sender_id, team_ids(session, user, team)
    ):
        return None
    return batch


def checking_window(settings: ReconcileSettings) -> timedelta:
    """How long after a message went `unknown` the batch page keeps refreshing for it.

    Reconciliation looks it up after `after`; Twilio's answer may take until `give_up`; one more
    `longest_wait` covers the lookup after that. Past this it stays `unknown` on the page (it is
    still looked up now and then) until the consultant reloads or resends: a page left open must
    not poll for ever.
    """
    return settings.after + settings.give_up + settings.longest_wait


# Sent without a receipt for this long, a message is taken as final ("sent, no receipt"): receipts
# come within minutes, so after a day one is not coming, and a page left open stops refreshing.
# (A late receipt still moves the message on; the page shows it when next opened.)
RECEIPT_WAIT = timedelta(hours=24)
NO_RECEIPT = "no_receipt"
# The stacked bar's segments in order: what arrived, what left (final, then awaiting a receipt),
# what is on its way, then what went wrong.
BAR_ORDER = (
    "delivered",
    NO_RECEIPT,
    "sent",
    "sending",
    "queued",
    "failed",
    "rejected",
    "undelivered",
    "unknown",
)
BAR_LABELS = {
    NO_RECEIPT: "sent, no receipt",
    "sent": "sent, awaiting receipt",
    "sending": "in flight",
}
# States whose messages left for the gateway: they count as sent ("N of M sent").
LEFT_STATES = ("sent", "delivered", "undelivered")
# Messages a second are measured over this window (or since the first message went, if later).
RATE_WINDOW = timedelta(minutes=1)
# A queued message due later than this is waiting (quiet hours, a schedule, a retry's back-off):
# while only such messages are left, the page refreshes every WAITING_POLL seconds, not every 2.
DUE_SOON = timedelta(seconds=5)
POLL_SECONDS = 2  # while something is on its way
CHECKING_POLL = 10  # while unknown messages are still being checked
WAITING_POLL = 60


@dataclass
class Progress:
    counts: dict[str, int]  # by stored state, in STATE_ORDER
    total: int
    # Unknown messages reconciliation is still checking with the gateway (see checking_window).
    checking: int = 0
    # Of counts["sent"], those sent longer than RECEIPT_WAIT ago: final, as if a receipt had come.
    no_receipt: int = 0
    # Messages leaving the queue a second while some are still to go; None before the first.
    rate: float | None = None
    # A message sent before this with no receipt is "sent, no receipt" (see RECEIPT_WAIT).
    no_receipt_before: datetime | None = None
    # Of counts["queued"], those not due within DUE_SOON (quiet hours, a schedule, a back-off):
    # they set how often to poll, and are left out of the time left.
    waiting: int = 0
    # When the first and the last of those are due (None if none is timed: held by a schedule).
    waiting_from: datetime | None = None
    waiting_until: datetime | None = None

    @property
    def polling(self) -> bool:
        """Whether the page refreshes itself: something is on its way, or still being checked."""
        return not self.done or self.checking > 0

    @property
    def moving(self) -> bool:
        """Whether something may change within seconds: unfinished messages that are not waiting."""
        return self.total - self.finished - self.waiting > 0

    @property
    def poll_seconds(self) -> int:
        """How often the page refreshes while polling: often only while something is moving."""
        if self.moving:
            return POLL_SECONDS
        return CHECKING_POLL if self.checking else WAITING_POLL

    @property
    def finished(self) -> int:
        final = sum(n for state, n in self.counts.items() if state in FINAL_STATES)
        return final + self.no_receipt

    @property
    def done(self) -> bool:
        return self.finished >= self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.finished / self.total)

    @property
    def sent(self) -> int:
        """Messages the gateway took: progress, whether or not a receipt came."""
        return sum(self.counts[state] for state in LEFT_STATES)

    @property
    def to_send(self) -> int:
        """Messages not yet handed to the gateway: queued, or being handed over now."""
        return self.counts["queued"] + self.counts["sending"]

    @property
    def due(self) -> int:
        """Messages to send that are not waiting: the ones the rate and the time left are about."""
        return self.to_send - self.waiting

    @property
    def bar(self) -> dict[str, int]:
        """The counts as the stacked bar shows them (BAR_ORDER): sent split by receipt wait."""
        split = self.counts | {"sent": self.counts["sent"] - self.no_receipt}
        return {key: self.no_receipt if key == NO_RECEIPT else split[key] for key in BAR_ORDER}

    @property
    def seconds_left(self) -> float | None:
        """At the current rate, how long until every message due has left; None if it cannot say.
        Waiting ones are not counted: they go when they are due, whatever the rate."""
        if not self.due or not self.rate:
            return None
        return self.due / self.rate

    @property
    def rate_text(self) -> str:
        return rate_words(self.rate or 0)

    @property
    def time_left_text(self) -> str:
        seconds = self.seconds_left
        return "no telling how long" if seconds is None else duration_words(seconds)


def rate_words(rate: float) -> str:
    """Messages a second as a reader wants it: whole numbers from 10 up, one decimal below, and
    "1 message every N seconds" below one a second."""
    if 0 < rate < 1 and round(1 / rate) > 1:
        return f"1 message every {round(1 / rate):,} seconds"
    value = f"{rate:,.0f}" if rate >= 10 else f"{rate:.1f}".removesuffix(".0")
    return f"{value} {'message' if value == '1' else 'messages'} a second"


def duration_words(seconds: float) -> str:
    """Roughly how long: "less than a minute", "about 3 minutes", "about 2 hours 5 minutes"."""
    minutes = round(seconds / 60)
    if seconds < 60 or not minutes:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return "about " + " ".join(parts)


def _left_at():
    """When a message left the queue: sent, or else when it last changed (failed, unknown…)."""
    return sa.func.coalesce(Message.sent_at, Message.updated_at)


def _counted(session: so.Session, batch: Batch, state: str, *conditions) -> int:
    """The batch's current messages (not superseded) in `state` that meet `conditions`."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Message)
            .where(
                Message.batch_id == batch.id,
                Message.state == state,
                Message.superseded.is_(False),
                *conditions,
            )
        )
        or 0
    )


def _no_receipt(session: so.Session, batch: Batch, now: datetime) -> int:
    return _counted(session, batch, "sent", _left_at() < now - RECEIPT_WAIT)


def _rate(session: so.Session, batch: Batch, now: datetime) -> float | None:
    """Messages leaving the queue a second over the last RATE_WINDOW, or since the first left if
    that is more recent; None while none has left."""
    since = now - RATE_WINDOW
    left_at = _left_at()
    recent, first = session.execute(
        sa.select(sa.func.sum(sa.case((left_at >= since, 1), else_=0)), sa.func.min(left_at)).where(
            Message.batch_id == batch.id,
            Message.superseded.is_(False),
            Message.state.not_in(("queued", "sending")),
        )
    ).one()
    if first is None:
        return None
    # At least a second, so the first few messages do not promise thousands a second.
    seconds = max((now - max(first, since)).total_seconds(), 1.0)
    return (recent or 0) / seconds


def progress(
    session: so.Session,
    batch: Batch,
    now: datetime | None = None,
    reconcile: ReconcileSettings | None = None,
) -> Progress:
    now = now or utcnow()
    rows = session.execute(
        sa.select(Message.state, sa.func.count())
        .where(Message.batch_id == batch.id, Message.superseded.is_(False))
        .group_by(Message.state)
    ).all()
    counts = dict.fromkeys(STATE_ORDER, 0) | {state: n for state, n in rows}
    checking = 0
    if counts[UNKNOWN]:
        since = now - checking_window(reconcile or ReconcileSettings())
        # updated_at is when it went unknown: reconciliation keeps it while the message stays so.
        checking = (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Message)
                .where(
                    Message.batch_id == batch.id,
                    Message.superseded.is_(False),
                    Message.state == UNKNOWN,
                    Message.updated_at >= since,
                )
            )
            or 0
        )
    # The reads below cost a row per message: only when they can change what is shown. None of a
    # batch's messages was sent before the batch was made, so a newer batch has none past the wait.
    stale = counts["sent"] and batch.created_at <= now - RECEIPT_WAIT
    no_receipt = _no_receipt(session, batch, now) if stale else 0
    to_send = counts["queued"] + counts["sending"]
    waiting, waiting_from, waiting_until = (
        _waiting(session, batch, now) if counts["queued"] else (0, None, None)
    )
    return Progress(
        counts=counts,
        total=sum(counts.values()),
        checking=checking,
        no_receipt=no_receipt,
        rate=_rate(session, batch, now) if to_send else None,
        no_receipt_before=now - RECEIPT_WAIT,
        waiting=waiting,
        waiting_from=waiting_from,
        waiting_until=waiting_until,
    )


def _waiting(
    session: so.Session, batch: Batch, now: datetime
) -> tuple[int, datetime | None, datetime | None]:
    """Queued messages not due within DUE_SOON (held: no next attempt; or due later), and when
    the first and the last of them are due."""
    count, first, last = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.min(Message.next_attempt_at),
            sa.func.max(Message.next_attempt_at),
        ).where(
            Message.batch_id == batch.id,
            Message.state == "queued",
            Message.superseded.is_(False),
            sa.or_(Message.next_attempt_at.is_(None), Message.next_attempt_at > now + DUE_SOON),
        )
    ).one()
    return count or 0, first, last


# Messages a page of the batch page lists.
MESSAGES_PAGE = 200


@dataclass(frozen=True)
class MessagePage:
    rows: list[tuple[Message, str]]  # each message with its recipient's name
    page: int
    total: int  # the batch's messages (in the state chosen)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // MESSAGES_PAGE))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first(self) -> int:
        """The number of the page's first message in the list (1-based)."""
        return (self.page - 1) * MESSAGES_PAGE + 1


def message_page(session: so.Session, batch: Batch, state: str | None, page: int) -> MessagePage:
    """One page of the batch's messages, resent ones included; in `state`, when chosen, as the
    progress counts them: resent ones left out, their copies in. A page past the last is the last
    (the list got shorter, say as messages moved to another state)."""
    first = messages(session, batch, state=state) if page <= 1 else None
    if first is not None and len(first) < MESSAGES_PAGE:
        return MessagePage(first, 1, len(first))  # all of them: no need to count
    query = sa.select(sa.func.count()).select_from(Message).where(Message.batch_id == batch.id)
    if state:
        query = query.where(Message.state == state, Message.superseded.is_(False))
    total = session.scalar(query) or 0
    if first is not None:
        return MessagePage(first, 1, total)
    # Counted first: an offset past PostgreSQL's integers (a page number typed) is never asked.
    page = min(page, max(1, -(-total // MESSAGES_PAGE)))
    rows = messages(session, batch, state=state, offset=(page - 1) * MESSAGES_PAGE)
    return MessagePage(rows, page, total)


def messages(
    session: so.Session,
    batch: Batch,
    *,
    state: str | None = None,
    limit: int = MESSAGES_PAGE,
    offset: int = 0,
) -> list[tuple[Message, str]]:
    """Messages with the recipient's name, by id; in `state`, not those resent, as it counts
    them."""
    person = sa.case(
        (
            Message.candidate_id.is_not(None),
            sa.select(Candidate.first_name + " " + Candidate.last_name)
            .where(Candidate.id == Message.candidate_id)
            .scalar_subquery(),
        ),
        else_=sa.select(ClientContact.first_name + " " + ClientContact.last_name)
        .where(ClientContact.id == Message.contact_id)
        .scalar_subquery(),
    )
    query = sa.select(Message, person).where(Message.batch_id == batch.id)
    if state:
        query = query.where(Message.state == state, Message.superseded.is_(False))
    query = query.order_by(Message.id).limit(limit).offset(offset)
    return [(message, name or "") for message, name in session.execute(query).all()]


LEFT_OUT = (
    ("opted_out", "opted out"),
    ("blocked_country", "in a blocked country"),
    ("invalid_number", "invalid number"),
    ("no_mobile", "no mobile"),
    ("duplicate", "same number as another recipient"),
    ("removed", "taken off by the sender"),
)


def left_out(batch: Batch) -> list[tuple[int, str]]:
    """Who was chosen but not sent to, and why, as recorded when the batch was sent."""
    counts = batch.outcome_counts or {}
    return [(counts[key], label) for key, label in LEFT_OUT if counts.get(key)]


RESENDABLE = ("failed", "unknown")
# What a resent copy keeps of its original: the person and the text as it was sent. Not the
# number: a copy goes to the mobile on the record now (the usual reason to resend is a wrong
# number, corrected since).
COPIED = ("candidate_id", "contact_id", "body", "segments", "encoding")
# Gateways that would deliver a second copy of a message they already took (no same-reference
# refusal, as SMS Central's 513): their unknown messages are left to reconciliation until it gives
# up on them. The sandbox sends nothing, so a second copy reaches nobody.
CHECKED_BEFORE_RESEND = frozenset(
    provider.name
    for provider in (SmsCentral, Twilio)
    if not getattr(provider, "same_reference_is_refused", False)
)


@dataclass(frozen=True)
class Checking:
    """Unknown messages held back from Resend while reconciliation asks the gateway about them."""

    count: int = 0
    until: datetime | None = None  # when Resend is offered for the last of them


def _held_back(now: datetime, settings: ReconcileSettings):
    """The condition of an unknown message reconciliation may still settle: a Resend now could
    deliver it twice (it was unknown for less than `give_up`, at a gateway without protection)."""
    return sa.and_(
        Message.state == UNKNOWN,
        Message.provider.in_(sorted(CHECKED_BEFORE_RESEND)),
        Message.updated_at > now - settings.give_up,
    )


def checking(
    session: so.Session,
    batch: Batch,
    now: datetime | None = None,
    settings: ReconcileSettings | None = None,
) -> Checking:
    """How many of the batch's unknown messages are held back from Resend, and until when."""
    settings = settings or ReconcileSettings()
    count, last = session.execute(
        sa.select(sa.func.count(), sa.func.max(Message.updated_at)).where(
            Message.batch_id == batch.id,
            Message.superseded.is_(False),
            _held_back(now or utcnow(), settings),
        )
    ).one()
    return Checking(count, last + settings.give_up if count and last is not None else None)


def _resendable_now(
    batch: Batch,
    states: tuple[str, ...],
    now: datetime | None,
    settings: ReconcileSettings | None,
):
    """The condition of the batch's messages in `states` that Resend may queue again now: not
    resent already, and not held back while reconciliation may still settle them."""
    held = _held_back(now or utcnow(), settings or ReconcileSettings())
    return sa.and_(
        Message.batch_id == batch.id,
        Message.state.in_(states),
        Message.superseded.is_(False),
        sa.not_(held),
    )


def resendable_counts(
    session: so.Session,
    batch: Batch,
    now: datetime | None = None,
    settings: ReconcileSettings | None = None,
) -> dict[str, int]:
    """Per state, how many messages Resend may queue again now (see `checking` for the rest)."""
    rows = session.execute(
        sa.select(Message.state, sa.func.count())
        .where(_resendable_now(batch, RESENDABLE, now, settings))
        .group_by(Message.state)
    ).all()
    return dict.fromkeys(RESENDABLE, 0) | dict(rows)


def _resendable(
    session: so.Session,
    batch: Batch,
    states: tuple[str, ...],
    lock: bool = False,
    now: datetime | None = None,
    settings: ReconcileSettings | None = None,
    upto: int | None = None,
) -> list[Message]:
    query = (
        sa.select(Message).where(_resendable_now(batch, states, now, settings)).order_by(Message.id)
    )
    if upto is not None:
        query = query.where(Message.id <= upto)
    if lock:
        # Reconciliation may queue an `unknown` message again at this very moment: holding the rows
        # (SQLite: the write lock) means either it sees them superseded or we see them queued.
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query))


def _still_opted_out(
    session: so.Session, originals: list[Message]
) -> dict[int, tuple[str, int, str]]:
    """Of the messages sent under Ignore, those whose person has still not ticked SMS, by message
    id, with who they are (kind, id, name) for the audit log."""
    overridden = [m for m in originals if m.override_opt_out]
    out: dict[int, tuple[str, int, str]] = {}
    for kind in KINDS:
        model, column = kind.model, kind.person_column
        ids = {getattr(m, column) for m in overridden if getattr(m, column)}
        if not ids:
            continue
        opted_out = {
            row.id: person_name(row)
            for row in session.execute(
                sa.select(model.id, model.first_name, model.last_name).where(
                    model.id.in_(ids), model.sms_consent.is_(False)
                )
            )
        }
        for message in overridden:
            person = getattr(message, column)
            if person in opted_out:
                out[message.id] = (kind.singular, person, opted_out[person])
    return out


def _mobiles_now(
    session: so.Session, originals: list[Message]
) -> dict[int, tuple[str, str | None]]:
    """Of `originals`, those whose person has a valid mobile on their record now, by message id,
    with that number and its region: where a copy goes. One query a kind."""
    out: dict[int, tuple[str, str | None]] = {}
    for kind in KINDS:
        model, column = kind.model, kind.person_column
        ids = {getattr(m, column) for m in originals if getattr(m, column)}
        if not ids:
            continue
        mobiles = {
            row.id: (row.mobile_e164, row.mobile_region)
            for row in session.execute(
                sa.select(model.id, model.mobile_e164, model.mobile_region).where(
                    model.id.in_(ids), model.mobile_valid.is_(True), model.mobile_e164.is_not(None)
                )
            )
        }
        for message in originals:
            if (person := getattr(message, column)) in mobiles:
                out[message.id] = mobiles[person]
    return out


def needing_ignore(session: so.Session, batch: Batch) -> dict[str, int]:
    """Per resendable state, how many were sent under Ignore to people still opted out: resending
    to them is a new Ignore (those with no valid mobile now are not counted: they are skipped)."""
    originals = _resendable(session, batch, RESENDABLE)
    mobiles = _mobiles_now(session, originals)
    return _needing_ignore(session, [m for m in originals if m.id in mobiles])


def _needing_ignore(session: so.Session, originals: list[Message]) -> dict[str, int]:
    still_out = _still_opted_out(session, originals)
    counts = dict.fromkeys(RESENDABLE, 0)
    for message in originals:
        if message.id in still_out:
            counts[message.state] += 1
    return counts


def fingerprint(originals: Iterable[Message]) -> str:
    """Which messages these are, in a few characters a form can carry back: the same set of
    messages gives the same text, any other set (almost surely) another."""
    ids = ",".join(str(message_id) for message_id in sorted(m.id for m in originals))
    return hashlib.sha256(ids.encode()).hexdigest()[:20]


def _copy(
    original: Message,
    batch: Batch,
    actor: User,
    now: datetime,
    *,
    to: tuple[str, str | None],
    override_opt_out: bool,
    quiet: quiet_hours.QuietUntil | None = None,
) -> Message:
    """A new queued message in `batch` with `original`'s recipient and text, sent by `actor` to
    `to` (the record's mobile now, and its region); due at the end of the recipient's quiet hours
    if `now` is in them."""
    to_e164, to_region = to
    until = quiet(to_e164, now) if quiet is not None else None
    return Message(
        **{column: getattr(original, column) for column in COPIED},
        to_e164=to_e164,
        to_region=to_region,
        batch_id=batch.id,
        direction="out",
        sender_id=actor.id,
        state="queued",
        override_opt_out=override_opt_out,
        # Through the account the original was queued for: its sender, and its reference below.
        provider=original.provider,
        account_id=original.account_id,
        resend_of_id=original.id,
        next_attempt_at=until or now,
        quiet_until=until,
        # An unknown one may have arrived: the same reference lets SMS Central refuse the copy
        # (513, "duplicate") instead of delivering it twice. A failed one never went. A copy to
        # another number (the mobile corrected since) is another message: with the original's
        # reference its 513 would count as sent though it never went, and the old number's
        # receipt would be taken for it. It gets its own (the uuid, as every new message).
        reference=(
            original.reference
            if original.state == "unknown" and to_e164 == original.to_e164
            else None
        ),
    )


@dataclass(frozen=True)
class ResendOffer:
    """What the Resend confirmation offers: per state, how many it may queue again now, how many
    of those need a new Ignore, and the unknown ones held back while the gateway is asked."""

    counts: dict[str, int]
    needing_ignore: dict[str, int]
    checking: Checking
    # The batch's newest message id as offered: the page posts it back, so a second press (or
    # another tab's same page) cannot resend the copies the first press made, failed meanwhile.
    upto: int | None = None
    # Per state, the fingerprint of the messages offered: the page posts it back, so a message
    # that failed (or came out of `checking`) after the page opened is not resent unoffered.
    offered: dict[str, str] = field(default_factory=dict)
    # Per state, how many of those have no valid mobile on their record now: skipped.
    no_mobile: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESENDABLE, 0))


def resend_offer(session: so.Session, batch: Batch) -> ResendOffer:
    upto = session.scalar(sa.select(sa.func.max(Message.id)).where(Message.batch_id == batch.id))
    originals = _resendable(session, batch, RESENDABLE, upto=upto)
    mobiles = _mobiles_now(session, originals)
    counts = dict.fromkeys(RESENDABLE, 0)
    no_mobile = dict.fromkeys(RESENDABLE, 0)
    for message in originals:
        counts[message.state] += 1
        if message.id not in mobiles:
            no_mobile[message.state] += 1
    return ResendOffer(
        counts,
        # Of those the copies would reach only: one with no mobile now is skipped either way.
        _needing_ignore(session, [m for m in originals if m.id in mobiles]),
        checking(session, batch),
        upto,
        {state: fingerprint(m for m in originals if m.state == state) for state in RESENDABLE},
        no_mobile,
    )


def copies_just_made(
    session: so.Session,
    batch: Batch,
    actor: User,
    upto: int | None,
    states: tuple[str, ...],
    within: timedelta,
) -> int:
    """How many copies `actor` made in the last `within` of `batch`'s messages in `states`: since
    a Resend page was opened (`upto`, ResendOffer.upto), of the messages it offered. A Resend
    finding nothing left after such copies is the same press again."""
    original = so.aliased(Message)
    query = (
        sa.select(sa.func.count())
        .select_from(Message)
        .join(original, original.id == Message.resend_of_id)
        .where(
            Message.batch_id == batch.id,
            Message.sender_id == actor.id,
            Message.created_at >= utcnow() - within,
            original.state.in_(states),
        )
    )
    if upto is not None:
        query = query.where(original.id <= upto, Message.id > upto)
    return session.scalar(query) or 0


@dataclass(frozen=True)
class Resent:
    queued: int
    # Sent under Ignore to people still opted out, and resent without a new Ignore: left alone.
    skipped: int
    # To people with no valid mobile on their record now (or no record): nowhere to resend to.
    no_mobile: int = 0


def resend(
    session: so.Session,
    batch: Batch,
    actor: User,
    states: tuple[str, ...],
    *,
    ignore: bool = False,
    reason: str = "",
    limit_settings: limits.LimitSettings | None = None,
    alert_settings: alerts.AlertSettings | None = None,
    quiet: quiet_hours.QuietSettings | None = None,
    upto: int | None = None,
    offered: Mapping[str, str] | None = None,
) -> Resent:
    """Queue a fresh copy of each failed (and, if asked, unknown) message; audited. With `upto`
    (ResendOffer.upto, as the confirmation offered), only messages that existed then: a copy
    made since is another offer's.

    With `offered` (ResendOffer.offered), only the messages the confirmation offered: when those
    of a chosen state are not the ones it offered (one failed, or came out of `checking`, after
    it was made; another tab resent some), nothing is queued and FieldError (409) says so; the
    caller shows the offer as it is now. A state none of whose messages is left resendable (all
    resent or settled meanwhile) is no change: there is nothing of it to resend.

    The copies count against the actor's and the organisation's daily limits like a Send (refused
    whole when they would pass one) and can raise volume alerts (webapp.sms.limits, .alerts).

    Unknown messages reconciliation may still settle (see `checking`) are left alone.

    A copy goes to the mobile on the person's record now, not the number the original went to
    (corrected since, most often the reason to resend); a person with no valid mobile now is
    skipped (Resent.no_mobile).

    The originals stay as they were, marked superseded, so the history shows both attempts. A
    message sent under Ignore to someone who is still opted out is a new Ignore: it needs the
    permission and a reason, audited like one; without `ignore` it is skipped. The copy never
    inherits the old override, so someone who ticked SMS since gets an ordinary message.
    """
    if ignore and not actor.can("sms.ignore_opt_out"):
        raise FieldError("You do not have permission to ignore SMS opt-outs.", "ignore", 403)
    states = tuple(state for state in states if state in RESENDABLE)
    begin_write(session)
    originals = _resendable(session, batch, states, lock=True, upto=upto)
    if offered is not None:
        for state in states:
            now_of = [m for m in originals if m.state == state]
            if now_of and fingerprint(now_of) != offered.get(state):
                raise FieldError(
                    "The failed or unknown messages changed since this page was opened, so "
                    "nothing was resent. Below is what can be resent now: check it and press "
                    "Resend again.",
                    "form",
                    409,
                )
    mobiles = _mobiles_now(session, originals)
    no_mobile = [m for m in originals if m.id not in mobiles]
    reachable = [m for m in originals if m.id in mobiles]
    still_out = _still_opted_out(session, reachable)
    if ignore:
        reason = ignore_reason(reason)
    skipped = [] if ignore else [m for m in reachable if m.id in still_out]
    chosen = [m for m in reachable if ignore or m.id not in still_out]
    if chosen:
        limit_settings = limit_settings or limits.LimitSettings()
        limits.check(session, actor, len(chosen), limit_settings, resend=True)
    now = utcnow()
    quiet_until = quiet_hours.planner(session, actor, quiet) if chosen else None
    for original in chosen:
        original.superseded = True
        session.add(
            _copy(
                original,
                batch,
                actor,
                now,
                to=mobiles[original.id],
                override_opt_out=original.id in still_out,
                quiet=quiet_until,
            )
        )
    overridden = [m for m in chosen if m.id in still_out]
    if overridden:
        audit(
            session,
            actor,
            "sms.ignore_opt_out",
            batch,
            reason=reason,
            resend=True,
            **overridden_people(
                batch.kind, [(still_out[m.id][1], mobiles[m.id][0]) for m in overridden]
            ),
        )
    if originals:
        details = {
            "messages": len(chosen),
            "states": {state: sum(1 for m in chosen if m.state == state) for state in states},
        }
        if skipped:
            details["skipped_opted_out"] = len(skipped)
        if no_mobile:
            details["skipped_no_mobile"] = len(no_mobile)
        audit(session, actor, "sms.resent", batch, **details)
    if chosen:
        regions = (mobiles[m.id][1] for m in chosen)
        alerts.after_send(
            session, actor, batch, regions, alert_settings or alerts.AlertSettings(), started=now
        )
    session.commit()
    return Resent(queued=len(chosen), skipped=len(skipped), no_mobile=len(no_mobile))
