"""SMS accounts as records: added and changed (each change audited, secrets sealed and never read
back to a page), listed, and their credentials unsealed for the dispatcher and the webhooks."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.exc
import sqlalchemy.orm as so

from webapp import form_tokens, phones
from webapp.errors import FieldError
from webapp.models import BlockedRegion, Office, SmsAccount, SmsAccountBlocked, SmsAccountCountry
from webapp.models.activity import audit
from webapp.models.users import User
from webapp.sms import account_secrets, routing
from webapp.sms.settings import check_originator, check_region, region_letters
from webapp.text import as_seen, plain_text_problem, ungrouped
from webapp.users.offices import find_by_name

PROVIDERS = {"smscentral": "SMS Central", "twilio": "Twilio"}
# The secrets each gateway needs, by the names every part of the app uses for them.
SECRET_NAMES = {"smscentral": ("password", "webhook_password"), "twilio": ("auth_token",)}
SECRET_LABELS = {
    "password": "API password",
    "webhook_password": "Webhook password",
    "auth_token": "Auth token",
}
# The fields kept in the clear, per gateway; the others are emptied when an account is saved.
PLAIN_FIELDS = {
    "smscentral": ("api_url", "username", "originator", "webhook_username"),
    "twilio": ("account_sid", "from_number", "messaging_service_sid"),
}
# Each account's webhooks: /webhooks/<provider>/<slug>/<path> (webapp.webhooks).
WEBHOOK_PATHS = {"smscentral": ("inbound", "receipt"), "twilio": ("inbound", "status")}
MAX_NAME = 120
MAX_SECRET = 256
MAX_RATE = 1_000.0
# One message a hundred seconds at the slowest (see parse_rate).
MIN_RATE = 0.01
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
PHONE_SENDER = re.compile(r"\+[1-9][0-9]{6,14}")
# Twilio's alphanumeric sender IDs: up to 11 letters and digits, not digits only (Twilio refuses
# those: a number must be in E.164 form, with its +).
ALPHANUMERIC_FROM = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,11}")


@dataclass(frozen=True)
class AccountDetails:
    """What the account form (or `sms-account add`) submits: texts as typed.

    `secrets` holds only the secrets typed this time: an empty or missing one keeps the saved
    value. `blocked` None keeps the blocked countries (at creation: the gateway's default list).
    """

    name: str
    provider: str
    api_url: str = ""
    username: str = ""
    originator: str = ""
    account_sid: str = ""
    from_number: str = ""
    messaging_service_sid: str = ""
    webhook_username: str = ""
    rate_per_second: str = ""
    active: bool = True
    offices: tuple[str, ...] = ()
    countries: str = ""
    blocked: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)


def slug_for(name: str) -> str:
    """The name in lower case ASCII with hyphens ("Perth SMS (Ltd)" → "perth-sms-ltd")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:MAX_NAME]


def all_accounts(session: so.Session) -> list[SmsAccount]:
    """Every account, by name (any case)."""
    return list(session.scalars(sa.select(SmsAccount).order_by(*routing.BY_NAME)))


def find(session: so.Session, name_or_slug: str) -> SmsAccount | None:
    """The account with this slug, or this name (any case)."""
    wanted = (name_or_slug or "").strip()
    return session.scalar(
        sa.select(SmsAccount).where(
            sa.or_(
                SmsAccount.slug == wanted.lower(),
                sa.func.lower(SmsAccount.name) == wanted.lower(),
            )
        )
    )


def by_slug(session: so.Session, provider: str, slug: str) -> SmsAccount | None:
    """The account a webhook URL names: its gateway and slug must both match."""
    return session.scalar(
        sa.select(SmsAccount).where(SmsAccount.slug == slug, SmsAccount.provider == provider)
    )


def sender(account: SmsAccount) -> str:
    """What recipients see as the sender: the originator, From number or Messaging Service."""
    if account.provider == "twilio":
        return account.from_number or account.messaging_service_sid or ""
    return account.originator or ""


def webhook_urls(account: SmsAccount, base_url: str) -> list[tuple[str, str]]:
    """(purpose, URL) of the account's webhooks, absolute when `base_url` is set."""
    base = (base_url or "").rstrip("/")
    return [
        (path, f"{base}/webhooks/{account.provider}/{account.slug}/{path}")
        for path in WEBHOOK_PATHS[account.provider]
    ]


def saved_secrets(account: SmsAccount, material: str) -> frozenset[str]:
    """The names of the secrets saved on the account (empty when they cannot be read)."""
    try:
        return frozenset(
            name for name, value in credentials_only(account, material).items() if value
        )
    except account_secrets.SecretsUnreadable:
        return frozenset()


def credentials_only(account: SmsAccount, material: str) -> dict[str, str]:
    """The account's secrets (name → value); raises account_secrets.SecretsUnreadable."""
    return {
        str(name): str(value)
        for name, value in account_secrets.unseal(material, account.secrets).items()
    }


def credentials(account: SmsAccount, material: str) -> dict[str, str]:
    """Everything a gateway call or webhook check of this account needs, by name: the fields kept
    in the clear and the unsealed secrets ("" for those not set).

    SMS Central: api_url, username, originator, webhook_username, password, webhook_password.
    Twilio: account_sid, from_number, messaging_service_sid, auth_token.
    Raises account_secrets.SecretsUnreadable when the key they were sealed under has changed.
    """
    secrets = credentials_only(account, material)
    values = {name: getattr(account, name) or "" for name in PLAIN_FIELDS[account.provider]}
    values.update({name: secrets.get(name, "") for name in SECRET_NAMES[account.provider]})
    return values


# --- adding and changing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Added:
    """What an Add SMS account did: the account it added, or the one this form's token added
    before (`repeated`: the same submission sent again, nothing new written)."""

    account: SmsAccount
    repeated: bool = False


def add_account_once(
    session: so.Session,
    actor: User,
    details: AccountDetails,
    material: str,
    *,
    default_api_url: str = "",
    token: str = "",
) -> Added:
    """Add an account from the Add SMS account form, once per form: a repeat of a submission (its
    `token`, kept in the creation's audit event, already added the account of the name typed)
    returns that account instead of refusing the name as taken.

    The token is looked up and the account added under one lock (SQLite's write lock; on
    PostgreSQL the actor's row, FOR UPDATE), so two posts of one form racing add one account."""
    account, repeated = form_tokens.add_once(
        session,
        actor,
        token,
        "sms_account.added",
        SmsAccount,
        lambda before: before.name.lower() == (details.name or "").strip().lower(),
        lambda token: add_account(
            session, actor, details, material, default_api_url=default_api_url, form_token=token
        ),
    )
    return Added(account, repeated)


def add_account(
    session: so.Session,
    actor: User | None,
    details: AccountDetails,
    material: str,
    *,
    default_api_url: str = "",
    form_token: str = "",
) -> SmsAccount:
    """Add an account (audited `sms_account.added`, naming the secrets set, never their values,
    and keeping the form's `form_token`: see add_account_once).

    An SMS Central account starts with a copy of SMS Central's blocked list unless `blocked` says
    otherwise; a Twilio one with none. A FieldError names the field that is wrong (409 when a
    country or the slug belongs to another account).
    """
    provider = (details.provider or "").strip().lower()
    if provider not in PROVIDERS:
        raise FieldError("Choose the gateway: SMS Central or Twilio.", "provider")
    account = SmsAccount(provider=provider, active=True)
    if provider == "smscentral" and not (details.api_url or "").strip():
        details = _with(details, api_url=_default_api_url(default_api_url))
    blocked = details.blocked
    if blocked is None:
        blocked = " ".join(_default_blocked(session, provider))
    try:
        with session.no_autoflush:
            _apply(session, account, _with(details, blocked=blocked))
            changed = _apply_secrets(account, details.secrets, material, new=True)
    except FieldError:
        session.rollback()
        raise
    session.add(account)
    _flush(session, account)
    audit(
        session,
        actor,
        "sms_account.added",
        account,
        **_snapshot(account),
        secrets_set=sorted(changed),
        **({form_tokens.AUDITED_AS: form_token} if form_token else {}),
    )
    _commit(session, account)
    return account


def edit_account(
    session: so.Session,
    actor: User | None,
    account: SmsAccount,
    details: AccountDetails,
    material: str,
    *,
    default_api_url: str = "",
) -> dict[str, Any]:
    """Change an account; its gateway and slug stay (webhook URLs configured at the gateway name
    them), and an empty API URL keeps the saved one. Returns {field: [old, new]} (and
    "secrets_changed": names), audited `sms_account.changed` when not empty."""
    if (details.provider or account.provider).strip().lower() != account.provider:
        raise FieldError(
            "An account's gateway cannot change (its webhook addresses name it): add a new "
            "account for the other gateway.",
            "provider",
        )
    if account.provider == "smscentral" and not (details.api_url or "").strip():
        details = _with(details, api_url=account.api_url or _default_api_url(default_api_url))
    before = _snapshot(account)
    try:
        # No flush until every field is judged: a half-changed row must not reach the database.
        with session.no_autoflush:
            _apply(session, account, _with(details, provider=account.provider))
            secrets_changed = _apply_secrets(account, details.secrets, material, new=False)
    except FieldError:
        session.rollback()
        raise
    _flush(session, account)
    after = _snapshot(account)
    changes: dict[str, Any] = {
        key: [before[key], after[key]] for key in after if before[key] != after[key]
    }
    # Beside the changes, not among them: those are [old, new] pairs, and this is a list of names.
    secrets = {"secrets_changed": sorted(secrets_changed)} if secrets_changed else {}
    if changes or secrets:
        audit(
            session,
            actor,
            "sms_account.changed",
            account,
            name=account.name,
            **({"changes": changes} if changes else {}),
            **secrets,
        )
    _commit(session, account)
    return {**changes, **secrets}


def _default_api_url(configured: str) -> str:
    # Imported here: the gateway factory builds each account's provider from this module.
    from webapp.sms.providers.factory import DEFAULT_SMSCENTRAL_API_URL

    return configured or DEFAULT_SMSCENTRAL_API_URL


def _with(details: AccountDetails, **values: Any) -> AccountDetails:
    return AccountDetails(**{**details.__dict__, **values})


def _default_blocked(session: so.Session, provider: str) -> list[str]:
    """SMS Central's blocked list as it stands now (administrators keep it on Settings)."""
    if provider != "smscentral":
        return []
    return sorted(
        session.scalars(sa.select(BlockedRegion.region).where(BlockedRegion.provider == provider))
    )


def _apply(session: so.Session, account: SmsAccount, details: AccountDetails) -> None:
    """Check every field and set it on the account (nothing is flushed here)."""
    name = _text("The name", details.name, "name", MAX_NAME)
    if not name:
        raise FieldError("Enter a name for the account, like Perth SMS.", "name")
    _unique_name(session, account, name)
    account.name = name
    if not account.slug:
        slug = slug_for(name)
        if not slug:
            raise FieldError(
                "Use at least one letter or digit (A–Z, 0–9) in the name: its webhook addresses "
                "are made from it.",
                "name",
            )
        _unique_slug(session, account, slug)
        account.slug = slug

    for name_ in (*PLAIN_FIELDS["smscentral"], *PLAIN_FIELDS["twilio"]):
        # A Twilio account's api_url (TWILIO_API_BASE's counterpart) is not on the form: kept.
        if not (name_ == "api_url" and account.provider == "twilio"):
            setattr(account, name_, None)
    if account.provider == "smscentral":
        account.api_url = _api_url(details.api_url)
        account.username = _text("The username", details.username, "username", 120) or None
        if not account.username:
            raise FieldError("Enter the SMS Central username of the account.", "username")
        # Required, as SMSCENTRAL_ORIGINATOR is for the default account: SMS Central needs one.
        account.originator = check_originator(details.originator, blank="") or None
        if not account.originator:
            raise FieldError(
                "Enter the sender ID: up to 11 letters and digits (like PerthJobs), or a phone "
                "number.",
                "originator",
            )
        account.webhook_username = (
            _text("The webhook username", details.webhook_username, "webhook_username", 120) or None
        )
    else:
        account.account_sid = _account_sid(details.account_sid)
        account.from_number, account.messaging_service_sid = _twilio_sender(
            details.from_number, details.messaging_service_sid
        )

    account.rate_per_second = parse_rate(details.rate_per_second)
    account.active = bool(details.active)
    account.offices = _offices(session, details.offices)
    wanted = parse_countries(details.countries, "countries")
    _countries_free(session, account, wanted)
    _replace(account.countries, wanted, lambda code: SmsAccountCountry(region=code))
    if details.blocked is not None:
        blocked = parse_countries(details.blocked, "blocked", known=False)
        _replace(account.blocked, blocked, lambda code: SmsAccountBlocked(region=code))


def _replace(rows: list, wanted: list[str], make) -> None:
    """Make the child rows hold exactly `wanted` regions, keeping the rows already there."""
    keep = set(wanted)
    rows[:] = [row for row in rows if row.region in keep]
    have = {row.region for row in rows}
    rows.extend(make(code) for code in wanted if code not in have)


def _text(label: str, value: str | None, name: str, limit: int) -> str:
    value = (value or "").strip()
    problem = plain_text_problem(label, value)
    if problem:
        raise FieldError(problem, name)
    if len(value) > limit:
        raise FieldError(f"{label} can be at most {limit} characters.", name)
    return value


def _unique_name(session: so.Session, account: SmsAccount, name: str) -> None:
    # As a reader sees them (as offices are), so "Perth SMS" with two spaces, a no-break space or
    # a zero-width space in it cannot be a second "Perth SMS": the account serving an office is
    # the first by name. Compared here, not in SQL: SQLite's lower() knows only ASCII letters.
    wanted = as_seen(name)
    others = session.scalars(
        sa.select(SmsAccount).where(_not_this(account)).order_by(SmsAccount.id)
    )
    other = next((other for other in others if as_seen(other.name) == wanted), None)
    if other is not None:
        raise FieldError(f"There is already an account called “{other.name}”.", "name", 409)


def _unique_slug(session: so.Session, account: SmsAccount, slug: str) -> None:
    other = session.scalar(sa.select(SmsAccount).where(SmsAccount.slug == slug, _not_this(account)))
    if other is not None:
        raise FieldError(
            f"“{other.name}” already has the webhook name “{slug}”: choose a name that differs "
            "in more than punctuation or case.",
            "name",
            409,
        )


def _not_this(account: SmsAccount):
    return SmsAccount.id != account.id if account.id is not None else sa.true()


def _api_url(value: str | None) -> str:
    url = _text("The API URL", value, "api_url", 300)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - read to check it: "http://[::1" or a port "x" raise ValueError
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise FieldError(
            "Enter the SMS Central API address, like https://my.smscentral.com.au/api/v3.2.",
            "api_url",
        )
    return url


def _account_sid(value: str | None) -> str:
    sid = _text("The Account SID", value, "account_sid", 64)
    if not ACCOUNT_SID.fullmatch(sid):
        raise FieldError(
            "Enter the Twilio Account SID: AC followed by 32 letters and digits (Twilio Console, "
            "Account Info).",
            "account_sid",
        )
    return sid


def _twilio_sender(
    from_number: str | None, service_sid: str | None
) -> tuple[str | None, str | None]:
    number = _text("The From number", from_number, "from_number", 20).replace(" ", "")
    service = _text("The Messaging Service SID", service_sid, "messaging_service_sid", 64)
    if number and service:
        raise FieldError(
            "Give a From number or a Messaging Service SID, not both: Twilio would use the "
            "service and ignore the number.",
            "from_number",
        )
    if not number and not service:
        raise FieldError(
            "Enter the From number (like +61412345678) or a Messaging Service SID.", "from_number"
        )
    if number.isdecimal() and number.isascii():
        raise FieldError(_without_plus(number), "from_number")
    if number and not (PHONE_SENDER.fullmatch(number) or ALPHANUMERIC_FROM.fullmatch(number)):
        raise FieldError(
            "Enter the From number in international form, like +61412345678, or an "
            "alphanumeric sender ID of up to 11 letters and digits, at least one a letter.",
            "from_number",
        )
    if service and not SERVICE_SID.fullmatch(service):
        raise FieldError(
            "Enter the Messaging Service SID: MG followed by 32 letters and digits.",
            "messaging_service_sid",
        )
    return number or None, service or None


def _without_plus(digits: str) -> str:
    """The refusal of a From number typed in digits only: Twilio takes a number only in E.164
    form, and a sender ID only with a letter in it. Names the number meant when the digits are
    one with a country code ("61412345678")."""
    meant = f"+{digits}"
    if PHONE_SENDER.fullmatch(meant) and phones.normalise(meant, "ZZ").real:
        start = f"“{digits}” needs a + in front: enter {meant}."
    else:
        start = (
            f"“{digits}” has no + and country code: enter the From number in international "
            "form, like +61412345678."
        )
    return start + (
        " Twilio refuses a number without its + and country code, and a sender ID of digits only."
    )


def rate_text(rate: float) -> str:
    """A rate as the form shows it: the shortest text that parse_rate reads back as the same
    number ("5", "0.123456789"). Six figures (":g") changed a rate saved with more, unasked."""
    text = repr(float(rate))
    return text.removesuffix(".0")


def parse_rate(value: str | float | None) -> float | None:
    """Messages per second: MIN_RATE to MAX_RATE, or None for empty (the workers' own limit).

    The floor matters: the dispatcher leases claimed messages for as long as the slowest
    account's slots take, and a rate like 1e-10 would overflow the date and stop every send."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        rate = float(ungrouped(text))  # "1,000" as the refusal writes it
    except ValueError:
        rate = float("nan")
    if not (MIN_RATE <= rate <= MAX_RATE):
        raise FieldError(
            f"Enter messages per second as a number from {MIN_RATE} to {MAX_RATE:,.0f}, like 5 "
            "or 0.5; leave it empty for the workers' own limit.",
            "rate_per_second",
        )
    return rate


def parse_countries(
    value: str | Iterable[str] | None, field_name: str, *, known: bool = True
) -> list[str]:
    """Region codes from "NZ, au fj" (commas or spaces), upper case, each once, in order.

    `known`: each must be a region phone numbers can belong to (a destination an account
    serves); otherwise any two letters (a blocked list may name a territory such as UM).
    """
    parts = re.split(r"[\s,;]+", value) if isinstance(value, str) else list(value or ())
    codes: list[str] = []
    for part in parts:
        if not part or not part.strip():
            continue
        if known:
            code = check_region(part, field_name, required=True)
        else:
            code = region_letters(part.strip())
            if code is None:
                raise FieldError(
                    f"“{part.strip()[:20]}” is not a two-letter country code like IR or KP.",
                    field_name,
                )
        if code not in codes:
            codes.append(code)
    return codes


def _countries_free(session: so.Session, account: SmsAccount, codes: list[str]) -> None:
    """Each destination country is served by one account at most: 409 naming the other."""
    if not codes:
        return
    taken = session.execute(
        sa.select(SmsAccountCountry.region, SmsAccount.name)
        .join(SmsAccount, SmsAccount.id == SmsAccountCountry.account_id)
        .where(SmsAccountCountry.region.in_(codes), _not_this(account))
        .order_by(SmsAccountCountry.region)
    ).first()
    if taken is not None:
        raise FieldError(
            f"{taken.region} is already served by “{taken.name}”: take it off that account "
            "first (a country is served by one account at most).",
            "countries",
            409,
        )


def _offices(session: so.Session, names: Iterable[str]) -> list[Office]:
    offices: list[Office] = []
    for name in names:
        wanted = (name or "").strip()
        if not wanted:
            continue
        office = find_by_name(session, wanted)
        if office is None:
            raise FieldError(f"There is no office “{wanted}”.", "offices")
        if office not in offices:
            offices.append(office)
    # In the order the relationship loads them, so a snapshot before and after compares equal.
    return sorted(offices, key=lambda office: office.name)


def _apply_secrets(
    account: SmsAccount, typed: Mapping[str, str], material: str, *, new: bool
) -> set[str]:
    """Seal the secrets typed over the saved ones; returns the names that changed.

    An empty value keeps what is saved. Saved secrets that can no longer be read (the key
    changed) count as not saved: they must be typed again.
    """
    provider = account.provider
    unreadable = False
    try:
        saved = {} if new else credentials_only(account, material)
    except account_secrets.SecretsUnreadable:
        saved, unreadable = {}, True
    merged = {name: saved.get(name, "") for name in SECRET_NAMES[provider]}
    changed: set[str] = set()
    for name in SECRET_NAMES[provider]:
        value = typed.get(name) or ""
        if not value:
            continue
        if len(value) > MAX_SECRET or value != value.strip() or plain_text_problem("x", value):
            raise FieldError(
                f"The {SECRET_LABELS[name].lower()} must be one line without spaces around it, "
                f"at most {MAX_SECRET} characters.",
                name,
            )
        if value != merged[name]:
            changed.add(name)
        merged[name] = value
    again = " again (the saved one can no longer be read)" if unreadable else ""
    if provider == "smscentral":
        if not merged["password"]:
            raise FieldError(f"Enter the SMS Central API password{again}.", "password")
        if account.webhook_username and not merged["webhook_password"]:
            raise FieldError(
                f"Enter the webhook password{again}, or empty the webhook username.",
                "webhook_password",
            )
        if not account.webhook_username and merged["webhook_password"]:
            if typed.get("webhook_password"):
                raise FieldError(
                    "Enter the webhook username too: SMS Central sends both.", "webhook_username"
                )
            # The username was emptied: its password goes with it.
            merged["webhook_password"] = ""
            changed.add("webhook_password")
    elif not merged["auth_token"]:
        raise FieldError(f"Enter the Twilio auth token{again}.", "auth_token")
    if changed or new:
        account.secrets = account_secrets.seal(
            material, {name: value for name, value in merged.items() if value}
        )
    return changed


def _snapshot(account: SmsAccount) -> dict[str, Any]:
    """The account as the audit log records it: everything but the secrets."""
    return {
        "name": account.name,
        "slug": account.slug,
        "provider": account.provider,
        **{name: getattr(account, name) for name in PLAIN_FIELDS[account.provider]},
        "rate_per_second": account.rate_per_second,
        "active": account.active,
        "offices": [office.name for office in account.offices],
        "countries": sorted(row.region for row in account.countries),
        "blocked": sorted(row.region for row in account.blocked),
    }


def _flush(session: so.Session, account: SmsAccount) -> None:
    try:
        session.flush()
    except sqlalchemy.exc.IntegrityError as error:
        session.rollback()
        raise _clash(error) from error


def _commit(session: so.Session, account: SmsAccount) -> None:
    try:
        session.commit()
    except sqlalchemy.exc.IntegrityError as error:
        session.rollback()
        raise _clash(error) from error


def _clash(error: sqlalchemy.exc.IntegrityError) -> FieldError:
    """Another request took the name, slug or a country between our check and our write."""
    text = str(error.orig).lower()
    if "region" in text or "sms_account_countries" in text:
        return FieldError(
            "One of these countries was just given to another account: reload and choose again.",
            "countries",
            409,
        )
    return FieldError("Another account was just saved with this name: choose another.", "name", 409)
