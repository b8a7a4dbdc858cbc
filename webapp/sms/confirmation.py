"""Confirmation before big sends: when a Send needs one, what it shows (messages, SMS parts, the
estimated cost), the digest that ties it to what is sent, and the settings behind it."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

import sqlalchemy.orm as so

from webapp import settings_store
from webapp.errors import FieldError
from webapp.models import Setting, User
from webapp.settings_store import whole_number
from webapp.sms.settings import check_region
from webapp.text import plain_text_problem

DEFAULT_CONFIRM_OVER = 100
# Beyond any Send (compose.MAX_RECIPIENTS is 50,000): a bound that keeps the number sane.
MAX_CONFIRM_OVER = 1_000_000
MAX_PRICE = Decimal(100)
MAX_PRICE_PLACES = 6
MAX_CURRENCY = 10
CENT = Decimal("0.01")

CONFIRM_OVER = "confirm_over"
PART_PRICES = "part_prices"
CURRENCY = "price_currency"
SETTING_KEYS = (CONFIRM_OVER, PART_PRICES, CURRENCY)

ASK = "Check the totals, then confirm: this SMS goes to many people at once."
CHANGED = (
    "The message or its recipients changed after you saw the confirmation (in another tab or "
    "window?), so nothing was sent. Check the new totals below and confirm again."
)


class Recipient(Protocol):
    id: int
    mobile_e164: str | None
    mobile_region: str | None


class Item(Protocol):
    """One message as compose.render_all produces it (a PreviewItem)."""

    person: Recipient
    rendered: Any  # .text: the message as this recipient gets it
    count: Any  # .segments: its SMS parts


# --- the totals and the confirmation --------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """What a Send would queue: its messages, and their SMS parts (each recipient's own)."""

    messages: int
    parts: int


def totals(items: Sequence[Item]) -> Totals:
    """The messages and the sum of each one's own parts: a long name can make one message two."""
    return Totals(len(items), sum(item.count.segments for item in items))


@dataclass(frozen=True)
class Estimate:
    """The cost of the messages to countries with a price per part, and who has none."""

    cost: Decimal
    priced: int
    # (region code, messages) without a price, most messages first.
    unpriced: tuple[tuple[str, int], ...]
    currency: str

    @property
    def shown(self) -> str:
        """The cost as the page shows it: to the cent, with the currency label when one is set."""
        amount = f"{self.cost.quantize(CENT, rounding=ROUND_HALF_UP):,}"
        return f"{amount} {self.currency}" if self.currency else amount


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation shows, and the digest its button sends back."""

    totals: Totals
    digest: str
    estimate: Estimate | None  # None: no price is set for any country

    @property
    def button(self) -> str:
        """The button's text, e.g. "Send 1,234 messages"."""
        n = self.totals.messages
        return f"Send {n:,} message{'' if n == 1 else 's'}"


def digest(items: Iterable[Item]) -> str:
    """A digest of who gets what: each recipient's id and number and the text they would get.

    So a confirmation stands for exactly one Send: another text, another recipient, or the same
    people at other numbers give another digest.
    """
    hashed = hashlib.sha256()
    for item in items:
        for piece in (str(item.person.id), item.person.mobile_e164 or "", item.rendered.text):
            data = piece.encode()
            hashed.update(b"%d:" % len(data))
            hashed.update(data)
    return hashed.hexdigest()


def estimate(items: Sequence[Item], prices: Mapping[str, Decimal], currency: str = "") -> Estimate:
    """The sum over recipients with a price for their number's country of parts x price."""
    parts: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    for item in items:
        region = item.person.mobile_region or "?"
        parts[region] += item.count.segments
        messages[region] += 1
    cost = sum((prices[r] * n for r, n in parts.items() if r in prices), Decimal(0))
    unpriced = sorted(
        ((r, n) for r, n in messages.items() if r not in prices), key=lambda rn: (-rn[1], rn[0])
    )
    return Estimate(
        cost=cost,
        priced=sum(n for r, n in messages.items() if r in prices),
        unpriced=tuple(unpriced),
        currency=currency,
    )


def confirmation(
    items: Sequence[Item], prices: Mapping[str, Decimal], currency: str = ""
) -> Confirmation:
    return Confirmation(
        totals=totals(items),
        digest=digest(items),
        estimate=estimate(items, prices, currency) if prices else None,
    )


def needs_confirming(messages: int, threshold: int | None) -> bool:
    """True when a Send of `messages` must be confirmed first (None: never, e.g. a quick reply)."""
    return threshold is not None and messages > threshold


class ConfirmationNeeded(FieldError):
    """Send stopped before anything was written: it must be confirmed first (`changed`: what
    was confirmed is no longer what would be sent)."""

    def __init__(self, changed: bool):
        super().__init__(CHANGED if changed else ASK, "confirm", 409 if changed else 200)
        self.changed = changed


def require(items: Sequence[Item], threshold: int | None, confirmed: str | None) -> None:
    """Refuse a Send over the threshold unless `confirmed` is the digest of exactly these
    messages; raises ConfirmationNeeded.

    A confirmed Send must match whatever its size: one confirmed for 150 people that another tab
    cut to 90 goes to nobody until the 90 are confirmed.
    """
    if confirmed:
        if confirmed != digest(items):
            raise ConfirmationNeeded(changed=True)
    elif needs_confirming(len(items), threshold):
        raise ConfirmationNeeded(changed=False)


# --- the settings ---------------------------------------------------------------------------------


def threshold(session: so.Session, config: Mapping[str, Any]) -> int:
    """Sends to more than this many people are confirmed first: the administrator's setting, else
    SMS_CONFIRM_OVER (100)."""
    row = session.get(Setting, CONFIRM_OVER)
    if row is not None and isinstance(row.value, int):
        return row.value
    return int(config.get("SMS_CONFIRM_OVER", DEFAULT_CONFIRM_OVER))


def prices_per_part(session: so.Session) -> dict[str, Decimal]:
    """The price of one SMS part by destination region ({"AU": Decimal("0.08")})."""
    row = session.get(Setting, PART_PRICES)
    return {
        region: Decimal(price) for region, price in ((row.value if row else None) or {}).items()
    }


def currency_label(session: so.Session) -> str:
    """The label shown after a cost (e.g. AUD); "" for none."""
    row = session.get(Setting, CURRENCY)
    return (row.value if row is not None else None) or ""


def check_confirm_over(text: str | None) -> int | None:
    """A whole number from 0 up, or None (empty: SMS_CONFIRM_OVER applies)."""
    return whole_number(
        text,
        CONFIRM_OVER,
        MAX_CONFIRM_OVER,
        f"Enter a whole number from 0 to {MAX_CONFIRM_OVER:,} (0: confirm every send), or "
        "leave it empty for the server's setting.",
    )


_PRICE_LINE = re.compile(r"([A-Za-z]{2})\s*[\s=:]\s*(\S+)")
_PRICE = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+")


def parse_part_prices(text: str | None) -> dict[str, str]:
    """Prices one a line, "AU 0.08": a region code and a decimal from 0 to 100, each region once.

    Kept as strings of the decimal typed, so a price is never rounded by a float.
    """
    prices: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = _PRICE_LINE.fullmatch(line.strip())
        if not match:
            raise FieldError(
                f"Line {number}: write a country code and a price, like “AU 0.08”.", PART_PRICES
            )
        try:
            region = check_region(match.group(1), PART_PRICES, required=True)
        except FieldError as error:
            raise FieldError(f"Line {number}: {error.message}", PART_PRICES) from None
        price = _price(match.group(2), number)
        if region in prices:
            raise FieldError(f"Line {number}: {region} is listed more than once.", PART_PRICES)
        prices[region] = price
    return prices


def _price(text: str, number: int) -> str:
    # Digits 0-9 and a decimal point only: Decimal() alone also takes "1_0" (as 10), "-0", "1e2",
    # "NaN" and the digits of other scripts ("٣"), none of them a price as the hint writes one.
    price = Decimal(text) if _PRICE.fullmatch(text) else None
    if price is None or price > MAX_PRICE or -price.as_tuple().exponent > MAX_PRICE_PLACES:
        raise FieldError(
            f"Line {number}: “{text}” is not a price: write a number from 0 to {MAX_PRICE} with "
            f"at most {MAX_PRICE_PLACES} decimal places, like 0.08.",
            PART_PRICES,
        )
    return format(price, "f")  # as typed, bar leading zeros ("007" is "7", ".08" is "0.08")


def check_currency(text: str | None) -> str:
    """The label shown after a cost ("AUD", "NZ$"): optional, short, one line."""
    label = (text or "").strip()
    problem = plain_text_problem("The currency", label)
    if problem:
        raise FieldError(problem, CURRENCY)
    if len(label) > MAX_CURRENCY:
        raise FieldError(
            f"Keep the currency to at most {MAX_CURRENCY} characters, like AUD.", CURRENCY
        )
    return label


def stored(session: so.Session) -> dict[str, str]:
    """The settings as the admin page edits them; "" means "not set"."""
    over = session.get(Setting, CONFIRM_OVER)
    prices = session.get(Setting, PART_PRICES)
    return {
        CONFIRM_OVER: str(over.value) if over is not None and over.value is not None else "",
        PART_PRICES: "\n".join(
            f"{region} {price}"
            for region, price in sorted(((prices and prices.value) or {}).items())
        ),
        CURRENCY: currency_label(session),
    }


def save(
    session: so.Session,
    actor: User | None,
    *,
    confirm_over: str,
    part_prices: str,
    price_currency: str,
) -> dict[str, list[Any]]:
    """Store the settings; returns {key: [old, new]} for those that changed, audited together.

    Empty removes the row: the environment's threshold, no prices, no currency label.
    """
    wanted: dict[str, Any] = {
        CONFIRM_OVER: check_confirm_over(confirm_over),
        PART_PRICES: parse_part_prices(part_prices),
        CURRENCY: check_currency(price_currency),
    }
    return settings_store.save(session, actor, wanted)
