"""Confirmation before big sends in the domain, on each database: compose.send refuses a big send
until it carries the digest of exactly what it would send, and the settings keep their values."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.delivery import send_request
from webapp.errors import FieldError
from webapp.models import AuditEvent, Batch, Message
from webapp.sms import compose, confirmation, settings


def count(app, model) -> int:
    with app.extensions["database"].sessionmaker() as fresh:
        return fresh.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def draft_of_three(session, make_user, make_candidate):
    """A consultant's draft to three candidates, one of whom has a long first name."""
    user = make_user()
    people = [
        make_candidate("Al", "One", "0412 000 001"),
        make_candidate("Bo", "Two", "0412 000 002"),
        make_candidate("Bartholomew-James", "Three", "0412 000 003"),
    ]
    return user, compose.create_draft(session, user, "candidates", [p.id for p in people])


BODY = "Hi {{first_name}}, " + "x" * 140  # one part for Al and Bo, two for Bartholomew-James


def send(session, draft, user, *, over: int | None, confirmed: str | None = None):
    return compose.send(
        session,
        draft,
        user,
        send_request(BODY, confirmed=confirmed),
        provider="sandbox",
        blocked=settings.blocked_regions(session, "sandbox"),
        confirm_over=over,
    )


def items_of(session, draft, user, body: str = BODY):
    state = compose.analyse_draft(session, draft, frozenset(), False)
    return compose.render_all(state, body, user)


def test_a_send_over_the_threshold_needs_the_digest_of_what_it_sends(app, session, draft_of_three):
    user, draft = draft_of_three

    with pytest.raises(confirmation.ConfirmationNeeded) as asked:
        send(session, draft, user, over=2)
    session.rollback()
    assert (asked.value.changed, asked.value.status) == (False, 200)
    assert count(app, Batch) == count(app, Message) == 0

    with pytest.raises(confirmation.ConfirmationNeeded) as stale:
        send(
            session,
            draft,
            user,
            over=2,
            confirmed=confirmation.digest(items_of(session, draft, user, "Other text")),
        )
    session.rollback()
    assert (stale.value.changed, stale.value.status) == (True, 409)
    assert count(app, Batch) == 0

    batch = send(
        session, draft, user, over=2, confirmed=confirmation.digest(items_of(session, draft, user))
    )
    assert (batch.message_count, count(app, Message)) == (3, 3)


def test_at_the_threshold_or_without_one_no_confirmation_is_asked(app, session, draft_of_three):
    user, draft = draft_of_three
    assert send(session, draft, user, over=3).message_count == 3
    other = compose.create_draft(session, user, "candidates", draft.person_ids)
    assert send(session, other, user, over=None).message_count == 3


def test_the_totals_sum_each_recipients_own_parts(session, draft_of_three):
    user, draft = draft_of_three
    items = items_of(session, draft, user)

    assert confirmation.totals(items) == confirmation.Totals(messages=3, parts=4)
    estimate = confirmation.estimate(items, {"AU": Decimal("0.0795")}, "AUD")
    assert (estimate.cost, estimate.shown, estimate.unpriced) == (
        Decimal("0.3180"),
        "0.32 AUD",
        (),
    )


def test_a_price_is_kept_as_it_is_written():
    assert confirmation.parse_part_prices("AU 100\nNZ 0.05\nGB 0.080\nUS 007\nIE .08\nFR 8.") == {
        "AU": "100",
        "NZ": "0.05",
        "GB": "0.080",
        "US": "7",
        "IE": "0.08",
        "FR": "8",
    }


@pytest.mark.parametrize(
    "price", ["1_0", "0_08", "-0", "+1", "1e2", "5E-2", "٣", "0.٣", "NaN", "Infinity", ".", "1.2.3"]
)
def test_only_digits_and_a_decimal_point_make_a_price(price):
    """Decimal() took "1_0" (stored as 10), "-0", "1e2" and other scripts' digits."""
    with pytest.raises(FieldError, match=f"Line 1: “{re.escape(price)}” is not a price"):
        confirmation.parse_part_prices(f"AU {price}")


def test_the_settings_keep_their_values_and_are_audited(app, session, make_user):
    admin = make_user(role="administrator")
    assert confirmation.threshold(session, {"SMS_CONFIRM_OVER": 7}) == 7

    changes = confirmation.save(
        session, admin, confirm_over="0", part_prices="AU 0.0795\nGB 0.1", price_currency="GBP"
    )

    session.expire_all()
    assert set(changes) == {"confirm_over", "part_prices", "price_currency"}
    assert confirmation.threshold(session, {"SMS_CONFIRM_OVER": 7}) == 0
    assert confirmation.prices_per_part(session) == {
        "AU": Decimal("0.0795"),
        "GB": Decimal("0.1"),
    }
    assert confirmation.currency_label(session) == "GBP"
    assert confirmation.stored(session) == {
        "confirm_over": "0",
        "part_prices": "AU 0.0795\nGB 0.1",
        "price_currency": "GBP",
    }
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "settings.changed"))
    assert event.details["changes"]["part_prices"] == [None, {"AU": "0.0795", "GB": "0.1"}]

    assert (
        confirmation.save(
            session, admin, confirm_over="0", part_prices="GB 0.1\nAU 0.0795", price_currency="GBP"
        )
        == {}
    )
    confirmation.save(session, admin, confirm_over="", part_prices="", price_currency="")
    session.expire_all()
    assert confirmation.threshold(session, {"SMS_CONFIRM_OVER": 7}) == 7
    assert confirmation.prices_per_part(session) == {}
