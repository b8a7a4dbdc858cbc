"""Inbound replies on a real database (SQLite and PostgreSQL): who a reply is matched to, in the
order of the rules, what it is linked to, STOP/START keywords changing SMS consent on every record
with the number (audited), the dispatcher's re-check honouring a STOP, and filing an unmatched
reply."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.conftest import Browser
from tests.replying import audits, consent_audits, inbound, receive, rows, send_sms
from webapp.models import Candidate, ClientContact, Email, Message
from webapp.sms import batches, inbox, replies
from webapp.sms.providers.sandbox import Sandbox

ADA_MOBILE = "0412 345 678"
ADA_E164 = "+61412345678"
ADA_DIGITS = "61412345678"  # as SMS Central gives it: international digits, no "+"


@pytest.fixture
def dana(make_user):
    return make_user("dana", role="consultant", full_name="Dana Scully", email="dana@example.com")


def person_of(reply: Message) -> tuple[str | None, int | None]:
    if reply.candidate_id:
        return "candidate", reply.candidate_id
    if reply.contact_id:
        return "contact", reply.contact_id
    return None, None


def answers(reply: Message) -> tuple:
    """Who sent the reply, which of our messages it answers, and the user it is emailed to."""
    return person_of(reply), reply.in_reply_to_id, reply.sender_id


# --- matching, rule by rule ----------------------------------------------------------------------


def test_our_reference_wins_even_when_someone_else_sent_the_number_a_newer_message(
    app, session, casey, dana, make_candidate, make_contact
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    grace = make_contact("Grace", "Hopper", ADA_MOBILE)  # same phone, another record
    [to_ada] = send_sms(app, session, casey, [ada])
    [to_grace] = send_sms(app, session, dana, [grace], kind="contacts")
    assert to_grace.id > to_ada.id

    reply = receive(app, session, "Yes, Tuesday suits", reference=to_ada.uuid)

    assert answers(reply) == (("candidate", ada.id), to_ada.id, casey.id)
    assert reply.direction == "in" and reply.state == "received"
    assert reply.from_e164 == ADA_E164
    assert reply.body == "Yes, Tuesday suits"


def test_without_a_reference_the_reply_answers_the_latest_message_to_that_number(
    app, session, casey, dana, make_candidate, make_contact
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    grace = make_contact("Grace", "Hopper", ADA_MOBILE)
    send_sms(app, session, casey, [ada])
    [to_grace] = send_sms(app, session, dana, [grace], kind="contacts", body="Hello {{first_name}}")

    reply = receive(app, session, "Who is this?")

    assert answers(reply) == (("contact", grace.id), to_grace.id, dana.id)


def test_a_reply_to_a_copy_a_leader_resent_is_the_batch_senders_and_emailed_to_them(
    app, session, casey, dana, make_candidate
):
    """The copy carries the leader's sender_id (their daily limit counts it), but the batch, and
    so the conversation, stay the consultant's, as on Sent and the dashboard."""
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    [first] = send_sms(app, session, casey, [ada], dispatch=False)
    first.state = "failed"
    session.commit()
    assert batches.resend(session, first.batch, dana, ("failed",)).queued == 1
    delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1)).run(once=True)
    copy = session.scalar(sa.select(Message).where(Message.resend_of_id == first.id))
    assert (copy.sender_id, copy.state) == (dana.id, "sent")

    for reference in (copy.uuid, None):  # by our reference, and by the number alone
        reply = receive(app, session, "Yes please", reference=reference)
        assert answers(reply) == (("candidate", ada.id), copy.id, casey.id)
    emailed = session.scalars(sa.select(Email.to_address)).all()
    assert emailed == ["casey@example.com", "casey@example.com"]


def test_a_reply_naming_an_unknown_message_resent_since_answers_the_copy_not_the_hidden_original(
    app, session, casey, make_candidate
):
    """The copy of an unknown message goes with the original's gateway reference (SMS Central
    then refuses a duplicate), so a reply names the original: it answers the copy, which Sent
    shows, not the superseded original Sent hides."""
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    [first] = send_sms(app, session, casey, [ada])
    first.state = "unknown"
    session.commit()
    assert batches.resend(session, first.batch, casey, ("unknown",)).queued == 1
    delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1)).run(once=True)
    copy = session.scalar(sa.select(Message).where(Message.resend_of_id == first.id))
    assert (copy.reference, copy.state) == (first.uuid, "sent")

    reply = receive(app, session, "Yes please", reference=first.uuid)

    assert answers(reply) == (("candidate", ada.id), copy.id, casey.id)


def test_a_reference_that_is_not_one_of_our_messages_falls_back_to_the_number(
    app, session, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    [to_ada] = send_sms(app, session, casey, [ada])

    reply = receive(app, session, "Sure", reference="not-a-message-of-ours")

    assert answers(reply) == (("candidate", ada.id), to_ada.id, casey.id)


def test_a_reply_answers_the_message_that_went_out_not_one_still_waiting_in_the_queue(
    app, session, casey, dana, make_candidate
):
    # Casey's message reached Ada; Dana's is still queued (not sent) when Ada answers Casey.
    # The reply cannot be answering a message Ada has not received, and Casey must get the email.
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    [delivered] = send_sms(app, session, casey, [ada])
    [waiting] = send_sms(app, session, dana, [ada], body="Are you free Friday?", dispatch=False)
    assert waiting.state == "queued"

    reply = receive(app, session, "Yes, Tuesday suits")

    assert answers(reply) == (("candidate", ada.id), delivered.id, casey.id)


def test_with_no_message_sent_the_only_person_with_that_number_is_matched(
    app, session, make_candidate, make_contact
):
    make_candidate("Bob", "Brown", "0400 111 222")
    grace = make_contact("Grace", "Hopper", ADA_MOBILE)

    reply = receive(app, session, "Hello?")

    assert answers(reply) == (("contact", grace.id), None, None)
    assert reply.id not in [r.id for r in replies.unmatched(session).rows]
    # Nobody's, so read: it was unread in Everyone's forever, with nobody to open it as theirs.
    assert reply.read_at is not None
    assert [row.unread for row in inbox.search(session, None).rows] == [False]


def test_a_reply_matched_by_the_number_alone_is_unread_for_whoever_texted_the_person_last(
    app, session, casey, dana, make_candidate
):
    """Ada's SMS went to her old number; she answers from her new one, which the number rule
    finds on her record alone. Nobody's and unread, as it was stored, it was in no one's Replies
    and no unread count, unread in Everyone's forever, and hidden from an office's team leader:
    it is whoever sent her the latest SMS, as a reply filed by hand is, and emailed to them."""
    ada = make_candidate("Ada", "Lovelace", "0400 111 222")
    send_sms(app, session, dana, [ada], body="Earlier")
    send_sms(app, session, casey, [ada], body="Latest")
    ada.set_mobile(ADA_MOBILE, "AU")
    session.commit()

    reply = receive(app, session, "It's Ada, new number")

    assert answers(reply) == (("candidate", ada.id), None, casey.id)
    assert reply.read_at is None
    assert inbox.unread_count(session, casey.id) == 1
    assert [row.reply.id for row in inbox.search(session, casey.id).rows] == [reply.id]
    [email] = rows(session, Email, Email.message_id == reply.id)
    assert email.to_address == "casey@example.com"
    # Its link is the inbox's Open with the key for Casey: following it marks the reply read.
    key = replies.open_key(reply.id, casey.id, app.config["SECRET_KEY"])
    assert replies.email_link(email.body).endswith(f"/sms/replies/{reply.id}/open?key={key}")


def test_a_stop_matched_by_the_number_alone_unticks_sms_and_is_emailed_to_its_consultant(
    app, session, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0400 111 222")
    send_sms(app, session, casey, [ada])
    ada.set_mobile(ADA_MOBILE, "AU")
    session.commit()

    reply = receive(app, session, "STOP")

    assert answers(reply) == (("candidate", ada.id), None, casey.id)
    assert rows(session, Candidate, Candidate.id == ada.id)[0].sms_consent is False
    assert [e.subject_id for e in audits(session, "consent.sms_withdrawn")] == [ada.id]
    [email] = rows(session, Email, Email.message_id == reply.id)
    assert email.to_address == "casey@example.com"
    assert email.body.endswith("SMS consent was withdrawn (STOP).")


def test_a_reply_matched_by_the_number_alone_for_a_switched_off_sender_is_nobodys_and_read(
    app, session, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0400 111 222")
    send_sms(app, session, casey, [ada])
    ada.set_mobile(ADA_MOBILE, "AU")
    casey.active = False
    session.commit()

    reply = receive(app, session, "It's Ada, new number")

    assert answers(reply) == (("candidate", ada.id), None, None)
    assert reply.read_at is not None
    [email] = rows(session, Email, Email.message_id == reply.id)
    assert email.to_address != "casey@example.com"


@pytest.mark.parametrize("second", ["candidate", "contact"])
def test_two_people_with_the_number_and_no_message_sent_leave_the_reply_unmatched(
    app, session, make_candidate, make_contact, second
):
    make_candidate("Ada", "Lovelace", ADA_MOBILE)
    if second == "candidate":
        make_candidate("Ada", "Byron", ADA_MOBILE)
    else:
        make_contact("Grace", "Hopper", ADA_MOBILE)

    reply = receive(app, session, "Hello?")

    assert person_of(reply) == (None, None)
    assert reply.in_reply_to_id is None and reply.sender_id is None
    assert [r.id for r in replies.unmatched(session).rows] == [reply.id]


def test_a_number_nobody_has_leaves_the_reply_unmatched(app, session, make_candidate):
    make_candidate("Ada", "Lovelace", ADA_MOBILE)

    reply = receive(app, session, "Wrong number?", from_number="61499888777")

    assert person_of(reply) == (None, None)
    assert reply.from_e164 == "+61499888777"
    assert [r.id for r in replies.unmatched(session).rows] == [reply.id]


def test_a_reply_from_a_landline_keeps_its_number_and_finds_the_one_person_with_it(
    app, session, make_candidate
):
    # A landline is no mobile to send to, but a carrier's landline SMS still comes from it.
    lana = make_candidate("Lana", "Line", "02 9374 4000")

    reply = receive(app, session, "Hello?", from_number="61293744000")

    assert reply.from_e164 == "+61293744000"
    assert person_of(reply) == ("candidate", lana.id)


@pytest.mark.parametrize(
    "sender_number",
    # The 00 international prefix, and a national number without its leading 0, were unmatched.
    [ADA_DIGITS, ADA_E164, "0412345678", "0061412345678", "412345678"],
)
def test_international_digits_e164_and_national_format_match_the_same_person(
    app, session, casey, make_candidate, sender_number
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    [to_ada] = send_sms(app, session, casey, [ada])

    reply = receive(app, session, "ok", from_number=sender_number)

    assert reply.from_e164 == ADA_E164
    assert person_of(reply) == ("candidate", ada.id)
    assert reply.in_reply_to_id == to_ada.id


@pytest.mark.parametrize(
    "sender_number, typed",
    # With a plus before them these digits are Austrian and Faroese numbers: read in Australia.
    [("431234567", "0431 234 567"), ("298765432", "02 9876 5432")],
)
def test_a_national_number_without_its_0_is_read_in_the_default_region_first(
    app, session, make_candidate, sender_number, typed
):
    person = make_candidate("Nat", "Ional", typed)

    reply = receive(app, session, "ok", from_number=sender_number)

    assert reply.from_e164 == f"+61{sender_number}"
    assert person_of(reply) == ("candidate", person.id)


def test_a_reply_loses_the_controls_that_would_show_it_in_another_order(
    app, session, make_candidate
):
    # U+202E showed "0000 123 4140" as "0414 321 0000", on every page and in the email; a
    # right-to-left mark (U+200F), which Hebrew and Arabic writing needs, stays.
    make_candidate("Ada", "Lovelace", ADA_MOBILE)

    reply = receive(app, session, "Call me on \u202e0000 123 4140\u202c \u2067שלום\u2069 \u200f!")

    assert reply.body == "Call me on 0000 123 4140 שלום \u200f!"


def test_a_reply_stored_twice_under_one_gateway_id_is_one_message(app, session, make_candidate):
    make_candidate("Ada", "Lovelace", ADA_MOBILE)

    first = receive(app, session, "STOP", message_id="SC-1")
    again = receive(app, session, "STOP", message_id="SC-1")

    assert again.id == first.id
    assert len(inbound(session)) == 1
    assert len(audits(session, "consent.sms_withdrawn")) == 1


# --- STOP / START keywords -----------------------------------------------------------------------


def test_a_stop_unticks_sms_on_every_record_with_the_number_audited_with_the_reply(
    app, session, make_candidate, make_contact
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    ada_again = make_candidate("Ada", "Lovelace-King", ADA_MOBILE)
    grace = make_contact("Grace", "Hopper", ADA_MOBILE)
    bob = make_candidate("Bob", "Brown", "0400 111 222")

    reply = receive(app, session, "STOP")

    assert [
        c.sms_consent for c in rows(session, Candidate, Candidate.id.in_([ada.id, ada_again.id]))
    ] == [False, False]
    assert rows(session, ClientContact, ClientContact.id == grace.id)[0].sms_consent is False
    assert rows(session, Candidate, Candidate.id == bob.id)[0].sms_consent is True
    withdrawn = audits(session, "consent.sms_withdrawn")
    assert sorted((e.subject_type, e.subject_id) for e in withdrawn) == sorted(
        [("candidate", ada.id), ("candidate", ada_again.id), ("contact", grace.id)]
    )
    for event in withdrawn:
        assert event.actor_id is None
        assert event.details["reply_id"] == reply.id
        assert event.details["source"] == "reply"
        assert event.details["number"] == ADA_E164
        assert event.details["text"] == "STOP"
        assert event.details["changes"] == {"sms_consent": [True, False]}
    assert audits(session, "consent.sms_given") == []


def emailed(session, reply: Message) -> str:
    """The body of the email a reply sent its consultant."""
    return session.scalar(sa.select(Email.body).where(Email.message_id == reply.id))


def test_a_stop_unticks_the_person_it_answers_whose_number_changed_since_and_says_who(
    app, session, casey, make_candidate
):
    """The message went to Ada's old number; she changed it, and Anika has that number now. The
    STOP unticks Ada, whom it answers (it changed nobody it answered), and Anika, whose messages
    would go to the phone that said STOP; the email names both."""
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    [to_ada] = send_sms(app, session, casey, [ada])
    ada.set_mobile("0400 111 222", "AU")
    anika = make_candidate("Anika", "Anderson", ADA_MOBILE)
    session.commit()

    reply = receive(app, session, "STOP", reference=to_ada.uuid)

    assert answers(reply) == (("candidate", ada.id), to_ada.id, casey.id)
    assert [
        p.sms_consent for p in rows(session, Candidate, Candidate.id.in_([ada.id, anika.id]))
    ] == [
        False,
        False,
    ]
    assert sorted(e.subject_id for e in audits(session, "consent.sms_withdrawn")) == sorted(
        [ada.id, anika.id]
    )
    assert "SMS consent was withdrawn (STOP) on: Anika Anderson, Ada Lovelace." in emailed(
        session, reply
    )


def test_a_start_ticks_only_records_with_the_number_not_one_that_changed_it(
    app, session, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    [to_ada] = send_sms(app, session, casey, [ada])
    ada.sms_consent = False  # she opted out since
    ada.set_mobile("0400 111 222", "AU")  # and her new number never asked for anything
    session.commit()

    reply = receive(app, session, "START", reference=to_ada.uuid)

    assert rows(session, Candidate, Candidate.id == ada.id)[0].sms_consent is False
    assert audits(session, "consent.sms_given") == []
    assert emailed(session, reply).endswith(
        "SMS consent was not changed: no record has this number now."
    )


def test_the_email_says_when_a_stop_changed_nothing(app, session, casey, make_candidate):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    [to_ada] = send_sms(app, session, casey, [ada])
    first = receive(app, session, "STOP", reference=to_ada.uuid)
    again = receive(app, session, "Stop", reference=to_ada.uuid)
    assert emailed(session, first).endswith("SMS consent was withdrawn (STOP).")
    assert emailed(session, again).endswith(
        "SMS consent was not changed: it was withdrawn already."
    )
    assert len(audits(session, "consent.sms_withdrawn")) == 1


def test_a_stop_from_a_number_that_cannot_be_read_unticks_the_person_it_answers(
    app, session, casey, make_candidate
):
    """Matched by its reference, the reply says who it answers even when the gateway's "from"
    is garbled: a STOP unticks them (the email said "withdrawn already" of a ticked box); a START
    from such a number ticks nobody, and the email says why."""
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    [to_ada] = send_sms(app, session, casey, [ada])

    start = receive(app, session, "START", reference=to_ada.uuid, from_number="12")
    assert emailed(session, start).endswith(
        "SMS consent was not changed: the number it came from could not be read."
    )
    stop = receive(app, session, "STOP", reference=to_ada.uuid, from_number="12")

    assert rows(session, Candidate, Candidate.id == ada.id)[0].sms_consent is False
    [event] = audits(session, "consent.sms_withdrawn")
    assert (event.subject_id, event.details["reply_id"]) == (ada.id, stop.id)
    assert emailed(session, stop).endswith("SMS consent was withdrawn (STOP).")


def consent_after_replies(app, session, make_candidate, make_contact, texts, *, consent: bool):
    """Each text is replied from a number of its own, shared by a candidate and a contact whose
    SMS box starts as `consent`. For each text: both boxes afterwards, and the consent audit
    entries that name that reply, as (action, subject)."""
    people = {}
    for i, text in enumerate(texts):
        candidate = make_candidate("Cand", f"No{i}", f"0412 000 {i:03d}", sms_consent=consent)
        contact = make_contact("Cont", f"No{i}", f"0412 000 {i:03d}", sms_consent=consent)
        reply = receive(app, session, text, from_number=f"61412000{i:03d}")
        people[text] = (candidate.id, contact.id, reply.id)
    events = consent_audits(session)
    outcome = {}
    for text, (candidate_id, contact_id, reply_id) in people.items():
        outcome[text] = (
            rows(session, Candidate, Candidate.id == candidate_id)[0].sms_consent,
            rows(session, ClientContact, ClientContact.id == contact_id)[0].sms_consent,
            sorted(
                (e.action, e.subject_type, e.subject_id)
                for e in events
                if e.details.get("reply_id") == reply_id
            ),
        )
    expected_ids = {text: ids[:2] for text, ids in people.items()}
    return outcome, expected_ids


# Each keyword, in various cases and with the spaces and punctuation people type around it.
OPT_OUT_REPLIES = [
    "STOP",
    "stopall",
    " Unsubscribe ",
    "Cancel!",
    "END.",
    "quit",
    "OptOut",
    "REVOKE\n",
    "Stop!",
    " stop. ",
    "sToP",
    # As phones and keyboards of other languages type them: a narrow or no-break space, full-width
    # letters, an invisible zero-width space or emoji selector, the ideographic full stop.
    "Stop\u202f!",
    "STOP\u00a0",
    "ＳＴＯＰ",
    "\u200bSTOP",
    "STOP\ufe0f",
    "stop。",
    "¡Stop!",
    # With the emoji a phone's keyboard suggests beside the word, a skin tone or a joined one too.
    "STOP 🛑",
    "✋Stop",
    "stop 👍🏽",
    "Stop 🙅\u200d♀️",
]


OPT_IN_REPLIES = ["START", "UNSTOP", "start", " Start! ", "Unstop.", "START 😊"]


@pytest.mark.parametrize(
    "texts, before, action",
    [
        (OPT_OUT_REPLIES, True, "consent.sms_withdrawn"),
        (OPT_IN_REPLIES, False, "consent.sms_given"),
    ],
    ids=["opt-out-unticks", "opt-in-ticks-again"],
)
def test_every_keyword_in_any_case_and_punctuation_sets_sms_and_audits_it(
    app, session, make_candidate, make_contact, texts, before, action
):
    outcome, ids = consent_after_replies(
        app, session, make_candidate, make_contact, texts, consent=before
    )

    after = not before
    assert outcome == {
        text: (after, after, [(action, "candidate", candidate_id), (action, "contact", contact_id)])
        for text, (candidate_id, contact_id) in ids.items()
    }


YES_REPLIES = ["YES", "yes", " Yes! ", "Yes.", "YES!!"]


def test_yes_answers_the_consultants_question_and_never_ticks_sms_again(
    app, session, make_candidate, make_contact
):
    # "Reply YES if you're interested": the answer of someone who opted out is not consent.
    outcome, _ = consent_after_replies(
        app, session, make_candidate, make_contact, YES_REPLIES, consent=False
    )

    assert outcome == {text: (False, False, []) for text in YES_REPLIES}
    assert consent_audits(session) == []
    assert [m.body for m in inbound(session)] == YES_REPLIES  # filed as ordinary replies


NOT_KEYWORDS = [
    "please stop by",
    "Stop calling me at work",
    "yes please",
    "STOP STOP",
    "Can you stop?",
    "Yes, start Monday",
    "unstoppable",
    "STOP.ME",
    "STOP 🛑 STOP",
    "🛑",
    "",
]


@pytest.mark.parametrize("consent", [True, False], ids=["ticked", "unticked"])
def test_a_reply_that_merely_contains_a_keyword_changes_no_consent(
    app, session, make_candidate, make_contact, consent
):
    outcome, ids = consent_after_replies(
        app, session, make_candidate, make_contact, NOT_KEYWORDS, consent=consent
    )

    assert outcome == {text: (consent, consent, []) for text in NOT_KEYWORDS}
    assert consent_audits(session) == []
    assert [m.body for m in inbound(session)] == NOT_KEYWORDS  # stored all the same


def test_stop_then_start_round_trips_consent_with_an_audit_entry_each_way(
    app, session, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)

    receive(app, session, "STOP")
    assert rows(session, Candidate, Candidate.id == ada.id)[0].sms_consent is False
    receive(app, session, "START")

    assert rows(session, Candidate, Candidate.id == ada.id)[0].sms_consent is True
    assert [e.action for e in consent_audits(session)] == [
        "consent.sms_withdrawn",
        "consent.sms_given",
    ]


def test_after_a_stop_a_message_already_queued_to_that_number_is_rejected_at_send_time(
    app, session, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    bob = make_candidate("Bob", "Brown", "0400 111 222")
    queued = send_sms(app, session, casey, [ada, bob], dispatch=False)
    assert [m.state for m in queued] == ["queued", "queued"]

    receive(app, session, "Stop!")
    delivery.dispatcher(app, Sandbox()).run(once=True)

    to_ada, to_bob = (rows(session, Message, Message.id == m.id)[0] for m in queued)
    assert to_ada.state == "rejected"
    assert "opted out" in to_ada.error_text
    assert to_ada.sent_at is None
    assert to_bob.state == "sent"  # the STOP is about one number only


# --- filing an unmatched reply ------------------------------------------------------------------


def test_attaching_an_unmatched_reply_files_it_on_the_person_and_is_audited(
    app, session, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    reply = receive(app, session, "It's Ada, new number", from_number="61499888777")
    assert person_of(reply) == (None, None)

    replies.attach(session, reply, ada, casey)

    stored = rows(session, Message, Message.id == reply.id)[0]
    assert person_of(stored) == ("candidate", ada.id)
    assert replies.unmatched(session).rows == []
    [event] = audits(session, "reply.attached")
    assert event.actor_id == casey.id
    assert (event.subject_type, event.subject_id) == ("candidate", ada.id)
    assert event.details["reply_id"] == reply.id
    assert event.details["number"] == "+61499888777"


def test_an_unmatched_reply_can_be_filed_on_a_client_contact(app, session, casey, make_contact):
    grace = make_contact("Grace", "Hopper", ADA_MOBILE)
    reply = receive(app, session, "Grace here", from_number="61499888777")

    replies.attach(session, reply, grace, casey)

    stored = rows(session, Message, Message.id == reply.id)[0]
    assert person_of(stored) == ("contact", grace.id)
    assert [(e.subject_type, e.subject_id) for e in audits(session, "reply.attached")] == [
        ("contact", grace.id)
    ]


def test_a_reply_filed_by_hand_is_unread_for_whoever_sent_the_person_the_latest_sms(
    app, session, casey, dana, make_user, make_candidate
):
    """Filed as it came (nobody's, unread), it was unread in Everyone's with To "—", counted in
    nobody's unread and in nobody's Replies."""
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    send_sms(app, session, dana, [ada], body="Earlier")
    send_sms(app, session, casey, [ada], body="Latest")
    lead = make_user(role="team-leader")
    reply = receive(app, session, "It's Ada, new number", from_number="61499888777")

    replies.attach(session, reply, ada, lead)

    stored = rows(session, Message, Message.id == reply.id)[0]
    assert (stored.sender_id, stored.read_at) == (casey.id, None)
    assert inbox.unread_count(session, casey.id) == 1
    assert [row.reply.id for row in inbox.search(session, casey.id).rows] == [reply.id]


def test_a_reply_filed_by_whoever_sent_the_latest_sms_is_theirs_and_read(
    app, session, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    send_sms(app, session, casey, [ada])
    reply = receive(app, session, "It's Ada, new number", from_number="61499888777")

    replies.attach(session, reply, ada, casey)

    stored = rows(session, Message, Message.id == reply.id)[0]
    assert stored.sender_id == casey.id and stored.read_at is not None
    assert inbox.unread_count(session, casey.id) == 0


def test_a_reply_filed_on_someone_nobody_has_texted_is_read_by_whoever_filed_it(
    app, session, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    reply = receive(app, session, "It's Ada, new number", from_number="61499888777")

    replies.attach(session, reply, ada, casey)

    stored = rows(session, Message, Message.id == reply.id)[0]
    assert stored.sender_id is None and stored.read_at is not None
    # Not left unread in Everyone's for nobody to read.
    assert [row.unread for row in inbox.search(session, None).rows] == [False]


def test_a_reply_filed_by_hand_goes_to_the_sms_that_had_left_when_it_came(
    app, session, casey, dana, make_candidate
):
    """Not to an SMS sent after it came, nor to one still queued: neither can it answer."""
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    send_sms(app, session, casey, [ada], body="Before the reply")
    reply = receive(app, session, "It's Ada, new number", from_number="61499888777")
    send_sms(app, session, dana, [ada], body="After the reply")
    send_sms(app, session, dana, [ada], body="Still queued", dispatch=False)

    replies.attach(session, reply, ada, dana)

    stored = rows(session, Message, Message.id == reply.id)[0]
    assert (stored.sender_id, stored.read_at) == (casey.id, None)


def test_a_reply_filed_for_a_switched_off_sender_is_nobodys_and_read(
    app, session, casey, dana, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    send_sms(app, session, casey, [ada])
    casey.active = False
    session.commit()
    reply = receive(app, session, "It's Ada, new number", from_number="61499888777")

    replies.attach(session, reply, ada, dana)

    stored = rows(session, Message, Message.id == reply.id)[0]
    assert stored.sender_id is None and stored.read_at is not None


def test_a_reply_read_on_unmatched_replies_before_filing_is_unread_for_its_consultant(
    app, session, casey, dana, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", ADA_MOBILE)
    send_sms(app, session, casey, [ada])
    reply = receive(app, session, "It's Ada, new number", from_number="61499888777")
    reply.read_at = reply.created_at
    session.commit()

    replies.attach(session, reply, ada, dana)

    assert inbox.unread_count(session, casey.id) == 1


def test_two_people_filing_one_stop_at_once_file_it_once(app, session, make_user, make_candidate):
    """Two administrators, each in their own browser, press Attach on the same unmatched STOP at
    the same moment, each for another record: one files it, the other is told where it went,
    and only the record it ends on has its SMS box unticked. Several rounds, as one race may
    happen to run one after the other."""
    app.test_client_class = Browser
    browsers = []
    for name in ("alex", "blair"):
        user = make_user(name, role="administrator")
        browser = app.test_client()
        assert browser.login(user.username).status_code == 302
        browsers.append(browser)

    for round_ in range(5):
        people = [
            make_candidate("Ada", f"Lovelace {round_}", ADA_MOBILE),
            make_candidate("Bob", f"Babbage {round_}", "0412 000 111"),
        ]
        reply = receive(app, session, "STOP", from_number=f"6149988877{round_}")
        assert person_of(reply) == (None, None)
        start = threading.Barrier(2)

        def press(browser, person, reply_id=reply.id, start=start):
            start.wait()
            response = browser.post(
                f"/replies/{reply_id}/attach", data={"kind": "candidates", "person_id": person.id}
            )
            with browser.session_transaction() as cookie:
                said = [text for _, text in cookie.pop("_flashes", [])]
            return response.status_code, response.headers.get("Location", ""), said

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(press, browsers, people))

        assert [status for status, _, _ in answers] == [303, 303], answers
        stored = rows(session, Message, Message.id == reply.id)[0]
        [winner] = [p for p in people if p.id == stored.candidate_id]
        told = sorted(said[0] for _, _, said in answers)
        assert told == [
            f"Reply filed on {winner.full_name}'s record.",
            f"This reply was filed already, on {winner.full_name}'s record.",
        ], answers
        assert all(location.endswith(f"/{winner.id}?tab=received") for _, location, _ in answers)
        filed = [e for e in audits(session, "reply.attached") if e.details["reply_id"] == reply.id]
        assert [(e.subject_type, e.subject_id) for e in filed] == [("candidate", winner.id)]
        withdrawn = [
            e.subject_id
            for e in audits(session, "consent.sms_withdrawn")
            if e.details.get("reply_id") == reply.id
        ]
        assert withdrawn == [winner.id]
        ids = [p.id for p in people]
        consent = {c.id: c.sms_consent for c in rows(session, Candidate, Candidate.id.in_(ids))}
        assert consent == {p.id: p.id != winner.id for p in people}
