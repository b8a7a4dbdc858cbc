"""The compose draft on a real database: it keeps what was typed and ticked, Bulk SMS for the same
selection reopens it (same user, kind and people, unsent, opened today), and a template replaces
typed text only when nothing typed would be lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.delivery import send_request
from webapp.models import Batch, ComposeDraft, utcnow
from webapp.sms import compose, settings
from webapp.sms.compose import DraftInput

TYPED = DraftInput(
    message="Hi {{first_name}},\n  see you at 10 – bring ID.  ",
    ignore=True,
    ignore_reason="Site closed: safety notice",
    comment=True,
    comment_type="SMS",
    comment_text="Told them about the closure",
)


@pytest.fixture
def people(make_candidate):
    return [make_candidate("Ada", "Lovelace", "0412 345 678"), make_candidate("Bob", "Brown")]


@pytest.fixture
def lead(make_user):
    return make_user(role="team-leader")


def fresh(app, draft_id: int) -> ComposeDraft:
    """The draft as committed, read by a session of its own."""
    with app.extensions["database"].sessionmaker(expire_on_commit=False) as other:
        return other.get(ComposeDraft, draft_id)


def opened(session, user, people, kind: str = "candidates") -> ComposeDraft:
    return compose.open_draft(session, user, kind, [p.id for p in people])


def test_what_was_typed_and_ticked_is_kept_exactly(app, session, lead, people):
    draft = opened(session, lead, people)
    compose.save_input(session, draft, TYPED)
    assert compose.draft_input(fresh(app, draft.id)) == TYPED


def test_a_save_that_changes_nothing_writes_nothing(app, session, lead, people):
    draft = opened(session, lead, people)
    compose.save_input(session, draft, TYPED)
    first = fresh(app, draft.id).updated_at
    compose.save_input(session, draft, TYPED)
    assert fresh(app, draft.id).updated_at == first
    compose.save_input(session, draft, DraftInput(message="Changed"))
    assert fresh(app, draft.id).updated_at >= first
    assert fresh(app, draft.id).message == "Changed"


def test_a_nul_is_dropped_but_everything_else_is_kept_for_send_to_judge(app, session, lead, people):
    # PostgreSQL cannot store a NUL in text; control characters stay, for Send to refuse by name.
    draft = opened(session, lead, people)
    compose.save_input(
        session, draft, DraftInput(message="a\x00b", ignore_reason="why\x00\x1b", comment_text="c")
    )
    kept = fresh(app, draft.id)
    assert (kept.message, kept.ignore_reason) == ("ab", "why\x1b")


def test_bulk_sms_for_the_same_selection_reopens_its_draft(app, session, lead, people):
    draft = opened(session, lead, people)
    compose.save_input(session, draft, TYPED)
    again = opened(session, lead, people)
    assert again.id == draft.id
    assert compose.draft_input(again) == TYPED


@pytest.mark.parametrize("change", ["order", "fewer", "kind", "user"])
def test_another_selection_or_user_gets_a_new_draft(
    session, lead, make_user, make_contact, people, change
):
    draft = opened(session, lead, people)
    compose.save_input(session, draft, TYPED)
    if change == "order":
        other = opened(session, lead, list(reversed(people)))
    elif change == "fewer":
        other = opened(session, lead, people[:1])
    elif change == "kind":
        # Contacts whose ids are the candidates' ids: the same numbers, other people.
        contacts = [make_contact("C", str(n)) for n in range(max(p.id for p in people) + 1)]
        chosen = [c for c in contacts if c.id in {p.id for p in people}]
        other = opened(session, lead, chosen, kind="contacts")
    else:
        other = opened(session, make_user(role="team-leader"), people)
    assert other.id != draft.id
    assert other.message == ""


def test_a_sent_draft_is_never_reopened(app, session, lead, people):
    draft = opened(session, lead, people)
    compose.save_input(session, draft, DraftInput(message="Hello"))
    batch = compose.send(
        session,
        draft,
        lead,
        send_request(body="Hello"),
        provider="sandbox",
        blocked=settings.blocked_regions(session, "sandbox"),
    )
    again = opened(session, lead, people)
    assert again.id != draft.id and again.message == ""
    # ...and the old draft still makes that one batch only.
    assert compose.batch_for(session, draft).id == batch.id
    assert session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 1


def test_a_draft_opened_before_today_is_not_reopened(app, session, lead, people):
    draft = opened(session, lead, people)
    compose.save_input(session, draft, DraftInput(message="Yesterday's words"))
    draft.created_at = compose.start_of_today() - timedelta(minutes=1)
    session.commit()
    again = opened(session, lead, people)
    assert again.id != draft.id and again.message == ""


def test_today_begins_at_the_users_midnight():
    sydney = ZoneInfo("Australia/Sydney")
    half_past_midnight_utc = datetime(2026, 12, 6, 0, 30, tzinfo=UTC)  # 11:30 am in Sydney
    assert compose.start_of_today(sydney, half_past_midnight_utc) == datetime(
        2026, 12, 5, 13, 0, tzinfo=UTC
    )
    assert compose.start_of_today(now=half_past_midnight_utc) == datetime(2026, 12, 6, tzinfo=UTC)


def test_a_draft_is_reopened_the_same_day_in_the_users_zone_not_utcs(app, session, lead, people):
    """ "The same day" is the user's: a Sydney morning's draft was forgotten at UTC's midnight,
    11 am there. The zone is one where it is about noon now, so its day began hours before UTC's
    or after it, never at it."""
    now = utcnow()
    offset = 12 - now.hour or 1
    zone = ZoneInfo(f"Etc/GMT{-offset:+d}")  # POSIX signs: Etc/GMT-5 is five hours ahead
    start = compose.start_of_today(zone)
    assert start != now.replace(hour=0, minute=0, second=0, microsecond=0)
    ids = [p.id for p in people]
    draft = compose.open_draft(session, lead, "candidates", ids, zone=zone)
    compose.save_input(session, draft, DraftInput(message="This morning's words"))

    for created, reopened in (
        (start + timedelta(minutes=1), True),
        (start - timedelta(minutes=1), False),
    ):
        draft.created_at = created
        session.commit()
        again = compose.open_draft(session, lead, "candidates", ids, zone=zone)
        assert (again.id == draft.id) is reopened, created


def test_using_a_template_puts_its_text_in_and_remembers_it(
    app, session, lead, people, make_template
):
    template = make_template("Interview", "Interview at 10")
    draft = opened(session, lead, people)
    compose.use_template(session, draft, lead, template.id)
    kept = fresh(app, draft.id)
    assert (kept.template_id, kept.message) == (template.id, "Interview at 10")

    assert not compose.would_lose_text(session, draft, "Interview at 10")  # its own text
    assert not compose.would_lose_text(session, draft, "   \n")  # nothing typed
    assert compose.would_lose_text(session, draft, "Interview at 10 sharp")  # typed over it

    compose.use_template(session, draft, lead, None)  # "No template": the text stays
    kept = fresh(app, draft.id)
    assert (kept.template_id, kept.message) == (None, "Interview at 10")


def test_a_deleted_template_leaves_the_draft_and_its_text(
    app, session, lead, people, make_template
):
    template = make_template("Gone", "Soon gone")
    draft = opened(session, lead, people)
    compose.use_template(session, draft, lead, template.id)
    session.delete(template)
    session.commit()
    kept = fresh(app, draft.id)
    assert (kept.template_id, kept.message) == (None, "Soon gone")
