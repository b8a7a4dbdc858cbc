"""Each SMS account's gateway for the dispatcher: built from its row and secrets, kept per account
until the account changes, with its sender slots shared by every worker (its rate limit)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.database import is_sqlite
from webapp.models import Message, SmsAccount
from webapp.models.base import UTCDateTime, utcnow
from webapp.sms.account_secrets import SecretsUnreadable, unseal
from webapp.sms.providers import DEFAULT_POOL_SIZE, Provider, sandbox
from webapp.sms.providers.factory import make_account_provider

log = logging.getLogger(__name__)
accounts = SmsAccount.__table__
SLOWEST_RATE_EVERY = 5.0  # seconds the slowest account rate (for claim leases) is reused


@dataclass(frozen=True)
class Gateway:
    """Where a message goes: the default gateway (account_id None) or one account's.

    `provider` is None when the account cannot send, and `problem` says why; its messages then
    fail with that text rather than go out through another account under another sender."""

    account_id: int | None
    provider: Provider | None
    name: str = ""  # the account's name, for messages and logs
    slug: str = ""  # its webhooks live under /webhooks/<provider>/<slug>/
    gateway: str = ""  # smscentral | twilio: which webhook URLs are its
    rate_per_second: float | None = None  # across all workers; None: no limit of its own
    blocked: frozenset[str] | None = None  # its own blocked countries; None: the default list
    problem: str = ""
    updated_at: datetime | None = field(default=None, compare=False)


def blocked_of(account: SmsAccount) -> frozenset[str]:
    return frozenset(row.region for row in account.blocked)


class AccountGateways:
    """The dispatcher's gateways per account id, rebuilt when an account's updated_at changes.

    Thread-safe: the send threads and the reconciliation thread ask at the same time."""

    def __init__(
        self,
        default: Provider,
        key_material: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.default = Gateway(None, default)
        self.key_material = key_material
        # The sandbox environment sends everything through the sandbox, accounts too: a demo.
        self.sandbox = default.name == "sandbox"
        self.pool_size = pool_size
        self._cache: dict[int, Gateway] = {}
        self._retired: list[Provider] = []
        self._lock = threading.Lock()
        self._slowest: tuple[float, float | None] = (float("-inf"), None)

    def resolve(self, session: so.Session, account_ids: Iterable[int | None]) -> dict:
        """The gateway of each account id (None: the default), from the accounts as they are now."""
        wanted = {account_id for account_id in account_ids if account_id is not None}
        found: dict[int | None, Gateway] = {None: self.default}
        if not wanted:
            return found
        rows = {
            row.id: row
            for row in session.scalars(sa.select(SmsAccount).where(SmsAccount.id.in_(wanted)))
        }
        with self._lock:
            for account_id in wanted:
                found[account_id] = self._gateway(account_id, rows.get(account_id))
        return found

    def _gateway(self, account_id: int, row: SmsAccount | None) -> Gateway:
        cached = self._cache.get(account_id)
        if row is None:
            return Gateway(account_id, None, problem="Not sent: its SMS account no longer exists.")
        if cached is not None and cached.updated_at == row.updated_at:
            return cached
        if cached is not None and cached.provider is not None and not self.sandbox:
            # Sends may still be using it; it is closed when the dispatcher stops.
            self._retired.append(cached.provider)
        gateway = self._build(row)
        self._cache[account_id] = gateway
        if gateway.problem:
            log.error("SMS account %s (id %d) cannot send: %s", row.name, row.id, gateway.problem)
        return gateway

    def _build(self, row: SmsAccount) -> Gateway:
        common = dict(
            account_id=row.id,
            name=row.name,
            slug=row.slug,
            gateway=row.provider,
            rate_per_second=row.rate_per_second if (row.rate_per_second or 0) > 0 else None,
            blocked=blocked_of(row),
            updated_at=row.updated_at,
        )
        if not row.active:
            return Gateway(
                provider=None,
                problem=f"Not sent: the SMS account {row.name} is switched off.",
                **common,
            )
        try:
            secrets = {} if self.sandbox else unseal(self.key_material, row.secrets)
            provider = (
                self.default.provider
                if self.sandbox
                else make_account_provider(row, secrets, pool_size=self.pool_size)
            )
        except (SecretsUnreadable, ValueError) as error:
            return Gateway(
                provider=None,
                problem=f"Not sent through the SMS account {row.name}: {error}",
                **common,
            )
        return Gateway(provider=provider, **common)

    def with_unknown_messages(self, session: so.Session) -> dict[int | None, Gateway]:
        """The gateways of the accounts with `unknown` messages to look up (not the default)."""
        ids = session.scalars(
            sa.select(Message.account_id)
            .where(
                Message.state == "unknown",
                Message.direction == "out",
                Message.account_id.is_not(None),
            )
            .distinct()
        ).all()
        found = self.resolve(session, ids)
        found.pop(None, None)
        return found

    def slowest_rate(self, session: so.Session) -> float | None:
        """The lowest rate limit of an active account (claims' leases must outlast its waits)."""
        checked, rate = self._slowest
        now = time.monotonic()
        if now - checked < SLOWEST_RATE_EVERY:
            return rate
        rate = session.scalar(
            sa.select(sa.func.min(SmsAccount.rate_per_second)).where(
                SmsAccount.active.is_(True), SmsAccount.rate_per_second > 0
            )
        )
        self._slowest = (now, rate)
        return rate

    def close(self) -> None:
        """Close every account's connections (the default provider is its owner's to close)."""
        with self._lock:
            providers = self._retired + [
                g.provider for g in self._cache.values() if g.provider is not None
            ]
            self._cache.clear()
            self._retired = []
        if self.sandbox:
            return
        for provider in providers:
            try:
                provider.close()
            except Exception:
                log.exception("Closing an SMS account's connections failed")


def reserve_slot(engine: sa.Engine, account_id: int, rate: float) -> datetime:
    """Take the account's next sending slot, shared by every worker: when this send may start.

    One atomic step: slot = max(next_send_at, now); next_send_at = slot + 1/rate. PostgreSQL does
    it in one UPDATE … RETURNING (the row lock orders concurrent workers); SQLite in a write
    transaction taken before the read (BEGIN IMMEDIATE), which no other writer can interleave."""
    step = timedelta(seconds=1.0 / rate)
    now = utcnow()
    at_now = sa.literal(now, UTCDateTime)
    with engine.connect().execution_options(sqlite_immediate=True) as connection:
        with connection.begin():
            if is_sqlite(connection):
                current = connection.scalar(
                    sa.select(accounts.c.next_send_at).where(accounts.c.id == account_id)
                )
                slot = max(current, now) if current is not None else now
                connection.execute(
                    sa.update(accounts)
                    .where(accounts.c.id == account_id)
                    .values(next_send_at=slot + step, updated_at=accounts.c.updated_at)
                )
                return slot
            following = connection.scalar(
                sa.update(accounts)
                .where(accounts.c.id == account_id)
                .values(
                    next_send_at=sa.func.greatest(
                        sa.func.coalesce(accounts.c.next_send_at, at_now), at_now
                    )
                    + step,
                    # The slot is not a change to the account: its cached gateway stays.
                    updated_at=accounts.c.updated_at,
                )
                .returning(accounts.c.next_send_at)
            )
    if following is None:
        return now
    return following - step


def for_webhook(session: so.Session, gateway: str, slug: str) -> SmsAccount | None:
    """The active account of this gateway whose webhooks live under `slug`; None: no such URL."""
    return session.scalar(
        sa.select(SmsAccount).where(
            SmsAccount.slug == slug,
            SmsAccount.provider == gateway,
            SmsAccount.active.is_(True),
        )
    )


def deliver_sandboxed(session: so.Session, after: timedelta, now: datetime | None = None) -> int:
    """The sandbox's stand-in for receipts, for accounts' messages it sent (they name their own
    gateway, not the sandbox): sent for `after` → delivered, as outbox.deliver_sandbox does."""
    now = now or utcnow()
    result = session.execute(
        sa.update(Message)
        .where(
            Message.account_id.is_not(None),
            Message.state == "sent",
            Message.provider_message_id.startswith(sandbox.ID_PREFIX, autoescape=True),
            Message.sent_at <= now - after,
        )
        .values(state="delivered", delivered_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount
