"""SMS settings kept in the database (changed on the admin page), falling back to the
environment."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers
import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import settings_store
from webapp.errors import FieldError
from webapp.models import BlockedRegion, Setting, User, audit
from webapp.models.people import EMAIL_PATTERN
from webapp.sms.blocked_countries import SMSCENTRAL_BLOCKED
from webapp.sms.opt_out_line import check_line
from webapp.sms.replies import ReplySettings
from webapp.text import as_seen, is_blank
from webapp.times import DEFAULT_ZONE, check_zone, zone_problem

DEFAULT_COMMENT_TYPES = ("SMS",)
# A region code as typed: ASCII letters only (see region_letters).
REGION_LETTERS = re.compile("[A-Za-z]{2}")


@dataclass(frozen=True)
class SmsSettings:
    suppress_add_comment: bool
    comment_types: tuple[str, ...]
    default_region: str
    originator: str
    unmatched_reply_address: str


def load(session: so.Session, config: Mapping[str, Any]) -> SmsSettings:
    stored = {row.key: row.value for row in session.scalars(sa.select(Setting))}
    return SmsSettings(
        suppress_add_comment=bool(stored.get("suppress_add_comment", False)),
        comment_types=tuple(stored.get("comment_types") or DEFAULT_COMMENT_TYPES),
        default_region=stored.get("default_region") or config.get("SMS_DEFAULT_REGION", "AU"),
        originator=stored.get("originator") or config.get("SMSCENTRAL_ORIGINATOR", ""),
        unmatched_reply_address=stored.get("unmatched_reply_address")
        or config.get("MAIL_FROM", ""),
    )


def sender_id(session: so.Session, fallback: str) -> str:
    """The SMS Central sender ID: the admin's setting, else `fallback` (SMSCENTRAL_ORIGINATOR).
    The settings table is read once a transaction, for every setting read in it."""
    return settings_store.value(session, "originator") or fallback


def default_region(session: so.Session, config: Mapping[str, Any]) -> str:
    """The region for national-format numbers: the admin's setting, else SMS_DEFAULT_REGION."""
    return settings_store.value(session, "default_region") or config.get("SMS_DEFAULT_REGION", "AU")


def organisation_zone(session: so.Session, config: Mapping[str, Any]) -> str:
    """The organisation's time zone name: the admin's setting, else TIMEZONE (so is a stored name
    that is not a zone, a "localtime" saved before names were checked)."""
    stored = settings_store.value(session, "timezone")
    if stored and zone_problem(stored) is None:
        return stored
    return config.get("TIMEZONE", DEFAULT_ZONE)


def blocked_list_provider(provider: str) -> str:
    """Whose blocked list applies: the sandbox behaves like SMS Central, the default gateway."""
    return "smscentral" if provider == "sandbox" else provider


def blocked_regions(session: so.Session, provider: str) -> frozenset[str]:
    """Region codes the configured gateway will not deliver to."""
    owner = blocked_list_provider(provider)
    return frozenset(
        session.scalars(sa.select(BlockedRegion.region).where(BlockedRegion.provider == owner))
    )


def reply_settings(session: so.Session, config: Mapping[str, Any]) -> ReplySettings:
    """What inbound handling needs: the parse region, link base, the unmatched inbox address, and
    whether reply emails are kept rather than sent (MAIL_KEEP)."""
    sms = load(session, config)
    return ReplySettings(
        default_region=sms.default_region,
        public_base_url=config.get("PUBLIC_BASE_URL", ""),
        unmatched_reply_address=sms.unmatched_reply_address,
        keep_emails=bool(config.get("MAIL_KEEP")),
        timezone=organisation_zone(session, config),
        secret=config.get("SECRET_KEY") or "",
    )


# --- changing the settings (the admin page) ------------------------------------------------------

SETTING_KEYS = (
    "suppress_add_comment",
    "comment_types",
    "default_region",
    "originator",
    "unmatched_reply_address",
    "timezone",
    "opt_out_line",
    "team_views_by_office",
)
# Gateways with a blocked-country list of their own (the sandbox borrows SMS Central's).
BLOCKLIST_PROVIDERS = {"smscentral": "SMS Central", "twilio": "Twilio"}
MAX_COMMENT_TYPE = 60
MAX_REASON = 300
ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9]{1,11}")
NUMERIC_SENDER = re.compile(r"\+?[0-9]{3,15}")


def parse_comment_types(text: str) -> tuple[str, ...]:
    """The Comment types, one a line: trimmed, blank lines dropped, at least one, none repeated.

    A line of invisible characters alone (a zero-width space) is blank: it would be an empty
    choice in the SMS screen's list. Two lines that read the same (as_seen: "SMS" and "SMS" with a
    zero-width space) are one type repeated, two "SMS" choices."""
    types = tuple(line.strip() for line in text.splitlines() if not is_blank(line))
    if not types:
        raise FieldError("Enter at least one comment type, one a line.", "comment_types")
    seen: set[str] = set()
    for name in types:
        if len(name) > MAX_COMMENT_TYPE:
            raise FieldError(
                f"“{name[:20]}…” is longer than {MAX_COMMENT_TYPE} characters.", "comment_types"
            )
        if as_seen(name) in seen:
            raise FieldError(f"“{name}” is listed more than once.", "comment_types")
        seen.add(as_seen(name))
    return types


def check_region(text: str | None, field: str = "default_region", *, required: bool = False) -> str:
    """A region code phonenumbers knows ("AU", "nz" → "NZ"); empty is allowed unless `required`."""
    typed = (text or "").strip()
    if not typed and not required:
        return ""
    code = region_letters(typed)
    if code is None or code not in phonenumbers.SUPPORTED_REGIONS:
        shown = f"“{typed.upper() if typed.isascii() else typed}” is not" if typed else "Enter"
        raise FieldError(f"{shown} a two-letter region code like AU, NZ or GB.", field)
    return code


def region_letters(typed: str) -> str | None:
    """`typed` in upper case when it is two ASCII letters, else None.

    Checked before upper-casing: str.upper() makes "ST" of a long s ("ſt") and of the ligature
    "ﬅ", which nobody typed as a region code."""
    return typed.upper() if REGION_LETTERS.fullmatch(typed) else None


def check_originator(
    text: str | None, *, blank: str = "leave it empty for the server's setting"
) -> str:
    """The sender ID: up to 11 letters and digits, or a phone number (spaces dropped), or empty.
    A refusal ends with `blank`, what leaving it empty does ("" where it cannot be left empty)."""
    value = (text or "").strip()
    if not value or ALPHANUMERIC_SENDER.fullmatch(value):
        return value
    number = value.replace(" ", "")
    if NUMERIC_SENDER.fullmatch(number):
        return number
    raise FieldError(
        "Use up to 11 letters and digits (like SMSDesk), or a phone number like +61412345678"
        + (f"; {blank}." if blank else "."),
        "originator",
    )


def check_reply_address(text: str | None) -> str:
    """The inbox for replies nobody can be matched to: an email address, or empty."""
    address = (text or "").strip()
    if address and (len(address) > 254 or not re.fullmatch(EMAIL_PATTERN, address)):
        raise FieldError(
            "Enter an email address like replies@example.com, or leave it empty.",
            "unmatched_reply_address",
        )
    return address


def stored(session: so.Session) -> dict[str, Any]:
    """The settings as the admin page edits them; "" means "use the environment's value"."""
    rows = {row.key: row.value for row in session.scalars(sa.select(Setting))}
    return {
        "suppress_add_comment": bool(rows.get("suppress_add_comment", False)),
        "comment_types": list(rows.get("comment_types") or DEFAULT_COMMENT_TYPES),
        "default_region": rows.get("default_region") or "",
        "originator": rows.get("originator") or "",
        "unmatched_reply_address": rows.get("unmatched_reply_address") or "",
        "timezone": rows.get("timezone") or "",
        "opt_out_line": rows.get("opt_out_line") or "",
        "team_views_by_office": bool(rows.get("team_views_by_office", False)),
    }


def save(
    session: so.Session,
    actor: User | None,
    *,
    suppress_add_comment: bool,
    comment_types: str,
    default_region: str,
    originator: str,
    unmatched_reply_address: str,
    timezone: str = "",
    opt_out_line: str = "",
    team_views_by_office: bool = False,
    sender_required: bool = False,
) -> dict[str, list[Any]]:
    """Store the settings; returns {key: [old, new]} for those that changed, audited together.

    An empty region, sender ID, address or time zone removes the row, so the environment's value
    applies again; an empty opt-out line brings back the default one. `sender_required`: the
    gateway needs a sender ID and the environment gives none, so it may not be left empty.
    """
    if sender_required and not check_originator(originator, blank=""):
        raise FieldError(
            "Enter a sender ID: SMS Central needs one, and the server has none of its own "
            "(SMSCENTRAL_ORIGINATOR is not set).",
            "originator",
        )
    wanted: dict[str, Any] = {
        "suppress_add_comment": bool(suppress_add_comment),
        "comment_types": list(parse_comment_types(comment_types)),
        "default_region": check_region(default_region),
        "originator": check_originator(originator),
        "unmatched_reply_address": check_reply_address(unmatched_reply_address),
        "timezone": check_zone(timezone),
        "opt_out_line": check_line(opt_out_line),
        "team_views_by_office": bool(team_views_by_office),
    }
    return settings_store.save(session, actor, wanted, stored(session))


# --- blocked countries ---------------------------------------------------------------------------


def blocked_list(session: so.Session, provider: str) -> list[BlockedRegion]:
    """The blocked regions kept for `provider`'s list, by name
    ("Åland" beside "Aland", not after "Z")."""
    owner = blocked_list_provider(provider)
    rows = session.scalars(sa.select(BlockedRegion).where(BlockedRegion.provider == owner))
    return sorted(rows, key=lambda row: (_alphabetical(row.name), row.region))


def _alphabetical(name: str) -> str:
    # Sorted here, not by the database: SQLite and PostgreSQL collate accents differently.
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def get_blocked_region(session: so.Session, row_id: int) -> BlockedRegion | None:
    return session.get(BlockedRegion, row_id)


def region_name(region: str) -> str:
    """An English name for a region code ("FI" → "Finland"), or the code when there is none."""
    # The geocoder's name tables are large; load them only when an administrator adds a region.
    from phonenumbers import geocoder

    example = phonenumbers.example_number(region)
    return (geocoder.country_name_for_number(example, "en") if example else "") or region


def add_blocked_region(
    session: so.Session,
    actor: User | None,
    provider: str,
    region: str,
    reason: str,
    name: str | None = None,
    effective: date | None = None,
) -> BlockedRegion:
    """Stop sending to `region` through `provider` from now on; audited with the reason."""
    if provider not in BLOCKLIST_PROVIDERS:
        raise FieldError("Choose SMS Central or Twilio.", "provider")
    typed = region_letters((region or "").strip()) or ""
    # SMS Central's own list names a territory phonenumbers has no numbers for (UM): blocked as
    # seeded, it can be blocked again after a removal.
    unknown = typed not in phonenumbers.SUPPORTED_REGIONS
    seeded = provider == "smscentral" and typed in SMSCENTRAL_BLOCKED
    listed = typed if unknown and seeded else None
    code = listed or check_region(region, "region", required=True)
    reason = _reason(reason, "Say why this country is blocked.")
    existing = session.scalar(
        sa.select(BlockedRegion).where(
            BlockedRegion.provider == provider, BlockedRegion.region == code
        )
    )
    if existing is not None:
        raise FieldError(
            f"{existing.name} ({code}) is already blocked for {BLOCKLIST_PROVIDERS[provider]}.",
            "region",
        )
    # A name of invisible characters alone would be a blank row in the list: the usual name then.
    typed_name = (name or "").strip()
    default = SMSCENTRAL_BLOCKED[code] if listed else region_name(code)
    shown = default if is_blank(typed_name) else typed_name
    row = BlockedRegion(
        provider=provider,
        region=code,
        reason=reason,
        name=shown[:120],
        effective_date=effective or date.today(),
    )
    session.add(row)
    session.flush()
    _audit_blocked(session, actor, "blocked_region.added", row, reason)
    session.commit()
    return row


def remove_blocked_region(
    session: so.Session, actor: User | None, row: BlockedRegion, reason: str
) -> None:
    """Allow sending to a blocked region again; audited with the reason."""
    _audit_blocked(
        session,
        actor,
        "blocked_region.removed",
        row,
        _reason(reason, "Say why this country is no longer blocked."),
    )
    session.delete(row)
    session.commit()


def _reason(reason: str | None, missing: str) -> str:
    """The reason for a change to a blocked list, required and at most MAX_REASON characters."""
    reason = (reason or "").strip()
    if is_blank(reason):
        raise FieldError(missing, "reason")
    if len(reason) > MAX_REASON:
        raise FieldError(f"Keep the reason to {MAX_REASON} characters.", "reason")
    return reason


def _audit_blocked(
    session: so.Session, actor: User | None, action: str, row: BlockedRegion, reason: str
) -> None:
    audit(
        session,
        actor,
        action,
        row,
        provider=row.provider,
        region=row.region,
        name=row.name,
        reason=reason,
    )
