"""A reply filed by hand keeps to the SMS account it came in through (SQLite and PostgreSQL), as a
reply matched automatically does: it is the consultant who texted the person through that account,
not whoever texted them last through another office's."""

from __future__ import annotations

import pytest

from tests.pages import rows
from tests.replying import send_sms
from webapp.models import Message, SmsAccount
from webapp.sms import replies
from webapp.sms.account_secrets import key_material, seal
from webapp.sms.settings import reply_settings

CANDIDATE_DIGITS = "61412345678"
OTHER_PHONE = "61499888777"


@pytest.fixture
def perth_sms(app, session, make_user) -> SmsAccount:
    account = SmsAccount(
        name="Perth SMS",
        slug="perth-sms",
        provider="smscentral",
        originator="PerthAgency",
        secrets=seal(key_material(app.config), {"password": "pw"}),
    )
    session.add(account)
    session.commit()
    return account


def reply_through(app, session, account: SmsAccount, from_number: str, message_id: str) -> Message:
    """A reply pushed to `account`'s webhook."""
    inbound = replies.InboundSms(
        provider="smscentral",
        provider_message_id=message_id,
        from_number=from_number,
        to_number="61400000002",
        body="Yes, Tuesday suits",
        account_id=account.id,
    )
    reply = replies.receive(session, inbound, reply_settings(session, app.config))
    session.expire_all()
    return reply


def test_a_reply_filed_by_hand_is_the_consultant_who_texted_through_the_account_it_came_by(
    app, session, make_user, make_candidate, perth_sms
):
    consultant = make_user("consultant-perth", office="Perth")
    lead = make_user("lead-sydney", role="team-leader", office="Sydney")
    candidate = make_candidate("Ada", "Lovelace", "0412 345 678")
    # The consultant texts them through Perth SMS, then the lead through the default account.
    [through_perth] = send_sms(app, session, consultant, [candidate], body="From Perth")
    through_perth.account_id = perth_sms.id  # as routing queued it for the Perth office
    session.commit()
    send_sms(app, session, lead, [candidate], body="From Sydney")

    # From the candidate's own number, through Perth SMS: it answers the consultant's SMS.
    matched = reply_through(app, session, perth_sms, CANDIDATE_DIGITS, "in-1")
    assert (matched.in_reply_to_id, matched.sender_id) == (through_perth.id, consultant.id)

    # From another phone, through Perth SMS: unmatched, then filed on the candidate by hand.
    unmatched = reply_through(app, session, perth_sms, OTHER_PHONE, "in-2")
    assert unmatched.candidate_id is None
    replies.attach(session, unmatched, candidate, lead)

    [filed] = rows(session, Message, Message.id == unmatched.id)
    assert (filed.candidate_id, filed.sender_id) == (candidate.id, consultant.id), (
        "the reply came in by Perth SMS but was given to whoever texted the candidate last "
        "through another account"
    )
    assert filed.read_at is None  # unread for the consultant: the lead filed it
