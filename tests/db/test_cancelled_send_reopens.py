"""A cancelled scheduled send on a real database (SQLite and PostgreSQL): Bulk SMS for the same
people reopens its text and Send at, ahead of an empty SMS screen opened for them since just to
look, but never ahead of one holding what was typed since."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import send_request
from webapp.models import Batch, ComposeDraft, utcnow
from webapp.sms import compose, schedule
from webapp.sms.compose import DraftInput

TEXT = "Original scheduled text {{first_name}}"
LATER = "2031-05-06T09:30"


@pytest.fixture
def people(make_candidate):
    return [make_candidate("Ada", "Lovelace", "0412 345 678"), make_candidate("Bob", "Brown")]


def scheduled(session, sender, people) -> tuple[ComposeDraft, Batch]:
    """The SMS screen for `people`, its text and Send at typed, sent for later."""
    draft = compose.create_draft(session, sender, "candidates", [p.id for p in people])
    send_at = utcnow() + timedelta(days=1)
    compose.save_input(
        session, draft, DraftInput(message=TEXT, send_at_typed=LATER, send_at=send_at)
    )
    batch = compose.send(
        session,
        draft,
        sender,
        send_request(TEXT, send_at=send_at),
        provider="sandbox",
        blocked=frozenset(),
    )
    return draft, batch


def reopened(session, sender, people) -> ComposeDraft:
    return compose.open_draft(session, sender, "candidates", [p.id for p in people])


def test_a_cancelled_send_reopens_before_an_empty_screen_opened_since(session, sender, people):
    draft, batch = scheduled(session, sender, people)
    looked = reopened(session, sender, people)  # Bulk SMS again, just to look: a new, empty draft
    assert looked.id != draft.id and looked.message == ""

    schedule.cancel(session, batch, sender)

    back = reopened(session, sender, people)
    assert (back.id, back.message, back.send_at_typed) == (draft.id, TEXT, LATER)


def test_it_reopens_before_an_empty_screen_stamped_at_the_same_moment_or_later(
    session, sender, people
):
    """A coarse clock (one tick for both) or one stepped back since: the empty draft's time is
    not before the cancel's, and the draft made last would win a tie."""
    draft, batch = scheduled(session, sender, people)
    looked = reopened(session, sender, people)
    session.execute(
        sa.update(ComposeDraft)
        .where(ComposeDraft.id == looked.id)
        .values(created_at=utcnow() + timedelta(minutes=5))
    )
    session.commit()

    schedule.cancel(session, batch, sender)

    assert reopened(session, sender, people).id == draft.id


def test_a_screen_typed_in_since_stays_what_bulk_sms_opens(session, sender, people):
    draft, batch = scheduled(session, sender, people)
    since = reopened(session, sender, people)
    compose.save_input(session, since, DraftInput(message="Typed since, {{first_name}}"))

    schedule.cancel(session, batch, sender)

    back = reopened(session, sender, people)
    assert (back.id, back.message) == (since.id, "Typed since, {{first_name}}")
    # The cancelled text is not lost: its batch page shows it, and its draft still holds it.
    session.refresh(batch)
    assert batch.body == TEXT
    assert session.get(ComposeDraft, draft.id, populate_existing=True).message == TEXT


def test_an_older_screen_typed_in_does_not_hold_the_cancelled_one_back(session, sender, people):
    """Opened before the scheduled one (another tab): Bulk SMS did not open it then either."""
    ids = [p.id for p in people]
    older = compose.create_draft(session, sender, "candidates", ids)
    compose.save_input(session, older, DraftInput(message="An older tab's text"))
    draft, batch = scheduled(session, sender, people)
    assert draft.id != older.id

    schedule.cancel(session, batch, sender)

    assert reopened(session, sender, people).id == draft.id
