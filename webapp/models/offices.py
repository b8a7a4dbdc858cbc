"""Offices, and the SMS accounts that serve offices and destination countries."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models.base import Base, UTCDateTime, utcnow

sms_account_offices = sa.Table(
    "sms_account_offices",
    Base.metadata,
    sa.Column("account_id", sa.ForeignKey("sms_accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("office_id", sa.ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
)


class Office(Base):
    """A branch of the agency: its users' default time zone and phone region."""

    __tablename__ = "offices"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    # An IANA zone name; None: the organisation's.
    timezone: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # ISO 3166 code for numbers typed without a country code; None: the organisation's.
    region: so.Mapped[str | None] = so.mapped_column(sa.String(2))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class SmsAccountCountry(Base):
    """A destination country an account serves; one account per country at most."""

    __tablename__ = "sms_account_countries"

    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("sms_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    region: so.Mapped[str] = so.mapped_column(sa.String(2), primary_key=True, unique=True)


class SmsAccountBlocked(Base):
    """A country this account's gateway will not deliver to."""

    __tablename__ = "sms_account_blocked"

    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("sms_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    region: so.Mapped[str] = so.mapped_column(sa.String(2), primary_key=True)


class SmsAccount(Base):
    """One gateway account: its sender, its webhook user name, its secrets encrypted at rest
    (webapp.sms.account_secrets), the offices and countries it serves."""

    __tablename__ = "sms_accounts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    # The name in lower case with hyphens: its webhooks are /webhooks/<provider>/<slug>/….
    slug: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    provider: so.Mapped[str] = so.mapped_column(sa.String(20))  # smscentral | twilio
    api_url: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    username: so.Mapped[str | None] = so.mapped_column(sa.String(120))  # SMS Central
    originator: so.Mapped[str | None] = so.mapped_column(sa.String(20))  # SMS Central sender
    account_sid: so.Mapped[str | None] = so.mapped_column(sa.String(64))  # Twilio
    from_number: so.Mapped[str | None] = so.mapped_column(sa.String(20))  # Twilio From
    messaging_service_sid: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    webhook_username: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    # Encrypted JSON of the API password / auth token and the webhook password; never shown.
    secrets: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # Messages per second across all workers; None: the gateway's default (SMS_RATE_PER_SECOND).
    rate_per_second: so.Mapped[float | None] = so.mapped_column(sa.Float)
    # The next free sending slot under that rate, shared by every worker (webapp.sms.dispatcher).
    next_send_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    active: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    offices: so.Mapped[list[Office]] = so.relationship(
        secondary=sms_account_offices, lazy="selectin", order_by=Office.name
    )
    countries: so.Mapped[list[SmsAccountCountry]] = so.relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by=SmsAccountCountry.region
    )
    blocked: so.Mapped[list[SmsAccountBlocked]] = so.relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by=SmsAccountBlocked.region
    )
