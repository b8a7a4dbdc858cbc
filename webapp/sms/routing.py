"""Which SMS account sends each message, chosen when it is queued: an account serving the
destination's country, else the sender's office's account, else the default account (the gateway
configured in the environment)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import database
from webapp.models import BlockedRegion, SmsAccount
from webapp.sms import settings as sms_settings


@dataclass(frozen=True, slots=True)
class Account:
    """One account as routing sees it: who it is, its gateway and sender, what it will not
    serve. `id` None is the default account."""

    id: int | None
    name: str
    provider: str
    sender: str
    blocked: frozenset[str] = frozenset()

    @property
    def default(self) -> bool:
        return self.id is None

    @property
    def label(self) -> str:
        """As the SMS screen names it: "Perth SMS (PerthAgency)", "Default account (SMSDesk)"."""
        return f"{self.name} ({self.sender})" if self.sender else self.name


DEFAULT_NAME = "Default account"


class Routes:
    """The accounts one sender's messages go through, by destination region.

    `region in routes` is True when the account chosen for that region will not deliver there, so
    a Routes stands wherever a blocked-regions frozenset did (recipients.analyse): one dict
    lookup per recipient, no query.
    """

    __slots__ = ("_by_country", "_fallback", "has_accounts", "region_names")

    def __init__(
        self,
        by_country: Mapping[str, Account],
        fallback: Account,
        *,
        has_accounts: bool,
        region_names: Mapping[str, str] | None = None,
    ):
        self._by_country = dict(by_country)
        self._fallback = fallback
        self.has_accounts = has_accounts
        self.region_names = dict(region_names or {})

    @classmethod
    def plain(cls, provider: str, blocked: Iterable[str], sender: str = "") -> Routes:
        """Everything through the default account, refusing `blocked`: the install without
        accounts, and callers that still pass a blocked-regions frozenset."""
        default = Account(None, DEFAULT_NAME, provider, sender, frozenset(blocked))
        return cls({}, default, has_accounts=False)

    def choose(self, region: str | None) -> Account:
        """The account a message to `region` goes through."""
        return self._by_country.get(region or "", self._fallback)

    def check(self) -> Container[str]:
        """What recipients.analyse tests each region against: with no country served by an
        account of its own, every message goes one way and its blocked set is enough (a set
        lookup per recipient, not a method call: 50,000 recipients, 4 ms rather than 21)."""
        return self if self._by_country else self._fallback.blocked

    def __contains__(self, region: object) -> bool:
        account = self._by_country.get(region, self._fallback)  # type: ignore[call-overload]
        return region in account.blocked

    def region_name(self, region: str | None) -> str:
        """A region's name from the blocked lists, else phonenumbers' (loaded on first use: only
        an account's block of a country no list names needs it)."""
        if not region or region in self.region_names:
            return self.region_names.get(region or "", "")
        return sms_settings.region_name(region)

    def refusal(self, region: str | None) -> str | None:
        """Why a message to `region` cannot go when it is an account's block ("Sent through NZ
        SMS, which does not deliver to Iran"); None when it can, or when it is the default
        account's (its list is the gateway's, shown as today)."""
        account = self.choose(region)
        if account.default or region not in account.blocked:
            return None
        return f"Sent through {account.name}, which does not deliver to {self.region_name(region)}"

    def usage(self, regions: Iterable[str | None]) -> list[tuple[Account, int]]:
        """How many of the messages to `regions` each account sends: most first, then the
        default account, then by name."""
        # Counted by region first (in C), then summed per account: 50,000 recipients, 8 ms.
        counts: Counter[Account] = Counter()
        for region, n in Counter(regions).items():
            counts[self.choose(region)] += n
        return sorted(
            counts.items(), key=lambda pair: (-pair[1], not pair[0].default, pair[0].name)
        )


def check(blocked: frozenset[str] | Routes) -> Container[str]:
    """What recipients.analyse tests regions against, for a blocked set or Routes."""
    return blocked.check() if isinstance(blocked, Routes) else blocked


def as_routes(blocked: frozenset[str] | Routes, provider: str) -> Routes:
    """`blocked` as Routes: a bare frozenset means the default account of `provider` alone."""
    return blocked if isinstance(blocked, Routes) else Routes.plain(provider, blocked)


@dataclass(frozen=True)
class AccountBook:
    """The active accounts with the countries and offices they serve, and the default account;
    loaded once per request or send (`load`)."""

    default: Account
    accounts: tuple[Account, ...] = ()
    countries: Mapping[str, Account] = field(default_factory=dict)
    # An office served by several accounts is served by the first of them by name.
    offices: Mapping[int, Account] = field(default_factory=dict)
    region_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def has_accounts(self) -> bool:
        return bool(self.accounts)

    def choose(self, region: str | None, sender_office_id: int | None) -> Account:
        """A country's account, else the sender's office's, else the default."""
        return self.routes(sender_office_id).choose(region)

    def routes(self, sender_office_id: int | None) -> Routes:
        """Where this sender's messages go, by destination region."""
        fallback = self.offices.get(sender_office_id, self.default)  # type: ignore[arg-type]
        return Routes(
            self.countries,
            fallback,
            has_accounts=self.has_accounts,
            region_names=self.region_names,
        )

    def account(self, account_id: int | None) -> Account | None:
        """The account a message was queued for (None: the default); None when it is no longer
        active."""
        if account_id is None:
            return self.default
        return next((a for a in self.accounts if a.id == account_id), None)


def default_sender(provider: str, session: so.Session, config: Mapping[str, Any]) -> str:
    """The default account's sender: Twilio's From (or messaging service), else the originator
    (the admin's setting, else SMSCENTRAL_ORIGINATOR)."""
    if provider == "twilio":
        return config.get("TWILIO_FROM") or config.get("TWILIO_MESSAGING_SERVICE_SID") or ""
    return sms_settings.load(session, config).originator


def account_sender(row: SmsAccount) -> str:
    """An account's sender: the originator (SMS Central), the From or messaging service
    (Twilio)."""
    if row.provider == "twilio":
        return row.from_number or row.messaging_service_sid or ""
    return row.originator or ""


# Built once: a record page and the SMS screen load the book on every request, and building a
# statement and its cache key costs more than SQLite's running these.
# The order accounts are listed in, and an office served by several chooses the first of: by
# name in any case (ASCII's on SQLite, the collation's on PostgreSQL), then as added.
BY_NAME = (sa.func.lower(SmsAccount.name), SmsAccount.id)
_ACTIVE_ACCOUNTS = sa.select(SmsAccount).where(SmsAccount.active.is_(True)).order_by(*BY_NAME)
_BLOCKED = sa.select(BlockedRegion.provider, BlockedRegion.region, BlockedRegion.name)


def load(session: so.Session, config: Mapping[str, Any]) -> AccountBook:
    """The book as the database holds it now: a few queries, however many recipients."""
    provider = config.get("SMS_PROVIDER", "sandbox")
    rows: Sequence[SmsAccount] = session.scalars(_ACTIVE_ACCOUNTS).all()
    # Every gateway's blocked list in one query (a few dozen rows): the default gateway's codes
    # and names, and names for what an account blocks beyond them.
    every = database.read(session, _BLOCKED).all()
    owner = sms_settings.blocked_list_provider(provider)
    names = {region: name for gateway, region, name in every if gateway == owner}
    sender = default_sender(provider, session, config) if rows else ""
    default = Account(None, DEFAULT_NAME, provider, sender, frozenset(names))
    if not rows:
        return AccountBook(default, region_names=names)
    accounts: list[Account] = []
    countries: dict[str, Account] = {}
    offices: dict[int, Account] = {}
    for row in rows:
        account = Account(
            row.id,
            row.name,
            row.provider,
            account_sender(row),
            frozenset(blocked.region for blocked in row.blocked),
        )
        accounts.append(account)
        for country in row.countries:
            countries[country.region] = account
        for office in row.offices:
            offices.setdefault(office.id, account)
    # Accounts may block countries outside the default gateway's list: name them from every list.
    return AccountBook(
        default,
        tuple(accounts),
        countries,
        offices,
        {region: name for _, region, name in every} | names,
    )
