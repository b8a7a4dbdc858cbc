"""Delivery receipts from the gateways: SMS Central's receipt push (GET and POST, checked by the
credentials it is configured to send) and Twilio's status callbacks (checked by X-Twilio-Signature
over the public URL). Authenticated, idempotent, never moving a message backwards, CSRF-exempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.delivery import messages, queue
from tests.fakes import FakeSmsCentral, FakeTwilio, timeout
from tests.web.conftest import twilio_post
from webapp import config as settings
from webapp import create_app
from webapp.models import AuditEvent, Candidate, ClientContact, Message
from webapp.sms import outbox
from webapp.sms.providers import OutboundSms

HOOK_USER = "receipts"
HOOK_PASSWORD = "hook-pass-123"
RECEIPT = "/webhooks/smscentral/receipt"
STATUS = "/webhooks/twilio/status"


@pytest.fixture
def app_settings(fake_twilio):
    return {
        "SMSCENTRAL_WEBHOOK_USERNAME": HOOK_USER,
        "SMSCENTRAL_WEBHOOK_PASSWORD": HOOK_PASSWORD,
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM": delivery.TWILIO_FROM,
        "PUBLIC_BASE_URL": delivery.PUBLIC_BASE_URL,
    }


def dispatch(app, provider) -> None:
    try:
        delivery.dispatcher(app, provider).run(once=True)
    finally:
        provider.close()


def send_one(app, session, sender, person, provider: str, gateway) -> Message:
    """One message to `person` sent through `gateway`: state `sent`, awaiting its receipt."""
    batch = queue(session, sender, [person], provider=provider)
    dispatch(app, gateway)
    [message] = messages(session, batch)
    assert message.state == "sent"
    return message


@pytest.fixture
def sent_message(app, session, sender, ada, sms_central) -> Message:
    """One message sent through (fake) SMS Central."""
    return send_one(app, session, sender, ada, "smscentral", delivery.smscentral(sms_central))


@pytest.fixture
def twilio_message(app, session, sender, ada, fake_twilio) -> Message:
    message = send_one(app, session, sender, ada, "twilio", delivery.twilio(fake_twilio))
    assert message.provider_message_id
    return message


def receipt(
    fake: FakeSmsCentral,
    message: Message,
    status: str = "DELIVRD",
    *,
    user_name: str = HOOK_USER,
    password: str = HOOK_PASSWORD,
) -> dict[str, str]:
    return fake.receipt(message.uuid, status, user_name=user_name, password=password)


def snapshot(session, message: Message) -> tuple:
    [current] = [m for m in messages(session) if m.id == message.id]
    return (
        current.state,
        current.provider_message_id,
        current.error_code,
        current.error_text,
        current.sent_at,
        current.delivered_at,
        current.updated_at,
    )


def state_of(session, message: Message) -> str:
    return snapshot(session, message)[0]


def answered_zero(response) -> bool:
    return response.status_code == 200 and response.get_data(as_text=True) == "0"


# --- SMS Central receipts ------------------------------------------------------------------------


def test_a_receipt_by_get_with_the_right_credentials_is_applied_and_answered_0(
    client, session, sms_central, sent_message
):
    params = receipt(sms_central, sent_message)

    response = client.get(RECEIPT, query_string=params)

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "0"
    assert response.mimetype == "text/plain"
    [current] = [m for m in messages(session) if m.id == sent_message.id]
    assert current.state == "delivered"
    assert current.delivered_at is not None
    assert current.provider_message_id == params["ID"]


def test_a_receipt_by_post_is_applied_and_needs_no_csrf_token(
    client, session, sms_central, sent_message
):
    response = client.post(RECEIPT, data=receipt(sms_central, sent_message), csrf=False)

    assert answered_zero(response)
    assert state_of(session, sent_message) == "delivered"


@pytest.mark.parametrize(
    "credentials",
    [
        {"user_name": HOOK_USER, "password": "wrong"},
        {"user_name": "someone", "password": HOOK_PASSWORD},
        {"user_name": "", "password": ""},
        {"user_name": HOOK_USER.upper(), "password": HOOK_PASSWORD},
        None,
    ],
    ids=["wrong-password", "wrong-user", "empty", "user-case", "none"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_receipt_with_wrong_or_no_credentials_is_refused_with_403_and_changes_nothing(
    client, session, sms_central, sent_message, credentials, method
):
    before = snapshot(session, sent_message)
    params = receipt(sms_central, sent_message, **(credentials or {}))
    if credentials is None:
        del params["USER_NAME"], params["PASSWORD"]

    if method == "GET":
        response = client.get(RECEIPT, query_string=params)
    else:
        response = client.post(RECEIPT, data=params, csrf=False)

    assert response.status_code == 403
    assert snapshot(session, sent_message) == before


@pytest.mark.parametrize("status", ["DELIVRD", "DELIVERD"])
def test_both_spellings_of_delivered_mark_the_message_delivered(
    client, session, sms_central, sent_message, status
):
    response = client.get(RECEIPT, query_string=receipt(sms_central, sent_message, status))

    assert answered_zero(response)
    assert state_of(session, sent_message) == "delivered"


def test_the_same_receipt_ten_times_is_stored_once(client, session, sms_central, sent_message):
    params = receipt(sms_central, sent_message)
    assert answered_zero(client.get(RECEIPT, query_string=params))
    after_first = snapshot(session, sent_message)

    responses = [client.get(RECEIPT, query_string=params) for _ in range(9)]

    assert all(answered_zero(r) for r in responses)
    assert after_first[0] == "delivered"
    assert snapshot(session, sent_message) == after_first
    assert after_first[3] is None  # no error recorded


@pytest.mark.parametrize("late", ["BUFFRED", "ACCEPTD", "FAILED"])
def test_a_late_receipt_after_delivered_does_not_move_the_message_back(
    client, session, sms_central, sent_message, late
):
    assert answered_zero(client.get(RECEIPT, query_string=receipt(sms_central, sent_message)))
    delivered = snapshot(session, sent_message)

    response = client.get(RECEIPT, query_string=receipt(sms_central, sent_message, late))

    assert answered_zero(response)
    assert snapshot(session, sent_message) == delivered


def test_a_failed_receipt_marks_the_message_undelivered_with_the_gateways_reason(
    client, session, sms_central, sent_message
):
    response = client.get(RECEIPT, query_string=receipt(sms_central, sent_message, "FAILED"))

    assert answered_zero(response)
    [current] = [m for m in messages(session) if m.id == sent_message.id]
    assert current.state == "undelivered"
    assert current.error_text == "Not delivered"


def reply_holding(client, session, message: Message, gateway_id: str) -> Message:
    """A reply from `message`'s recipient that SMS Central pushed with `gateway_id` as its ID, the
    ID a receipt for `message` names."""
    pushed = {
        "USER_NAME": HOOK_USER,
        "PASSWORD": HOOK_PASSWORD,
        "ORIGINATOR": message.to_e164.lstrip("+"),
        "RECIPIENT": "61400000001",
        "ID": gateway_id,
        "MESSAGE_TEXT": "Yes, Tuesday suits",
    }
    assert answered_zero(client.get("/webhooks/smscentral/inbound", query_string=pushed))
    [reply] = [m for m in messages(session) if m.direction == "in"]
    assert (reply.provider, reply.provider_message_id) == ("smscentral", gateway_id)
    return reply


def test_a_receipt_whose_id_a_reply_holds_gives_it_to_the_message_and_leaves_the_reply(
    client, session, sms_central, sent_message
):
    """SMS Central's send answer has no ID: the message takes its ID from a receipt. A reply
    holding the same ID blocked it (one index over both directions), which answered 500 to every
    push SMS Central made; each direction's ids are now apart (migration 0026)."""
    params = receipt(sms_central, sent_message)
    assert sent_message.provider_message_id is None
    reply = reply_holding(client, session, sent_message, params["ID"])
    reply_before = snapshot(session, reply)

    response = client.get(RECEIPT, query_string=params)

    assert answered_zero(response)
    state, gateway_id, *_ = snapshot(session, sent_message)
    assert (state, gateway_id) == ("delivered", params["ID"])
    assert snapshot(session, reply) == reply_before


def test_a_reply_pushed_with_the_id_a_receipt_gave_our_message_is_stored(
    client, session, sms_central, sent_message
):
    """The other order: the receipt first, then a reply with its ID was taken for a push stored
    already (the message held the ID), answered 0 and dropped."""
    params = receipt(sms_central, sent_message)
    assert answered_zero(client.get(RECEIPT, query_string=params))

    reply = reply_holding(client, session, sent_message, params["ID"])

    assert reply.body == "Yes, Tuesday suits"
    assert snapshot(session, sent_message)[:2] == ("delivered", params["ID"])


def test_a_receipt_whose_id_another_sent_message_holds_is_applied_without_the_id(
    app, client, session, sender, make_candidate, sms_central, sent_message
):
    """Two of our messages never share a gateway id (the index): the receipt still counts, and is
    answered 0, rather than refused with a 500 on every push."""
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    other = send_one(app, session, sender, bob, "smscentral", delivery.smscentral(sms_central))
    params = receipt(sms_central, sent_message)
    assert answered_zero(client.get(RECEIPT, query_string=params))
    taken = receipt(sms_central, other) | {"ID": params["ID"]}

    response = client.get(RECEIPT, query_string=taken)

    assert answered_zero(response)
    assert snapshot(session, other)[:2] == ("delivered", None)
    assert snapshot(session, sent_message)[:2] == ("delivered", params["ID"])


def test_a_receipt_without_a_reference_never_moves_a_reply_holding_its_id(
    client, session, sms_central, sent_message
):
    params = receipt(sms_central, sent_message)
    reply = reply_holding(client, session, sent_message, params["ID"])
    before = snapshot(session, sent_message), snapshot(session, reply)
    del params["REFERENCE"]

    response = client.get(RECEIPT, query_string=params)

    assert answered_zero(response)
    assert (snapshot(session, sent_message), snapshot(session, reply)) == before
    assert before[1][0] == "received"


LONG_BODY = "Hi {{first_name}}, " + "new roles this week in Sydney and Melbourne. " * 4


@pytest.fixture
def long_message(app, session, sender, ada, sms_central) -> Message:
    """A message of two parts sent through (fake) SMS Central, awaiting one receipt per part."""
    batch = queue(session, sender, [ada], provider="smscentral", body=LONG_BODY)
    dispatch(app, delivery.smscentral(sms_central))
    [message] = messages(session, batch)
    assert (message.state, message.segments) == ("sent", 2)
    return message


def part_receipt(fake: FakeSmsCentral, message: Message, seq: int, status: str) -> dict[str, str]:
    """SMS Central's receipt for part `seq` of 2 (the UDH names it)."""
    params = receipt(fake, message, status)
    params["UDH"] = f"050003AA020{seq}"
    if status == "FAILED":
        params["STATUSDESCRIPTION"] = f"part {seq} failed"
    return params


@pytest.mark.parametrize("order", [(1, 2), (2, 1)], ids=["failed-first", "delivered-first"])
def test_a_long_message_with_a_failed_part_is_undelivered_whatever_the_order_of_its_receipts(
    client, session, sms_central, long_message, order
):
    """Part 1 failed, part 2 delivered: the person did not get the message whole. A later part's
    DELIVRD must not show it delivered beside part 1's failure, nor an earlier one hide it."""
    statuses = {1: "FAILED", 2: "DELIVRD"}

    for seq in order:
        params = part_receipt(sms_central, long_message, seq, statuses[seq])
        assert answered_zero(client.get(RECEIPT, query_string=params))

    state, _, error_code, error_text, _, delivered_at, _ = snapshot(session, long_message)
    assert (state, error_code, error_text) == ("undelivered", "1", "part 1 failed")
    assert delivered_at is None


def test_a_long_message_is_delivered_when_all_its_parts_are(
    client, session, sms_central, long_message
):
    for seq in (2, 1, 2):  # SMS Central repeats a receipt it thinks we missed
        params = part_receipt(sms_central, long_message, seq, "DELIVRD")
        assert answered_zero(client.get(RECEIPT, query_string=params))

    state, _, error_code, error_text, _, delivered_at, _ = snapshot(session, long_message)
    assert (state, error_code, error_text) == ("delivered", None, None)
    assert delivered_at is not None


def test_a_receipt_with_an_unknown_status_is_answered_0_and_changes_nothing(
    client, session, sms_central, sent_message
):
    before = snapshot(session, sent_message)

    response = client.get(RECEIPT, query_string=receipt(sms_central, sent_message, "WIBBLE"))

    assert answered_zero(response)  # or SMS Central would push it ten times more
    assert snapshot(session, sent_message) == before


def test_a_receipt_for_an_unknown_reference_is_answered_0_and_changes_nothing(
    client, session, sms_central, sent_message
):
    before = snapshot(session, sent_message)
    params = receipt(sms_central, sent_message)
    params["REFERENCE"] = "00000000-0000-4000-8000-000000000000"
    params["ID"] = "999999"

    response = client.get(RECEIPT, query_string=params)

    assert answered_zero(response)
    assert snapshot(session, sent_message) == before


def test_a_receipt_resolves_a_message_whose_send_timed_out(
    app, client, session, make_user, make_candidate, sms_central
):
    """`unknown` (the call timed out) is before `delivered`: the receipt tells us it arrived."""
    sms_central.inject(timeout(3.0))
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    batch = queue(session, make_user(), [ada], provider="smscentral")
    dispatch(app, delivery.smscentral(sms_central, read_timeout=0.3))
    [message] = messages(session, batch)
    assert message.state == "unknown"
    assert message.error_text  # why it is unknown

    assert answered_zero(client.get(RECEIPT, query_string=receipt(sms_central, message)))

    state, _, error_code, error_text, *_ = snapshot(session, message)
    assert state == "delivered"
    assert (error_code, error_text) == (None, None)  # it arrived: no error stands beside that


def test_a_receipt_that_arrives_before_the_send_is_recorded_is_kept(
    app, client, session, make_user, make_candidate, sms_central
):
    """Gateways can push the receipt before our worker has written down the gateway's answer."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    batch = queue(session, make_user(), [ada], provider="smscentral")
    [claimed] = outbox.claim(app.extensions["database"].engine, 1, timedelta(minutes=2))
    provider = delivery.smscentral(sms_central)
    try:
        result = provider.send(OutboundSms(claimed.uuid, claimed.to_e164, claimed.body))
    finally:
        provider.close()
    [message] = messages(session, batch)
    assert message.state == "sending"

    assert answered_zero(client.get(RECEIPT, query_string=receipt(sms_central, message)))
    with app.extensions["database"].sessionmaker() as worker_session:  # as the dispatcher does
        outbox.record(worker_session, [(claimed, result)])

    [message] = messages(session, batch)
    assert message.state == "delivered"
    assert message.sent_at is not None and message.lease_until is None


def test_without_webhook_credentials_configured_the_receipt_url_is_404(
    database_url, session, sms_central, sent_message
):
    bare = create_app(settings.testing_config(database_url))
    try:
        before = snapshot(session, sent_message)
        response = bare.test_client().get(RECEIPT, query_string=receipt(sms_central, sent_message))
        posted = bare.test_client().post(RECEIPT, data=receipt(sms_central, sent_message))
    finally:
        bare.extensions["database"].engine.dispose()

    assert response.status_code == 404
    assert posted.status_code == 404
    assert snapshot(session, sent_message) == before


# --- Twilio status callbacks ---------------------------------------------------------------------


def callback_url(fake: FakeTwilio, message: Message) -> str:
    [created] = [m for m in fake.messages if m["sid"] == message.provider_message_id]
    return created["status_callback"]


def post_status(client, url: str, form: dict[str, str], signature: str | None):
    """POST a callback to the app at the path and query of the public `url`, with no CSRF token."""
    assert url.startswith(delivery.PUBLIC_BASE_URL)
    return twilio_post(client, url.removeprefix(delivery.PUBLIC_BASE_URL), form, signature)


def signed_status(client, fake: FakeTwilio, message: Message, status: str, **extra):
    url = callback_url(fake, message)
    form = fake.status_callback(message.provider_message_id, status, **extra)
    return post_status(client, url, form, fake.sign(url, form))


def test_a_signed_twilio_callback_is_applied_without_a_csrf_token(
    client, session, fake_twilio, twilio_message
):
    url = callback_url(fake_twilio, twilio_message)
    assert url == f"{delivery.PUBLIC_BASE_URL}{STATUS}?m={twilio_message.uuid}"

    response = signed_status(client, fake_twilio, twilio_message, "delivered")

    assert 200 <= response.status_code < 300
    [current] = [m for m in messages(session) if m.id == twilio_message.id]
    assert current.state == "delivered"
    assert current.delivered_at is not None


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ("a wrong signature", "delivered"),
        ("a tampered parameter", "delivered"),
        ("an added parameter", "undelivered"),
        ("no signature header", "delivered"),
        ("a signature over the local URL instead of the public one", "delivered"),
    ],
)
def test_a_twilio_callback_other_than_twilio_signed_it_is_refused_with_403(
    client, session, fake_twilio, twilio_message, change, status
):
    before = snapshot(session, twilio_message)
    url = callback_url(fake_twilio, twilio_message)
    form = fake_twilio.status_callback(twilio_message.provider_message_id, status)
    signature = fake_twilio.sign(url, form)
    if change == "a wrong signature":
        signature = FakeTwilio(auth_token="not-our-token").sign(url, form)
    elif change == "a tampered parameter":
        form["MessageStatus"] = "failed"
    elif change == "an added parameter":
        form = {**form, "ErrorCode": "30003"}
    elif change == "no signature header":
        signature = None
    else:
        local = url.replace(delivery.PUBLIC_BASE_URL, "http://localhost")
        signature = fake_twilio.sign(local, form)

    response = post_status(client, url, form, signature)

    assert response.status_code == 403
    assert snapshot(session, twilio_message) == before


def test_a_twilio_callback_for_another_message_in_the_url_is_refused_with_403(
    app, client, session, make_user, make_candidate, fake_twilio, twilio_message
):
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    other = send_one(app, session, make_user(), bob, "twilio", delivery.twilio(fake_twilio))
    before = snapshot(session, other)
    url = callback_url(fake_twilio, twilio_message)
    form = fake_twilio.status_callback(twilio_message.provider_message_id, "failed")
    signature = fake_twilio.sign(url, form)

    response = post_status(client, url.replace(twilio_message.uuid, other.uuid), form, signature)

    assert response.status_code == 403
    assert snapshot(session, other) == before
    assert state_of(session, twilio_message) == "sent"


def test_a_late_sent_callback_after_delivered_leaves_the_message_delivered(
    client, session, fake_twilio, twilio_message
):
    assert signed_status(client, fake_twilio, twilio_message, "delivered").status_code < 300
    delivered = snapshot(session, twilio_message)

    response = signed_status(client, fake_twilio, twilio_message, "sent")

    assert 200 <= response.status_code < 300
    assert snapshot(session, twilio_message) == delivered
    assert delivered[0] == "delivered"


def test_an_undelivered_callback_with_error_30003_records_the_error(
    client, session, fake_twilio, twilio_message
):
    response = signed_status(client, fake_twilio, twilio_message, "undelivered", error_code="30003")

    assert 200 <= response.status_code < 300
    [current] = [m for m in messages(session) if m.id == twilio_message.id]
    assert current.state == "undelivered"
    assert current.error_code == "30003"
    assert current.error_text == "The handset is unreachable."


def consent_withdrawals(session) -> list[tuple[str, int, str | None, str]]:
    session.rollback()
    return [
        (e.subject_type, e.subject_id, e.actor_id, e.details["code"], e.details["message_uuid"])
        for e in session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "consent.sms_withdrawn")
            .order_by(AuditEvent.subject_type)
        )
    ]


def test_a_failed_callback_with_error_21610_unticks_sms_consent_once_audited(
    client, session, fake_twilio, twilio_message, ada, make_contact, make_candidate
):
    """The recipient replied STOP to Twilio: as when a send is refused with 21610, every record
    with the number loses its SMS consent, audited as the gateway's doing, and a replay of the
    callback audits nothing more."""
    grace = make_contact("Grace", "Hopper", "0412 345 678")  # the same phone as Ada's
    bob = make_candidate("Bob", "Brown", "0412 345 679")

    for _ in range(2):
        response = signed_status(client, fake_twilio, twilio_message, "failed", error_code="21610")
        assert 200 <= response.status_code < 300

    [current] = [m for m in messages(session) if m.id == twilio_message.id]
    assert (current.state, current.error_code) == ("failed", "21610")
    assert "unsubscribed" in current.error_text
    assert consent_withdrawals(session) == [
        ("candidate", ada.id, None, "21610", twilio_message.uuid),
        ("contact", grace.id, None, "21610", twilio_message.uuid),
    ]
    assert session.get(Candidate, ada.id).sms_consent is False
    assert session.get(ClientContact, grace.id).sms_consent is False
    assert session.get(Candidate, bob.id).sms_consent is True


def test_an_undelivered_callback_for_another_reason_leaves_sms_consent_alone(
    client, session, fake_twilio, twilio_message, ada
):
    response = signed_status(client, fake_twilio, twilio_message, "undelivered", error_code="30003")

    assert 200 <= response.status_code < 300
    assert consent_withdrawals(session) == []
    assert session.get(Candidate, ada.id).sms_consent is True


@pytest.mark.parametrize("status, state", [("sent", "sent"), ("delivered", "delivered")])
def test_a_late_twilio_callback_resolves_a_message_whose_send_timed_out(
    app, client, session, make_user, make_candidate, fake_twilio, status, state
):
    """Twilio created the message but answered after our timeout (`unknown`): its callback carries
    our uuid (?m=), so it settles the message and records Twilio's sid, with nothing sent again."""
    fake_twilio.inject(timeout(3.0))
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    batch = queue(session, make_user(), [ada], provider="twilio")
    dispatch(app, delivery.twilio(fake_twilio, read_timeout=0.3))
    [message] = messages(session, batch)
    [created] = fake_twilio.messages
    assert message.state == "unknown" and message.provider_message_id is None

    url = created["status_callback"]
    form = fake_twilio.status_callback(created["sid"], status)
    response = post_status(client, url, form, fake_twilio.sign(url, form))

    assert 200 <= response.status_code < 300
    [message] = messages(session, batch)
    assert message.state == state
    assert message.provider_message_id == created["sid"]
    assert len(fake_twilio.messages) == 1
