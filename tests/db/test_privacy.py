"""Privacy saves on a real database (SQLite and PostgreSQL): only the boxes the user changed are
written, a box someone else already set the same way after the form was loaded is neither written
nor a clash, and ticking SMS again over the person's own STOP (or the gateway's opt-out) needs a
user who may ignore opt-outs and a reason, audited as overriding it."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from tests.replying import audits, receive
from webapp.database import begin_write
from webapp.models import AuditEvent, Candidate, audit
from webapp.people import records
from webapp.sms import consent

ADA_E164 = "+61412345678"
LOADED = {
    "sms_consent": True,
    "email_consent": True,
    "mail_consent": True,
    "privacy_statement_read": False,
}


@pytest.fixture
def casey(make_user):
    return make_user("casey", role="consultant")


@pytest.fixture
def tess(make_user):
    """A team leader: may ignore opt-outs, so may tick SMS again over the person's own."""
    return make_user("tess", role="team-leader")


def stored(session, person_id: int) -> dict[str, bool]:
    session.rollback()
    person = session.get(Candidate, person_id, populate_existing=True)
    return {field: getattr(person, field) for field in records.PRIVACY_FIELDS}


def test_only_the_boxes_the_user_changed_are_written(app, session, casey, ada):
    receive(app, session, "STOP", from_number="61412345678")  # after the form was loaded

    changes = records.change_privacy(
        session, ada, casey, LOADED, {**LOADED, "email_consent": False}
    )

    assert changes == {"email_consent": [True, False]}
    assert stored(session, ada.id) == {**LOADED, "sms_consent": False, "email_consent": False}
    [event] = audits(session, "privacy.changed")
    assert event.details == {
        "changes": {"email_consent": [True, False]},
        "reason": "edited on the record",
    }

    # Saved again as loaded: nothing to write, nothing audited.
    now = stored(session, ada.id)
    assert (
        records.change_privacy(session, session.get(Candidate, ada.id), casey, now, dict(now)) == {}
    )
    assert len(audits(session, "privacy.changed")) == 1


def test_a_box_already_set_the_same_way_is_no_clash_and_the_rest_is_saved(app, session, casey, ada):
    receive(app, session, "STOP", from_number="61412345678")  # after the form was loaded
    person = session.get(Candidate, ada.id)

    # The stale form unticks SMS (the STOP did so already) and Mail.
    changes = records.change_privacy(
        session, person, casey, LOADED, {**LOADED, "sms_consent": False, "mail_consent": False}
    )

    assert changes == {"mail_consent": [True, False]}
    assert stored(session, ada.id) == {**LOADED, "sms_consent": False, "mail_consent": False}
    [event] = audits(session, "privacy.changed")
    assert event.details["changes"] == {"mail_consent": [True, False]}


def test_the_same_change_saved_from_two_tabs_is_written_and_audited_once(session, casey, ada):
    unticked = {**LOADED, "email_consent": False}
    first = records.change_privacy(session, session.get(Candidate, ada.id), casey, LOADED, unticked)
    # The second tab was loaded before the first saved: it asks for what is stored already.
    second = records.change_privacy(
        session, session.get(Candidate, ada.id), casey, LOADED, unticked
    )

    assert (first, second) == ({"email_consent": [True, False]}, {})
    assert stored(session, ada.id) == unticked
    assert len(audits(session, "privacy.changed")) == 1


def test_the_stored_values_are_read_again_not_taken_from_a_stale_object(app, session, casey, ada):
    person = session.get(Candidate, ada.id)
    assert person.sms_consent is True  # loaded now, in this session
    with app.extensions["database"].sessionmaker() as other:
        consent.set_for_number(other, ADA_E164, False, actor=None, cause={"source": "reply"})
        other.commit()

    changes = records.change_privacy(
        session, person, casey, LOADED, {**LOADED, "sms_consent": False, "email_consent": False}
    )
    # Read as stored, SMS is unticked already: only Email is written (a stale read would have
    # written and audited SMS too).
    assert changes == {"email_consent": [True, False]}
    assert stored(session, ada.id)["email_consent"] is False


def test_a_stop_committed_while_the_save_waits_for_the_row_is_seen(app, session, casey, ada):
    """The save reads the stored values under a write lock: a STOP in flight is waited for."""
    sessions = app.extensions["database"].sessionmaker
    outcome: dict[str, object] = {}
    with sessions() as stop:
        begin_write(stop)
        stop.execute(sa.update(Candidate).where(Candidate.id == ada.id).values(sms_consent=False))
        stop.flush()

        def save() -> None:
            with sessions() as tab:
                person = tab.get(Candidate, ada.id)
                actor = tab.merge(casey)
                outcome["changes"] = records.change_privacy(
                    tab,
                    person,
                    actor,
                    LOADED,
                    {**LOADED, "sms_consent": False, "email_consent": False},
                )

        saver = threading.Thread(target=save)
        saver.start()
        time.sleep(0.5)
        assert saver.is_alive(), outcome  # waiting for the STOP's transaction
        audit(
            stop,
            None,
            "consent.sms_withdrawn",
            stop.get(Candidate, ada.id),
            changes={"sms_consent": [True, False]},
            source="reply",
        )
        stop.commit()
    saver.join(15)

    assert not saver.is_alive()
    # Seen: SMS is already unticked, so only Email is written (and SMS is not audited twice).
    assert outcome == {"changes": {"email_consent": [True, False]}}, outcome
    assert stored(session, ada.id)["email_consent"] is False


# --- ticking SMS again over the person's own withdrawal ------------------------------------------

# The form as loaded once SMS is unticked.
UNTICKED = {**LOADED, "sms_consent": False}


def tick_sms_again(session, person, user, restore_reason: str = "", **also: bool) -> dict:
    """Save the form loaded with SMS unticked, with SMS ticked and `also` as given: the changes."""
    submitted = {**UNTICKED, "sms_consent": True, **also}
    return records.change_privacy(
        session, person, user, UNTICKED, submitted, restore_reason=restore_reason
    )


@pytest.mark.parametrize(
    "source, overrides", [("reply", "stop"), ("sandbox", "stop"), ("gateway", "gateway opt-out")]
)
def test_re_ticking_a_self_withdrawal_needs_a_reason_and_audits_it(
    app, session, tess, ada, source, overrides
):
    consent.set_for_number(session, ADA_E164, False, actor=None, cause={"source": source})
    session.commit()
    withdrawal = records.self_withdrawal(session, session.get(Candidate, ada.id))
    assert (withdrawal.source, withdrawal.overrides) == (source, overrides)

    for reason in ("", "   ", "\u200b"):  # a zero-width space alone is no reason either
        with pytest.raises(records.RestoreReasonRequired) as refused:
            tick_sms_again(
                session, session.get(Candidate, ada.id), tess, reason, mail_consent=False
            )
        assert refused.value.withdrawal.overrides == overrides
        assert stored(session, ada.id) == UNTICKED

    changes = tick_sms_again(session, session.get(Candidate, ada.id), tess, " They rang ")

    assert changes == {"sms_consent": [False, True]}
    assert stored(session, ada.id)["sms_consent"] is True
    [event] = audits(session, "privacy.changed")
    assert event.actor_id == tess.id
    assert event.details == {
        "changes": {"sms_consent": [False, True]},
        "reason": "They rang",
        "overrides": overrides,
    }


@pytest.mark.parametrize("source", ["reply", "gateway"])
def test_only_a_user_who_may_ignore_opt_outs_ticks_sms_over_a_self_withdrawal(
    app, session, casey, ada, source
):
    """A reason typed is not enough: undoing the person's own opt-out needs the authority that
    Ignore needs, or any user who edits records could undo a STOP and then send as usual."""
    consent.set_for_number(session, ADA_E164, False, actor=None, cause={"source": source})
    session.commit()
    before = len(audits(session))

    with pytest.raises(records.OverrideNotAllowed) as refused:
        tick_sms_again(
            session, session.get(Candidate, ada.id), casey, "They rang", mail_consent=False
        )

    assert (refused.value.field, refused.value.status) == ("sms_consent", 403)
    assert stored(session, ada.id) == UNTICKED  # nothing written, Mail neither
    assert len(audits(session)) == before


def test_self_withdrawal_is_the_latest_untick_only(app, session, casey, tess, ada):
    person = session.get(Candidate, ada.id)
    assert records.self_withdrawal(session, person) is None  # ticked

    receive(app, session, "STOP", from_number="61412345678")
    assert records.self_withdrawal(session, session.get(Candidate, ada.id)).source == "reply"

    tick_sms_again(session, session.get(Candidate, ada.id), tess, "Asked again")
    assert records.self_withdrawal(session, session.get(Candidate, ada.id)) is None
    # A user unticks it: ticking it again is theirs to undo, no reason (nor Ignore) needed.
    records.change_privacy(
        session, session.get(Candidate, ada.id), casey, LOADED, {**LOADED, "sms_consent": False}
    )
    assert records.self_withdrawal(session, session.get(Candidate, ada.id)) is None
    assert tick_sms_again(session, session.get(Candidate, ada.id), casey) == {
        "sms_consent": [False, True]
    }


def test_a_person_imported_unticked_needs_no_reason(app, session, casey, make_candidate):
    person = make_candidate("Opt", "Out", "0413 000 001", sms_consent=False)
    session.add(
        AuditEvent(
            action="person.created",
            subject_type="candidate",
            subject_id=person.id,
            details={"changes": {"sms_consent": [None, False]}},
        )
    )
    session.commit()
    assert records.self_withdrawal(session, person) is None
    assert tick_sms_again(session, person, casey) == {"sms_consent": [False, True]}


def test_a_stop_under_many_later_events_still_needs_the_reason(app, session, casey, tess, ada):
    """Only the events that changed the SMS box count, however many others the person has since."""
    consent.set_for_number(session, ADA_E164, False, actor=None, cause={"source": "reply"})
    session.commit()
    person = session.get(Candidate, ada.id)
    for number in range(600):
        if number % 3 == 0:  # a Privacy save of another box, and an edit, are not about SMS
            audit(
                session,
                casey,
                "privacy.changed",
                person,
                changes={"email_consent": [number % 2 == 0, number % 2 == 1]},
                reason="edited",
            )
        elif number % 3 == 1:
            audit(
                session,
                casey,
                "person.edited",
                person,
                changes={"job_title": [None, f"Job {number}"]},
            )
        else:
            audit(session, None, "reply.attached", person, reply_id=number, number=ADA_E164)
    session.commit()

    assert records.self_withdrawal(session, session.get(Candidate, ada.id)).source == "reply"
    with pytest.raises(records.RestoreReasonRequired):
        tick_sms_again(session, session.get(Candidate, ada.id), tess)
    assert stored(session, ada.id)["sms_consent"] is False


def test_when_sms_last_changed_is_read_afresh_each_time(app, session, casey, ada):
    # It was remembered for the session and the person object: a second look in the same session
    # kept the first answer (and every person asked about was held for the life of the process).
    person = session.get(Candidate, ada.id)
    assert records.consent_changed_at(session, person) is None

    records.change_privacy(session, person, casey, LOADED, {**LOADED, "sms_consent": False})
    [event] = audits(session, "privacy.changed")

    assert records.consent_changed_at(session, person) == event.created_at


def test_a_stop_after_an_untick_by_hand_still_needs_the_authority_to_tick_sms_again(
    app, session, casey, tess, ada
):
    """A STOP arriving while the box was unticked by hand already was forgotten: no audit event,
    so the latest change was the hand's, and any consultant could tick SMS again."""
    records.change_privacy(session, ada, casey, LOADED, UNTICKED)

    receive(app, session, "STOP", from_number="61412345678")

    [*_, stop] = audits(session, "consent.sms_withdrawn")
    assert stop.details["changes"] == {"sms_consent": [False, False]}
    assert stop.details["source"] == "reply"
    assert records.self_withdrawal(session, session.get(Candidate, ada.id)).overrides == "stop"
    receive(app, session, "Stop", from_number="61412345678")  # over their own STOP: nothing more
    assert len(audits(session, "consent.sms_withdrawn")) == 1
    before = len(audits(session))
    with pytest.raises(records.OverrideNotAllowed) as refused:
        tick_sms_again(session, session.get(Candidate, ada.id), casey, "They rang")
    assert (refused.value.field, refused.value.status) == ("sms_consent", 403)
    assert str(refused.value) == (
        "Not saved: this person replied STOP, so only a user allowed to ignore opt-outs can tick "
        "SMS again. Untick SMS to save your other changes."
    )
    assert stored(session, ada.id) == UNTICKED
    assert len(audits(session)) == before
    # Another record given the number starts opted out, carrying that STOP.
    data = records.PersonData(
        values={"first_name": "Zoe", "last_name": "Ng", "email": None, "status": "Active"},
        mobile="0412 345 678",
    )
    zoe = records.save_person(session, "candidates", None, data, casey, "AU")
    assert stored(session, zoe.id)["sms_consent"] is False
    # Someone allowed to ignore opt-outs still may, with a reason.
    assert tick_sms_again(session, session.get(Candidate, ada.id), tess, "They rang") == {
        "sms_consent": [False, True]
    }


def test_a_start_on_a_ticked_box_writes_nothing(app, session, ada):
    before = len(audits(session))
    receive(app, session, "START", from_number="61412345678")
    assert len(audits(session)) == before
