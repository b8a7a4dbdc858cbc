"""Clients, Candidates and Client Contacts: the people an SMS is sent to, with their Privacy
consents."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models.base import Base, UTCDateTime, key_string, utcnow
from webapp.phones import ParsedNumber, normalise

CANDIDATE_STATUSES = ("Active", "Available", "Placed", "Inactive")
CONTACT_STATUSES = ("Active", "Inactive")
# Each Privacy consent column and its label, in one place so forms, saves and the audit log agree.
PRIVACY_FIELDS = {
    "sms_consent": "SMS",
    "email_consent": "Email",
    "mail_consent": "Mail",
    "privacy_statement_read": "Privacy statement read",
}
# Deliberately loose: one @, something either side, a dot in the domain.
# Mail servers decide the rest.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def person_name(person) -> str:
    """A person's name as every page, message and audit entry shows it: first and last name (a
    record, a light row, or a result row of both columns)."""
    return f"{person.first_name} {person.last_name}".strip()


# Typed for ' and - by phones and word processors ("smart punctuation": O’Brien, Te–Rangi), and
# by nobody searching at a desk; NFKC keeps them apart.
SAME_AS_ASCII = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "\u2010": "-",
        "\u2013": "-",
        "\u2014": "-",
    }
)
# Letters people type without their mark ("Lodz" for Łódź) that Unicode does not decompose into a
# letter and an accent; the rest lose their accent as a combining mark (U+0300 to U+036F).
PLAIN_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i"})
_ACCENTS = re.compile("[\u0300-\u036f]")


def name_key(text: str | None) -> str:
    """The form searched by prefix, kept in its own indexed column: one Unicode spelling (NFKC,
    so a decomposed "Zoë" matches a composed one), case folded, single spaces, a curly apostrophe
    or a Unicode hyphen or dash as the plain one, and letters without their accents, so "Jose"
    finds José and "José" finds Jose (migration 0023 has a copy)."""
    key = " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()
    if key.isascii():
        return key
    # Recomposed after: only the accents go, not the parts of a Hangul syllable.
    plain = _ACCENTS.sub("", unicodedata.normalize("NFD", key.translate(SAME_AS_ASCII)))
    return unicodedata.normalize("NFC", plain).translate(PLAIN_LETTERS)


def other_email_key(email_key: str | None, first_key: str, last_key: str) -> str | None:
    """The email's key when the address does not start with the person's own first or last name.

    Most firm addresses do ("olivia.smith@…"); a one-word search finds those people by name
    already, and keeping them out of this column's index spares reading every Olivia's address
    again to find the few whose address alone matches.
    """
    if email_key is None:
        return None
    if any(name and email_key.startswith(name) for name in (first_key, last_key)):
        return None
    return email_key


class Client(Base):
    __tablename__ = "clients"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    name_key: so.Mapped[str] = so.mapped_column(key_string(200), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    @so.validates("name")
    def _keep_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


class Person:
    """Columns and behaviour shared by Candidates and Client Contacts."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    first_name: so.Mapped[str] = so.mapped_column(sa.String(100))
    last_name: so.Mapped[str] = so.mapped_column(sa.String(100))
    first_name_key: so.Mapped[str] = so.mapped_column(key_string(100))
    last_name_key: so.Mapped[str] = so.mapped_column(key_string(100))
    # "first last" and "last first", so a typed whole name is one index range either way round.
    full_name_key: so.Mapped[str] = so.mapped_column(key_string(201))
    reverse_name_key: so.Mapped[str] = so.mapped_column(key_string(201))
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    email_key: so.Mapped[str | None] = so.mapped_column(key_string(254))
    email_other_key: so.Mapped[str | None] = so.mapped_column(key_string(254))  # other_email_key()
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="Active")
    # The mobile as typed, and what phonenumbers made of it when it was written, so that search,
    # analysis and reply matching never parse numbers again.
    mobile_raw: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    mobile_e164: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    mobile_region: so.Mapped[str | None] = so.mapped_column(sa.String(2))
    mobile_valid: so.Mapped[bool] = so.mapped_column(default=False)
    # Privacy section: consents and whether the privacy statement has been read.
    sms_consent: so.Mapped[bool] = so.mapped_column(default=True)
    email_consent: so.Mapped[bool] = so.mapped_column(default=True)
    mail_consent: so.Mapped[bool] = so.mapped_column(default=True)
    privacy_statement_read: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @so.validates("first_name", "last_name", "email")
    def _keep_keys(self, key: str, value: str | None) -> str | None:
        setattr(self, f"{key}_key", name_key(value) if value else (None if key == "email" else ""))
        if key != "email":
            first = self.first_name_key or ""
            last = self.last_name_key or ""
            self.full_name_key = f"{first} {last}"
            self.reverse_name_key = f"{last} {first}"
        self.email_other_key = other_email_key(
            self.email_key, self.first_name_key or "", self.last_name_key or ""
        )
        return value

    full_name = property(person_name)

    def set_mobile(self, raw: str | None, default_region: str) -> ParsedNumber:
        parsed = normalise(raw, default_region)
        self.mobile_raw = parsed.raw
        self.mobile_e164 = parsed.e164
        self.mobile_region = parsed.region
        self.mobile_valid = parsed.valid
        return parsed


def _person_indexes(table: str) -> tuple:
    return (
        sa.Index(f"ix_{table}_last_first", "last_name_key", "first_name_key", "id"),
        sa.Index(f"ix_{table}_first_last", "first_name_key", "last_name_key", "id"),
        sa.Index(f"ix_{table}_email_key", "email_key"),
        sa.Index(
            f"ix_{table}_email_other", "email_other_key", "last_name_key", "first_name_key", "id"
        ),
        sa.Index(f"ix_{table}_mobile_e164", "mobile_e164"),
        sa.Index(f"ix_{table}_created_at", "created_at", "id"),
        sa.Index(f"ix_{table}_full_name_key", "full_name_key"),
        sa.Index(f"ix_{table}_reverse_name_key", "reverse_name_key"),
    )


class Candidate(Person, Base):
    __tablename__ = "candidates"
    __table_args__ = _person_indexes("candidates") + (
        sa.Index("ix_candidates_location_status", "location_key", "status"),
        # Location + status ranked by name from the index alone (rows are read for one page).
        sa.Index(
            "ix_candidates_status_location",
            "status",
            "location_key",
            "last_name_key",
            "first_name_key",
            "id",
        ),
    )
    kind = "candidate"

    job_title: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    skills: so.Mapped[str | None] = so.mapped_column(sa.Text)
    location: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    location_key: so.Mapped[str | None] = so.mapped_column(key_string(120))

    @so.validates("location")
    def _keep_location_key(self, _key: str, value: str | None) -> str | None:
        self.location_key = name_key(value) or None
        return value


class ClientContact(Person, Base):
    __tablename__ = "client_contacts"
    __table_args__ = _person_indexes("client_contacts")
    kind = "contact"

    position: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    client_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    client: so.Mapped[Client | None] = so.relationship(lazy="joined")


def person_values(
    *, first_name: str, last_name: str, email: str | None, mobile: ParsedNumber, **other
) -> dict:
    """Column values for a bulk insert, with the derived keys the ORM validators would set."""
    email = (email or "").strip() or None
    first_key, last_key = name_key(first_name), name_key(last_name)
    values = {
        "first_name": first_name,
        "last_name": last_name,
        "first_name_key": first_key,
        "last_name_key": last_key,
        "full_name_key": f"{first_key} {last_key}",
        "reverse_name_key": f"{last_key} {first_key}",
        "email": email,
        "email_key": name_key(email) if email else None,
        "email_other_key": other_email_key(name_key(email) if email else None, first_key, last_key),
        "mobile_raw": mobile.raw,
        "mobile_e164": mobile.e164,
        "mobile_region": mobile.region,
        "mobile_valid": mobile.valid,
        **other,
    }
    if "location" in other:
        values["location_key"] = name_key(other["location"]) or None
    return values
