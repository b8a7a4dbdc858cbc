"""SMS templates, compose drafts, batches and messages (the outbox and the inbox in one table)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models.base import Base, UTCDateTime, index_where_set, partial_index, utcnow
from webapp.models.users import User

RECORD_TYPES = {
    "both": "Candidates and contacts",
    "candidate": "Candidates",
    "contact": "Client contacts",
}

# Outbound states in rank order: a receipt may move a message forwards, never backwards.
QUEUED, SENDING, SENT, DELIVERED = "queued", "sending", "sent", "delivered"
FAILED, REJECTED, UNDELIVERED, UNKNOWN = "failed", "rejected", "undelivered", "unknown"
RECEIVED = "received"
STATE_RANK = {
    QUEUED: 0,
    SENDING: 1,
    UNKNOWN: 2,
    SENT: 3,
    FAILED: 4,
    REJECTED: 4,
    UNDELIVERED: 4,
    DELIVERED: 5,
}
FINAL_STATES = frozenset({DELIVERED, FAILED, REJECTED, UNDELIVERED, UNKNOWN})
# The conditions of the partial indexes the Replies inbox reads, as SQL text: a query uses such an
# index only when its WHERE holds the same terms (SQLite needs them literally, not as parameters).
REPLIES_ONLY = "direction = 'in'"
UNREAD_ONLY = "direction = 'in' AND read_at IS NULL"
OUTBOUND_ONLY = "direction = 'out'"
# A batch due later that has neither gone nor been cancelled (ix_batches_due).
WAITING_TO_GO = "send_at IS NOT NULL AND released_at IS NULL AND cancelled_at IS NULL"
# When a batch went (Batch.went_at): released, else due, else written.
WENT_AT = "coalesce(released_at, send_at, created_at)"


def new_uuids(
    count: int, at: datetime | None = None, random_bytes: Callable[[int], bytes] = os.urandom
) -> list[str]:
    """`count` time-ordered UUIDs (version 7, RFC 9562) as text: the Unix time in milliseconds
    (now, or `at`), then 74 random bits.

    Messages written together then sit together in the uuid and reference indexes, on a few
    pages, where random (version 4) UUIDs put each of a Send's messages on a page of its own;
    PostgreSQL writes each page first changed after a checkpoint whole to its log. The random
    bits come from one read of `random_bytes` (the system's random source).
    """
    stamp = int((at or datetime.now(UTC)).timestamp() * 1000).to_bytes(6, "big")
    raw = bytearray(random_bytes(16 * count))
    for position, byte in enumerate(stamp):
        raw[position::16] = bytes((byte,)) * count
    raw[6::16] = bytes(byte & 0x0F | 0x70 for byte in raw[6::16])  # the version: 7
    raw[8::16] = bytes(byte & 0x3F | 0x80 for byte in raw[8::16])  # the variant: RFC 9562's
    text = raw.hex()
    return [
        f"{text[i : i + 8]}-{text[i + 8 : i + 12]}-{text[i + 12 : i + 16]}-"
        f"{text[i + 16 : i + 20]}-{text[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def new_uuid() -> str:
    return new_uuids(1)[0]


class SmsTemplate(Base):
    __tablename__ = "sms_templates"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    folder: so.Mapped[str] = so.mapped_column(sa.String(120), default="General")
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    owner_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    shared: so.Mapped[bool] = so.mapped_column(default=True)
    record_type: so.Mapped[str] = so.mapped_column(sa.String(20), default="both")
    # A job alert or marketing text: the SMS screen appends the organisation's opt-out line.
    commercial: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Loaded only if read (no page shows it): joined, every list of templates (the SMS screen's,
    # the Templates page) also loaded each owner's roles and their permissions, two queries more.
    owner: so.Mapped[User | None] = so.relationship()

    @classmethod
    def seen_by(cls, user_id: int) -> sa.ColumnElement[bool]:
        """Whether a user sees a template: the shared ones and their own."""
        return sa.or_(cls.shared.is_(True), cls.owner_id == user_id)


class BlockedRegion(Base):
    """A region a gateway will not deliver to; data, so an administrator can change it."""

    __tablename__ = "blocked_regions"
    __table_args__ = (sa.UniqueConstraint("provider", "region"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    provider: so.Mapped[str] = so.mapped_column(sa.String(20))
    region: so.Mapped[str] = so.mapped_column(sa.String(2))
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    reason: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    effective_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Setting(Base):
    """A setting changed from the admin pages; absent keys fall back to the environment."""

    __tablename__ = "settings"

    key: so.Mapped[str] = so.mapped_column(sa.String(60), primary_key=True)
    value: so.Mapped[Any] = so.mapped_column(sa.JSON)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ComposeDraft(Base):
    """One SMS screen kept server-side: who was chosen, and what the user has typed and ticked so
    far, so the form carries only a token and closing, Back or a reload lose nothing.

    A draft becomes at most one Batch (unique draft_id there): that is what makes Send idempotent.
    """

    __tablename__ = "compose_drafts"
    # Bulk SMS for a selection already open today reopens its draft: found by this pair.
    __table_args__ = (sa.Index("ix_compose_drafts_user_selection", "user_id", "selection"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    person_ids: so.Mapped[list[int]] = so.mapped_column(sa.JSON)
    # A digest of kind and person_ids in order, so the same selection is found without reading
    # every draft's (up to 50,000) ids.
    selection: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    removed_ids: so.Mapped[list[int]] = so.mapped_column(sa.JSON, default=list)
    message: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # The template last put into the Message (its text is what "unchanged" is measured against).
    template_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("sms_templates.id", ondelete="SET NULL")
    )
    ignore: so.Mapped[bool] = so.mapped_column(default=False)
    ignore_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    comment: so.Mapped[bool] = so.mapped_column(default=False)
    comment_type: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    comment_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # Ticked "Commercial message" (or its template is commercial): the opt-out line is appended.
    commercial: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    # "Send at" as typed on the SMS screen ("": send now), shown back and judged at Send as it is;
    # and the moment it names, in UTC, for planning (None when it names none).
    send_at_typed: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    send_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class Batch(Base):
    __tablename__ = "batches"
    # The Sent page: a sender's batches (or everyone's) by when they went, newest first, read in
    # index order (migration 0027).
    __table_args__ = (
        sa.Index("ix_batches_sender_went", "sender_id", "went_at", "id"),
        sa.Index("ix_batches_went", "went_at", "id"),
        # The worker's look for scheduled batches now due reads only those still waiting.
        partial_index("ix_batches_due", "send_at", where=WAITING_TO_GO),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    draft_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("compose_drafts.id", ondelete="SET NULL"), unique=True
    )
    sender_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    template_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("sms_templates.id", ondelete="SET NULL")
    )
    # The template's name when the batch was sent: renaming the template later does not rename
    # the batches sent with it (None: typed, not from a template).
    template_name: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    ignore_opt_out: so.Mapped[bool] = so.mapped_column(default=False)
    comment_type: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    comment_text: so.Mapped[str | None] = so.mapped_column(sa.Text)
    provider: so.Mapped[str] = so.mapped_column(sa.String(20))
    # Marked commercial (by its template or its sender); the opt-out line its messages carried.
    commercial: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    opt_out_line: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    message_count: so.Mapped[int] = so.mapped_column(default=0)
    outcome_counts: so.Mapped[dict[str, int]] = so.mapped_column(sa.JSON, default=dict)
    # Send later: due at send_at (None: sent at once). Its messages wait queued with no
    # next_attempt_at until the worker releases the batch, or its sender cancels it.
    send_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    released_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    cancelled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    cancelled_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    # When it went, as the Sent page lists and filters it: released (a scheduled batch, whose
    # messages are dated then), else when it is or was due (scheduled, or cancelled before it
    # went), else written (sent at once). Kept by the database (stored on PostgreSQL, computed
    # on read on SQLite), so no release, edit or cancel can leave it behind.
    went_at: so.Mapped[datetime] = so.mapped_column(
        UTCDateTime, sa.Computed(WENT_AT, persisted=True)
    )
    sender: so.Mapped[User] = so.relationship(lazy="joined", foreign_keys=[sender_id])
    template: so.Mapped[SmsTemplate | None] = so.relationship(lazy="joined")

    @property
    def scheduled(self) -> bool:
        """Due later and still waiting: neither released nor cancelled."""
        return is_scheduled(self.send_at, self.released_at, self.cancelled_at)


def is_scheduled(
    send_at: datetime | None, released_at: datetime | None, cancelled_at: datetime | None
) -> bool:
    """Whether a batch with these times is due later and still waiting (Batch.scheduled)."""
    return send_at is not None and released_at is None and cancelled_at is None


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        sa.Index("ix_messages_claim", "state", "next_attempt_at", "id"),
        # A batch's messages counted by state (its page, the Sent page) from the index alone.
        sa.Index("ix_messages_batch_state", "batch_id", "state", "superseded"),
        # A message is about a candidate or a contact (or nobody): each of these two indexes, and
        # those below of the columns that are empty until a gateway answers or for all but a
        # reply or a resend, holds only the rows that have a value (migration 0019).
        index_where_set("ix_messages_candidate", "candidate_id", "created_at"),
        index_where_set("ix_messages_contact", "contact_id", "created_at"),
        sa.Index("ix_messages_to_e164", "to_e164", "created_at"),
        # Gateways retry their pushes: one row per gateway message id is what makes them idempotent.
        # Per direction: a reply's id may be one a sent message took from a receipt (0026).
        partial_index(
            "ux_messages_provider_message_id",
            "provider",
            "direction",
            "provider_message_id",
            where="provider_message_id IS NOT NULL",
            unique=True,
        ),
        # Deleting a message (a cancelled scheduled send) looks for the rows that refer to it.
        index_where_set("ix_messages_in_reply_to_id", "in_reply_to_id"),
        index_where_set("ix_messages_resend_of_id", "resend_of_id"),
        # The Replies inbox holds replies only: a user's newest first, everyone's newest first, and
        # the unread count, which reads only the (few) unread replies' index entries.
        partial_index(
            "ix_messages_replies_to", "sender_id", "created_at", "id", where=REPLIES_ONLY
        ),
        partial_index("ix_messages_replies", "created_at", "id", where=REPLIES_ONLY),
        # read_at (always null here) too, so SQLite picks it without statistics: it then
        # matches two terms of the count's WHERE, where ix_messages_replies_to matches one.
        partial_index("ix_messages_unread", "sender_id", "read_at", where=UNREAD_ONLY),
        # Sending limits and volume alerts count outbound messages by sender, by time and by
        # destination country (webapp.sms.limits, webapp.sms.alerts).
        partial_index("ix_messages_out_sender", "sender_id", "created_at", where=OUTBOUND_ONLY),
        partial_index("ix_messages_out_created", "created_at", where=OUTBOUND_ONLY),
        partial_index("ix_messages_out_region", "to_region", "created_at", where=OUTBOUND_ONLY),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), unique=True, default=new_uuid)
    # The gateway reference (SMS Central's REFERENCE): the uuid, except that a resend of an
    # `unknown` message to the same number reuses the original's, so the gateway refuses it if the
    # first one went (to a corrected number it is a new message, with its own).
    reference: so.Mapped[str | None] = so.mapped_column(sa.String(36), index=True)
    batch_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("batches.id", ondelete="CASCADE")
    )
    direction: so.Mapped[str] = so.mapped_column(sa.String(3), default="out")
    candidate_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("candidates.id", ondelete="SET NULL")
    )
    contact_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("client_contacts.id", ondelete="SET NULL")
    )
    # Outbound: who sent it. Inbound: the sender of the message it answers (whose reply it is).
    sender_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    in_reply_to_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("messages.id"))
    to_e164: so.Mapped[str] = so.mapped_column(sa.String(20))
    # Kept so the send-time country check needs no parsing (numbers are parsed once, when written).
    to_region: so.Mapped[str | None] = so.mapped_column(sa.String(2))
    from_e164: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    segments: so.Mapped[int] = so.mapped_column(default=1)
    encoding: so.Mapped[str] = so.mapped_column(sa.String(8), default="GSM-7")
    state: so.Mapped[str] = so.mapped_column(sa.String(12), default=QUEUED)
    override_opt_out: so.Mapped[bool] = so.mapped_column(default=False)
    # Set when a consultant resent this message: the new copy counts for the batch instead.
    superseded: so.Mapped[bool] = so.mapped_column(default=False)
    # Indexed (above), as every column that refers to a message.
    resend_of_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("messages.id"))
    provider: so.Mapped[str] = so.mapped_column(sa.String(20))
    # The SMS account it was queued for (or a reply came in through); None: the default account.
    account_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("sms_accounts.id"))
    provider_message_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    error_code: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    error_text: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Held by quiet hours: when the window ends for its recipient (None: not held).
    quiet_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    lease_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    delivered_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # A reply (inbound) is unread until the consultant it is addressed to opens it or marks it read.
    read_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    batch: so.Mapped[Batch | None] = so.relationship()


class InboundPart(Base):
    """One part of a long inbound SMS, kept until all its parts have arrived."""

    __tablename__ = "inbound_parts"
    __table_args__ = (
        sa.UniqueConstraint("provider", "provider_message_id"),
        sa.Index("ix_inbound_parts_message", "provider", "originator", "concat_ref", "total"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    provider: so.Mapped[str] = so.mapped_column(sa.String(20))
    # The SMS account it came through (None: the default): parts join only within one account.
    account_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("sms_accounts.id"))
    originator: so.Mapped[str] = so.mapped_column(sa.String(20))
    concat_ref: so.Mapped[int]
    total: so.Mapped[int]
    seq: so.Mapped[int]
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    provider_message_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    reference: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    used: so.Mapped[bool] = so.mapped_column(default=False)
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Email(Base):
    """The email outbox: written in the same transaction as what caused it, sent with retries."""

    __tablename__ = "emails"
    __table_args__ = (sa.Index("ix_emails_due", "state", "next_attempt_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    to_address: so.Mapped[str] = so.mapped_column(sa.String(254))
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    # queued → sent or failed (→ discarded); `kept` in a demo with no mail server (never sent)
    state: so.Mapped[str] = so.mapped_column(sa.String(12), default="queued")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    message_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


@sa.event.listens_for(Message, "before_insert")
def _outbound_reference(_mapper, _connection, message: Message) -> None:
    """An outbound message without a reference is known to the gateway by its own uuid."""
    if message.uuid is None:
        message.uuid = new_uuid()
    if message.direction == "out" and message.reference is None:
        message.reference = message.uuid
