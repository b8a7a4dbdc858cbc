"""The domain's Send (`webapp.sms.compose.send`) and drafts (`create_draft`) on a real database:
one transaction for the batch, its messages, comments and audit; one batch per draft."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import send_request
from webapp import audit_log
from webapp.errors import FieldError
from webapp.models import (
    AuditEvent,
    Batch,
    Candidate,
    Comment,
    ComposeDraft,
    Message,
    SmsTemplate,
    utcnow,
)
from webapp.models.people import person_values
from webapp.phones import normalise
from webapp.sms import compose, settings
from webapp.sms.compose import SendRequest

# --- small helpers -------------------------------------------------------------------------------


def blocked(session) -> frozenset[str]:
    return settings.blocked_regions(session, "sandbox")


def send(session, draft, user, what: SendRequest | None = None):
    return compose.send(
        session,
        draft,
        user,
        what or send_request(),
        provider="sandbox",
        blocked=blocked(session),
    )


def refused(app, session, draft, user, what: SendRequest | None = None, *, error=FieldError):
    """Send fails with `error` and leaves nothing written: the exception."""
    with pytest.raises(error) as caught:
        send(session, draft, user, what)
    session.rollback()
    assert written(app) == NOTHING
    return caught.value


def count(session, model, *where) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def written(app) -> dict[str, int]:
    """What is committed, as seen by a fresh session (not the one the test wrote with)."""
    with app.extensions["database"].sessionmaker() as fresh:
        return {
            "batches": count(fresh, Batch),
            "messages": count(fresh, Message),
            "comments": count(fresh, Comment),
            "audit": count(fresh, AuditEvent),
        }


NOTHING = {"batches": 0, "messages": 0, "comments": 0, "audit": 0}
ONE_SENT = {"batches": 1, "messages": 1, "comments": 0, "audit": 1}  # one SMS, no comment


def insert_candidates(session, rows: list[tuple[str, str, str | None, bool]]) -> list[int]:
    """Bulk-insert (first, last, mobile, consent) rows; returns their ids in order."""
    values = [
        person_values(
            first_name=first,
            last_name=last,
            email=None,
            mobile=normalise(mobile, "AU"),
            sms_consent=consent,
        )
        for first, last, mobile, consent in rows
    ]
    session.execute(sa.insert(Candidate), values)
    session.commit()
    ids = session.scalars(sa.select(Candidate.id).order_by(Candidate.id)).all()
    return list(ids)[-len(rows) :]


def draft_to_one(session, make_user, make_candidate):
    """A new user and their draft to one candidate."""
    user = make_user()
    draft = compose.create_draft(session, user, "candidates", [make_candidate().id])
    return user, draft


# --- create_draft --------------------------------------------------------------------------------


def test_create_draft_keeps_the_chosen_ids_once_each_in_order(session, make_user, make_candidate):
    user = make_user()
    a = make_candidate("Ada", "Lovelace", "0412 345 678")
    b = make_candidate("Bob", "Brown", "0412 345 679")
    draft = compose.create_draft(session, user, "candidates", [b.id, a.id, b.id])
    session.expire_all()
    stored = session.scalar(sa.select(ComposeDraft).where(ComposeDraft.token == draft.token))
    assert stored.person_ids == [b.id, a.id]
    assert stored.removed_ids == []
    assert stored.user_id == user.id
    assert stored.kind == "candidates"
    assert len(stored.token) >= 20


def test_create_draft_refuses_ids_that_do_not_exist_and_stores_nothing(
    session, make_user, make_candidate
):
    user = make_user()
    a = make_candidate()
    with pytest.raises(FieldError) as caught:
        compose.create_draft(session, user, "candidates", [a.id, a.id + 1000])
    assert caught.value.status == 409
    assert "no longer exist" in caught.value.message
    session.rollback()
    assert count(session, ComposeDraft) == 0


def test_create_draft_refuses_an_empty_selection(session, make_user):
    with pytest.raises(FieldError) as caught:
        compose.create_draft(session, make_user(), "candidates", [])
    assert caught.value.status == 400
    assert "Tick at least one person" in caught.value.message


def test_create_draft_refuses_an_unknown_kind(session, make_user, make_candidate):
    a = make_candidate()
    with pytest.raises(FieldError):
        compose.create_draft(session, make_user(), "users", [a.id])
    assert count(session, ComposeDraft) == 0


def test_two_drafts_of_the_same_people_get_different_tokens(session, make_user, make_candidate):
    user = make_user()
    a = make_candidate()
    first = compose.create_draft(session, user, "candidates", [a.id])
    second = compose.create_draft(session, user, "candidates", [a.id])
    assert first.token != second.token
    assert count(session, ComposeDraft) == 2


# --- Send: what one transaction writes -----------------------------------------------------------


def test_send_writes_batch_messages_and_audit_together(app, session, make_user, make_candidate):
    user = make_user(full_name="Casey Jones")
    a = make_candidate("Ada", "Lovelace", "0412 345 678")
    b = make_candidate("Bob", "Brown", "+44 7400 123456")
    draft = compose.create_draft(session, user, "candidates", [a.id, b.id])

    batch = send(session, draft, user)

    assert written(app) == {"batches": 1, "messages": 2, "comments": 0, "audit": 1}
    with app.extensions["database"].sessionmaker() as fresh:
        stored = fresh.get(Batch, batch.id)
        assert stored.draft_id == draft.id
        assert stored.sender_id == user.id
        assert stored.kind == "candidates"
        assert stored.body == "Hi {{first_name}}, new roles this week."
        assert stored.provider == "sandbox"
        assert stored.message_count == 2
        messages = fresh.scalars(sa.select(Message).order_by(Message.id)).all()
        assert [(m.candidate_id, m.contact_id, m.to_e164, m.body) for m in messages] == [
            (a.id, None, "+61412345678", "Hi Ada, new roles this week."),
            (b.id, None, "+447400123456", "Hi Bob, new roles this week."),
        ]
        assert {
            (
                m.batch_id,
                m.state,
                m.direction,
                m.sender_id,
                m.segments,
                m.encoding,
                m.override_opt_out,
                m.provider,
            )
            for m in messages
        } == {(batch.id, "queued", "out", user.id, 1, "GSM-7", False, "sandbox")}
        assert len({m.uuid for m in messages}) == 2
        event = fresh.scalar(sa.select(AuditEvent))
        assert event.action == "sms.sent"
        assert event.actor_id == user.id
        assert event.subject_id == batch.id


def test_send_to_contacts_fills_contact_id(app, session, make_user, make_contact):
    user = make_user()
    grace = make_contact("Grace", "Hopper", "0413 222 333", client="Harbour Mining Pty Ltd")
    draft = compose.create_draft(session, user, "contacts", [grace.id])
    send(session, draft, user, send_request("Hello {{first_name}} at {{client_name}}"))
    with app.extensions["database"].sessionmaker() as fresh:
        message = fresh.scalar(sa.select(Message))
        assert (message.candidate_id, message.contact_id) == (None, grace.id)
        assert message.body == "Hello Grace at Harbour Mining Pty Ltd"


def test_send_stores_the_outcome_counts_on_the_batch(app, session, make_user, make_candidate):
    user = make_user()
    people = [
        make_candidate("Ok", "One", "0412 000 001"),
        make_candidate("Ok", "Two", "0412 000 002"),
        make_candidate("Dup", "Two", "+61 412 000 002"),
        make_candidate("Opted", "Out", "0412 000 003", sms_consent=False),
        make_candidate("No", "Mobile", None),
        make_candidate("Bad", "Number", "12345"),
        make_candidate("Blocked", "Kazakh", "+7 701 123 4567"),
        make_candidate("Taken", "Off", "0412 000 004"),
    ]
    draft = compose.create_draft(session, user, "candidates", [p.id for p in people])
    compose.set_removed(session, draft, people[-1].id, True)

    batch = send(session, draft, user)

    with app.extensions["database"].sessionmaker() as fresh:
        stored = fresh.get(Batch, batch.id)
        assert stored.message_count == 2
        assert stored.outcome_counts == {
            "ok": 2,
            "duplicate": 1,
            "opted_out": 1,
            "no_mobile": 1,
            "invalid_number": 1,
            "blocked_country": 1,
            "removed": 1,
        }
        assert sorted(fresh.scalars(sa.select(Message.candidate_id))) == sorted(
            [people[0].id, people[1].id]
        )


def test_comments_are_written_with_the_batch(app, session, make_user, make_candidate):
    user = make_user()
    a = make_candidate("Ada", "Lovelace", "0412 345 678")
    b = make_candidate("Bob", "Brown", "0412 345 679")
    c = make_candidate("Cat", "Smith", "0412 345 680", sms_consent=False)
    draft = compose.create_draft(session, user, "candidates", [a.id, b.id, c.id])
    send(
        session,
        draft,
        user,
        send_request("Interview tomorrow", comment=True, comment_type="SMS", comment_text=None),
    )
    with app.extensions["database"].sessionmaker() as fresh:
        comments = fresh.scalars(sa.select(Comment).order_by(Comment.candidate_id)).all()
        assert [
            (c_.candidate_id, c_.contact_id, c_.author_id, c_.type, c_.text) for c_ in comments
        ] == [
            (a.id, None, user.id, "SMS", "Interview tomorrow"),
            (b.id, None, user.id, "SMS", "Interview tomorrow"),
        ]
        # No typed text: each record gets its own rendered message, so the batch keeps none.
        assert fresh.scalar(sa.select(Batch.comment_text)) is None


def test_each_comment_holds_the_message_its_person_was_sent(
    app, session, make_user, make_candidate
):
    # Merged text differs person by person: each record's comment is its own message, also in
    # the order the messages were queued.
    user = make_user()
    people = [make_candidate(name, "Smith", f"0412 345 67{n}") for n, name in enumerate("ABC")]
    draft = compose.create_draft(session, user, "candidates", [p.id for p in reversed(people)])
    send(session, draft, user, send_request("Hi {{first_name}}", comment=True, comment_type="Note"))
    with app.extensions["database"].sessionmaker() as fresh:
        sent = fresh.execute(sa.select(Message.candidate_id, Message.body).order_by(Message.id))
        comments = fresh.execute(
            sa.select(Comment.candidate_id, Comment.text, Comment.type, Comment.author_id).order_by(
                Comment.id
            )
        ).all()
        assert [(c.candidate_id, c.text) for c in comments] == [tuple(row) for row in sent]
        assert [c.text for c in comments] == ["Hi C", "Hi B", "Hi A"]
        assert {(c.type, c.author_id) for c in comments} == {("Note", user.id)}
        created = fresh.scalars(sa.select(Comment.created_at)).all()
        assert len(set(created)) == 1 and created[0].tzinfo is not None


def test_a_typed_comment_goes_on_each_contact_record(app, session, make_user, make_contact):
    user = make_user()
    a = make_contact("Grace", "Hopper", "0413 222 333")
    b = make_contact("Alan", "Turing", "0413 222 334")
    draft = compose.create_draft(session, user, "contacts", [a.id, b.id])
    typed = "Told them about the {{closure}}"  # kept as typed: never merged
    send(
        session,
        draft,
        user,
        send_request("Hi {{first_name}}", comment=True, comment_type="SMS", comment_text=typed),
    )
    with app.extensions["database"].sessionmaker() as fresh:
        comments = fresh.execute(
            sa.select(Comment.candidate_id, Comment.contact_id, Comment.text).order_by(
                Comment.contact_id
            )
        ).all()
        assert [tuple(c) for c in comments] == [
            (None, a.id, typed),
            (None, b.id, typed),
        ]


def test_a_failure_late_in_send_leaves_nothing_behind(app, session, make_user, make_candidate):
    # Comments are written after the batch and its messages; a comment row the database refuses
    # (type is NOT NULL) must take the batch, the messages and the audit with it.
    user = make_user()
    a = make_candidate("Ada", "Lovelace", "0412 345 678")
    draft = compose.create_draft(session, user, "candidates", [a.id])
    failing = send_request("Hello", comment=True, comment_type=None)
    refused(app, session, draft, user, failing, error=sa.exc.IntegrityError)
    # And the draft can still be sent afterwards.
    batch = send(session, draft, user, send_request("Hello"))
    assert written(app) == ONE_SENT
    assert batch.draft_id == draft.id


@pytest.mark.parametrize(
    "body, expected",
    [
        ("", "Type a message"),
        ("   \n ", "Type a message"),
        ("Hi {{nope}}", "Unknown merge field"),
        ("x" * 1_601, "at most 1,600"),
    ],
)
def test_a_refused_message_writes_nothing(app, session, make_user, make_candidate, body, expected):
    user, draft = draft_to_one(session, make_user, make_candidate)
    error = refused(app, session, draft, user, send_request(body))
    assert expected in error.message
    assert error.status == 400


def test_a_message_of_exactly_1600_characters_is_accepted(app, session, make_user, make_candidate):
    user, draft = draft_to_one(session, make_user, make_candidate)
    send(session, draft, user, send_request("x" * 1_600))
    with app.extensions["database"].sessionmaker() as fresh:
        message = fresh.scalar(sa.select(Message))
        assert len(message.body) == 1_600
        assert message.segments == 11  # ceil(1600 / 153)


def test_nobody_eligible_writes_nothing(app, session, make_user, make_candidate):
    user = make_user()
    people = [
        make_candidate("Opted", "Out", "0412 000 003", sms_consent=False),
        make_candidate("No", "Mobile", None),
    ]
    draft = compose.create_draft(session, user, "candidates", [p.id for p in people])
    assert "Nobody on this SMS can receive it" in refused(app, session, draft, user).message


def test_a_person_deleted_after_the_draft_stops_send_and_is_taken_off(
    app, session, make_user, make_candidate
):
    user = make_user()
    a = make_candidate("Ada", "Lovelace", "0412 345 678")
    b = make_candidate("Bob", "Brown", "0412 345 679")
    draft = compose.create_draft(session, user, "candidates", [a.id, b.id])
    session.delete(b)
    session.commit()
    assert refused(app, session, draft, user).status == 409
    session.refresh(draft)
    assert draft.person_ids == [a.id]


def test_a_template_the_sender_may_not_use_is_refused_and_nothing_written(
    app, session, make_user, make_candidate
):
    owner, sender = make_user(), make_user()
    private = SmsTemplate(
        name="Private", body="x", owner_id=owner.id, shared=False, record_type="both"
    )
    contacts_only = SmsTemplate(name="Contacts", body="x", shared=True, record_type="contact")
    session.add_all([private, contacts_only])
    session.commit()
    a = make_candidate()
    draft = compose.create_draft(session, sender, "candidates", [a.id])
    for template in (private, contacts_only):
        error = refused(app, session, draft, sender, send_request("Hello", template_id=template.id))
        assert error.field == "template"


# --- Ignore --------------------------------------------------------------------------------------


# Opted-out people (first, last, mobile): one Ignore lets through, one blocked, one invalid.
BOB = ("Bob", "Brown", "0412 345 679")
BLOCKED = ("Kaz", "Out", "+7 701 123 4567")
INVALID = ("Bad", "Out", "12345")


@pytest.fixture
def draft_with_opted_out(session, make_candidate):
    """A draft by `user` to Ada, who consents, and to these opted-out people: draft, people."""

    def make(user, *opted_out: tuple[str, str, str]):
        people = [make_candidate("Ada", "Lovelace", "0412 345 678")]
        people += [make_candidate(*person, sms_consent=False) for person in opted_out]
        return compose.create_draft(session, user, "candidates", [p.id for p in people]), people

    return make


def test_ignore_without_the_permission_is_refused_and_writes_nothing(
    app, session, make_user, draft_with_opted_out
):
    consultant = make_user(role="consultant")
    draft, _ = draft_with_opted_out(consultant, BOB)
    ignoring = send_request(ignore=True, ignore_reason="urgent")
    assert refused(app, session, draft, consultant, ignoring).status == 403


def test_ignore_with_the_permission_sends_to_opted_out_people_and_audits_them(
    app, session, make_user, draft_with_opted_out
):
    lead = make_user(role="team-leader")
    draft, (a, b, _blocked, _invalid) = draft_with_opted_out(lead, BOB, BLOCKED, INVALID)

    batch = send(
        session,
        draft,
        lead,
        send_request("Shift change", ignore=True, ignore_reason="  Client emergency  "),
    )

    with app.extensions["database"].sessionmaker() as fresh:
        messages = {m.candidate_id: m for m in fresh.scalars(sa.select(Message))}
        assert set(messages) == {a.id, b.id}  # blocked and invalid are never overridden
        assert messages[a.id].override_opt_out is False
        assert messages[b.id].override_opt_out is True
        stored = fresh.get(Batch, batch.id)
        assert stored.ignore_opt_out is True
        event = ignore_event(fresh)
        assert event.actor_id == lead.id
        assert event.subject_id == batch.id
        assert event.details["reason"] == "Client emergency"
        assert (event.details["kind"], event.details["people"]) == (
            "candidates",
            [[b.id, "+61412345679"]],
        )
        assert count(fresh, AuditEvent) == 2  # the override and the send


def assert_reason_refused(app, session, draft, lead, reason: str) -> None:
    """Send with Ignore and `reason` is refused beside the reason field, and writes nothing."""
    error = refused(app, session, draft, lead, send_request(ignore=True, ignore_reason=reason))
    assert (error.field, error.status) == ("ignore_reason", 400)


@pytest.mark.parametrize("reason", ["", "  \t ", "r" * 501], ids=["empty", "blank", "too-long"])
def test_ignore_that_lets_someone_through_needs_a_reason_of_at_most_500_characters(
    app, session, make_user, draft_with_opted_out, reason
):
    lead = make_user(role="team-leader")
    draft, _ = draft_with_opted_out(lead, BOB)

    assert_reason_refused(app, session, draft, lead, reason)


@pytest.mark.parametrize("reason", ["", "  \t "], ids=["empty", "blank"])
def test_ignore_that_lets_nobody_through_still_needs_a_reason(
    app, session, make_user, draft_with_opted_out, reason
):
    # "Required whenever Ignore is ticked", even when everyone opted out turns
    # out to be blocked or invalid, so the Ignore overrides nobody.
    lead = make_user(role="team-leader")
    draft, _ = draft_with_opted_out(lead, BLOCKED)

    assert_reason_refused(app, session, draft, lead, reason)
    batch = send(session, draft, lead, send_request(ignore=True, ignore_reason="Roster change"))
    assert batch.ignore_opt_out is False
    assert written(app) == ONE_SENT  # no override


def send_ignoring_opt_outs(session, lead, count: int) -> tuple[list[int], Batch]:
    """Send with Ignore to `count` opted-out candidates inserted one after another: ids, batch."""
    ids = insert_candidates(
        session, [("Olive", f"Out{i:05d}", f"+614{i:08d}", False) for i in range(count)]
    )
    draft = compose.create_draft(session, lead, "candidates", ids)
    ignoring = send_request("Site closed today", ignore=True, ignore_reason="Safety notice")
    return ids, send(session, draft, lead, ignoring)


def ignore_event(session) -> AuditEvent:
    return session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sms.ignore_opt_out"))


def test_ignore_audit_entry_stays_small_however_many_it_lets_through(app, session, make_user):
    # One Ignore over thousands of people must not write a multi-MB audit row. Up to the cap each
    # person is [id, number]; beyond it the entry holds their count and id ranges.
    many = compose.MAX_AUDIT_PEOPLE + 1_000
    ids, batch = send_ignoring_opt_outs(session, make_user(role="team-leader"), many)

    with app.extensions["database"].sessionmaker() as fresh:
        event = ignore_event(fresh)
        assert event.subject_id == batch.id
        assert len(json.dumps(event.details)) < 1_000  # the ids were inserted one after another
        assert event.details == {
            "reason": "Safety notice",
            "kind": "candidates",
            "people_count": many,
            "ids": f"{ids[0]}-{ids[-1]}",
        }
        assert count(fresh, Message, Message.override_opt_out.is_(True)) == many
    shown = audit_log.describe(event.action, event.details)
    assert (shown.people_count, shown.people) == (many, ())
    assert shown.person_ids == f"Candidate ids {ids[0]}–{ids[-1]}"


def test_ignore_audit_entry_names_each_person_compactly_up_to_the_cap(app, session, make_user):
    ids, _ = send_ignoring_opt_outs(
        session, make_user(role="team-leader"), compose.MAX_AUDIT_PEOPLE
    )

    with app.extensions["database"].sessionmaker() as fresh:
        event = ignore_event(fresh)
        assert event.details["people"][:2] == [[ids[0], "+61400000000"], [ids[1], "+61400000001"]]
        assert len(event.details["people"]) == compose.MAX_AUDIT_PEOPLE
        assert len(json.dumps(event.details)) < 30 * compose.MAX_AUDIT_PEOPLE  # was ~75 a person


def test_id_ranges_are_sorted_runs():
    assert compose.id_ranges([10, 3, 1, 2, 7, 9, 3]) == "1-3,7,9-10"
    assert compose.id_ranges([]) == ""


# --- one batch per draft -------------------------------------------------------------------------


def test_sending_the_same_draft_twice_gives_one_batch(app, session, make_user, make_candidate):
    user, draft = draft_to_one(session, make_user, make_candidate)
    first = send(session, draft, user)
    second = send(session, draft, user)
    assert second.id == first.id
    assert written(app) == ONE_SENT


def test_a_commercial_draft_sent_twice_gives_one_batch(app, session, make_user, make_candidate):
    # The batch keeps the text with the opt-out line after it; the second Send posts it without.
    user, draft = draft_to_one(session, make_user, make_candidate)
    first = send(session, draft, user, send_request(commercial=True))
    second = send(session, draft, user, send_request(commercial=True))
    assert second.id == first.id
    assert written(app) == ONE_SENT


def test_other_text_sent_on_a_sent_draft_is_refused_not_dropped(
    app, session, make_user, make_candidate
):
    # The SMS screen open in two tabs: the second tab's Send must not answer "sent" for text that
    # never went.
    user, draft = draft_to_one(session, make_user, make_candidate)
    first = send(session, draft, user)
    with pytest.raises(FieldError) as caught:
        send(session, draft, user, send_request("A different text the second time"))
    assert (caught.value.field, caught.value.status) == ("message", 409)
    assert f"already sent, from another tab or window, as batch {first.id}" in str(caught.value)
    session.rollback()
    assert written(app) == ONE_SENT


def test_other_text_sent_on_a_scheduled_draft_says_scheduled_not_sent(
    app, session, make_user, make_candidate
):
    # Nothing has gone: "already sent" had the sender believe the first tab's text went.
    user, draft = draft_to_one(session, make_user, make_candidate)
    tomorrow = utcnow() + timedelta(days=1)
    first = send(session, draft, user, send_request(send_at=tomorrow))
    with pytest.raises(FieldError) as caught:
        send(session, draft, user, send_request("A different text", send_at=tomorrow))

    assert (caught.value.field, caught.value.status) == ("message", 409)
    assert str(caught.value) == (
        f"This SMS was already scheduled, from another tab or window, as batch {first.id} with "
        "other text: the text here was not sent. To send it instead, cancel that scheduled send "
        "on the Sent page, then send this again."
    )


def test_sending_again_from_another_session_returns_the_first_batch(
    app, session, make_user, make_candidate
):
    user, draft = draft_to_one(session, make_user, make_candidate)
    first = send(session, draft, user)
    with app.extensions["database"].sessionmaker() as other:
        again = compose.get_draft(other, draft.token, user)
        second = send(other, again, user)
        assert second.id == first.id
    assert written(app) == ONE_SENT


def test_a_request_that_began_before_another_send_committed_returns_that_batch(
    app, session, make_user, make_candidate
):
    # Two Send requests for one draft (a double click): the second loads the draft, then the first
    # commits its batch, then the second goes on to send. It must answer with the first batch.
    user, draft = draft_to_one(session, make_user, make_candidate)
    maker = app.extensions["database"].sessionmaker
    with maker() as second_request, maker() as first_request:
        second_draft = compose.get_draft(
            second_request, draft.token, user
        )  # its transaction begins
        first = send(first_request, compose.get_draft(first_request, draft.token, user), user)

        second = send(second_request, second_draft, user)

        assert second.id == first.id
    assert written(app) == ONE_SENT


def test_a_send_racing_an_uncommitted_batch_for_the_same_draft_returns_it(
    app, session, make_user, make_candidate
):
    # The first request has inserted its batch but not committed; the second checks, finds none,
    # and tries to insert its own. When the first commits, the second must return the first batch.
    user = make_user()
    a = make_candidate()
    draft = compose.create_draft(session, user, "candidates", [a.id])
    engine = app.extensions["database"].engine
    maker = app.extensions["database"].sessionmaker
    racing = threading.Event()
    result: dict = {}

    def watch(conn, cursor, statement, parameters, context, executemany):
        # PostgreSQL: the second send gets as far as its own INSERT. SQLite: it waits for the
        # write lock (BEGIN IMMEDIATE) before even looking for a batch. Either way it is racing.
        if (
            threading.current_thread().name == "second-send"
            and statement.lstrip().upper().startswith(("INSERT INTO BATCHES", "BEGIN IMMEDIATE"))
        ):
            racing.set()

    def second_send():
        try:
            with maker() as second_request:
                batch = send(
                    second_request, compose.get_draft(second_request, draft.token, user), user
                )
                result["batch_id"] = batch.id
        except BaseException as error:  # reported by the main thread
            result["error"] = error
        finally:
            racing.set()

    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        with maker() as first_request:
            first = compose.get_draft(first_request, draft.token, user)
            batch = Batch(
                draft_id=first.id,
                sender_id=user.id,
                kind="candidates",
                body=send_request().body,  # a double click: the same text as the second send
                provider="sandbox",
                message_count=0,
                outcome_counts={},
            )
            first_request.add(batch)
            first_request.flush()  # inserted, not committed
            thread = threading.Thread(target=second_send, name="second-send")
            thread.start()
            assert racing.wait(timeout=60), "the second send never tried to insert its batch"
            first_request.commit()
            first_id = batch.id
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)

    assert "error" not in result, repr(result.get("error"))
    assert result["batch_id"] == first_id
    assert written(app)["batches"] == 1
    assert written(app)["messages"] == 0  # the second request added nothing to the first batch


# --- size ----------------------------------------------------------------------------------------


def test_two_thousand_recipients_are_queued_once_each(app, session, make_user):
    user = make_user()
    rows = [
        (f"Person{i}", f"Number{i}", f"+61 412 {i // 1000:03d} {i % 1000:03d}", True)
        for i in range(2_000)
    ]
    # And some who must not be sent to, spread through the selection.
    rows += [("Opted", f"Out{i}", f"+61 413 000 {i:03d}", False) for i in range(20)]
    rows += [("Dup", f"Licate{i}", f"0412 000 {i:03d}", True) for i in range(10)]  # = Person0..9
    rows += [("Kaz", f"Akh{i}", f"+7 701 123 {i:04d}", True) for i in range(5)]
    ids = insert_candidates(session, rows)
    draft = compose.create_draft(session, user, "candidates", ids)

    batch = send(session, draft, user, send_request("Hi {{first_name}} {{last_name}}"))

    with app.extensions["database"].sessionmaker() as fresh:
        stored = fresh.get(Batch, batch.id)
        assert stored.message_count == 2_000
        assert stored.outcome_counts == {
            "ok": 2_000,
            "opted_out": 20,
            "duplicate": 10,
            "blocked_country": 5,
            "invalid_number": 0,
            "no_mobile": 0,
            "removed": 0,
        }
        messages = fresh.execute(
            sa.select(
                Message.candidate_id, Message.to_e164, Message.body, Message.state, Message.batch_id
            )
        ).all()
    assert len(messages) == 2_000
    expected = {
        ids[i]: (normalise(rows[i][2], "AU").e164, f"Hi {rows[i][0]} {rows[i][1]}")
        for i in range(2_000)
    }
    assert {m.candidate_id: (m.to_e164, m.body) for m in messages} == expected
    assert {(m.state, m.batch_id) for m in messages} == {("queued", batch.id)}
    assert len({m.to_e164 for m in messages}) == 2_000
