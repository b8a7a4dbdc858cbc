"""The Quick reply's domain (`webapp.sms.quick_reply.send`) on a real database: a batch of one
through Send, one SMS per form token even when two posts race, and its draft kept apart from the
SMS screen's."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from webapp import form_tokens
from webapp.errors import FieldError
from webapp.models import AuditEvent, Batch, Candidate, ComposeDraft, Message, User
from webapp.sms import compose, quick_reply, settings


def blocked(session) -> frozenset[str]:
    return settings.blocked_regions(session, "sandbox")


def post(session, user, person, body: str = "Hi {{first_name}}", *, token: str, reason=""):
    return quick_reply.send(
        session,
        user,
        "candidates",
        person.id,
        quick_reply.ReplyRequest(token=token, body=body, ignore_reason=reason),
        provider="sandbox",
        blocked=blocked(session),
    )


def written(app) -> dict[str, int]:
    """What is committed, as a fresh session sees it."""
    with app.extensions["database"].sessionmaker() as fresh:
        return {
            model.__name__: fresh.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Batch, Message, AuditEvent)
        }


def test_a_quick_reply_is_a_batch_of_one_with_its_audit(app, session, make_user, make_candidate):
    casey = make_user(full_name="Casey Jones")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")

    sent = post(session, casey, ada, token=form_tokens.new())

    assert not sent.repeated
    assert written(app) == {"Batch": 1, "Message": 1, "AuditEvent": 1}
    with app.extensions["database"].sessionmaker() as fresh:
        message = fresh.scalar(sa.select(Message))
        assert (message.batch_id, message.candidate_id, message.sender_id) == (
            sent.batch.id,
            ada.id,
            casey.id,
        )
        assert (message.body, message.state) == ("Hi Ada", "queued")
        assert fresh.scalar(sa.select(AuditEvent.action)) == "sms.sent"


def test_two_posts_racing_with_one_token_send_one_sms(app, session, make_user, make_candidate):
    """A double click's two requests, each in its own connection, started together."""
    casey = make_user()
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    token = form_tokens.new()
    start = threading.Barrier(2)
    batches: list[int] = []
    errors: list[BaseException] = []

    def press() -> None:
        with app.extensions["database"].sessionmaker() as own:
            user, person = own.get(User, casey.id), own.get(Candidate, ada.id)
            own.commit()
            start.wait()
            try:
                batches.append(post(own, user, person, token=token).batch.id)
            except BaseException as error:  # reported by the main thread
                errors.append(error)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(batches) == 2 and batches[0] == batches[1]
    assert written(app) == {"Batch": 1, "Message": 1, "AuditEvent": 1}
    with app.extensions["database"].sessionmaker() as fresh:
        assert fresh.scalars(sa.select(ComposeDraft.token)).all() == [token]


def test_a_form_posted_again_returns_its_batch(app, session, make_user, make_candidate):
    casey = make_user()
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    token = form_tokens.new()
    first = post(session, casey, ada, token=token)
    again = post(session, casey, ada, token=token)
    assert again.repeated and again.batch.id == first.batch.id
    assert written(app) == {"Batch": 1, "Message": 1, "AuditEvent": 1}


def test_a_refused_reply_writes_nothing_but_its_draft_and_a_retry_sends(
    app, session, make_user, make_candidate
):
    casey = make_user()
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    token = form_tokens.new()
    with pytest.raises(FieldError) as refused:
        post(session, casey, ada, "   ", token=token)
    session.rollback()
    assert refused.value.field == "message"
    assert written(app) == {"Batch": 0, "Message": 0, "AuditEvent": 0}
    post(session, casey, ada, "Now with words", token=token)
    assert written(app) == {"Batch": 1, "Message": 1, "AuditEvent": 1}


def test_the_quick_reply_leaves_the_users_sms_screen_alone(app, session, make_user, make_candidate):
    """The SMS screen open for the same person keeps its draft, unsent; Bulk SMS for that person
    never reopens the quick reply's draft."""
    casey = make_user()
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    screen = compose.create_draft(session, casey, "candidates", [ada.id])
    screen_token = screen.token
    token = form_tokens.new()
    with pytest.raises(FieldError):
        post(session, casey, ada, "", token=token)  # a draft, but no batch
    session.rollback()

    post(session, casey, ada, token=form_tokens.new())

    session.expire_all()
    assert session.get(ComposeDraft, screen.id).token == screen_token
    assert compose.batch_for(session, session.get(ComposeDraft, screen.id)) is None
    reopened = compose.open_draft(session, casey, "candidates", [ada.id])
    assert reopened.id == screen.id


def test_an_opted_out_person_is_refused_unless_ignored_with_a_reason(
    app, session, make_user, make_candidate
):
    casey = make_user(role="consultant")
    lead = make_user(role="team-leader")
    olive = make_candidate("Olive", "Optout", "0412 345 681", sms_consent=False)

    with pytest.raises(FieldError) as refused:
        post(session, casey, olive, token=form_tokens.new())
    session.rollback()
    assert "Olive Optout has opted out of SMS" in refused.value.message
    with pytest.raises(FieldError) as forbidden:
        post(session, casey, olive, token=form_tokens.new(), reason="Asked")
    session.rollback()
    assert forbidden.value.status == 403
    assert written(app) == {"Batch": 0, "Message": 0, "AuditEvent": 0}

    post(session, lead, olive, token=form_tokens.new(), reason="Asked by phone")
    with app.extensions["database"].sessionmaker() as fresh:
        assert fresh.scalar(sa.select(Message.override_opt_out)) is True
        actions = fresh.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["sms.ignore_opt_out", "sms.sent"]
