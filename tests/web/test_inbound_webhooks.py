"""The inbound-SMS webhooks through the Flask test client: SMS Central's credentials and Twilio's
signature, what each gateway must read back, idempotency under repeated pushes, long messages in
parts (UDH / BINARY) and malformed pushes; and abuse of every webhook: oversize bodies, bodies that
are not forms, and a replay that differs only in the credentials' spelling."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests.fakes import FakeTwilio
from tests.replying import audits, inbound, rows, send_sms, stored, twilio_inbound_form
from tests.web.conftest import (
    HOOK_PASSWORD,
    HOOK_USER,
    PUBLIC,
    WEBHOOKS,
    signed_twilio_post,
    signer,
    twilio_post,
)
from webapp import create_app
from webapp.config import testing_config as config_for
from webapp.models import Candidate, Email, InboundPart
from webapp.sms import replies

SMSC = "/webhooks/smscentral/inbound"
SMSC_RECEIPT = "/webhooks/smscentral/receipt"
TWILIO = "/webhooks/twilio/inbound"
TWILIO_STATUS = "/webhooks/twilio/status"
ADA_DIGITS = "61412345678"
NOTHING = {"inbound": 0, "emails": 0, "audit": 0, "parts": 0}
TWO_MB = 2 * 1024 * 1024


@pytest.fixture
def app_settings():
    """Both gateways' webhooks configured."""
    return WEBHOOKS


def smscentral_fields(credentials: bool = True, **fields) -> dict[str, str]:
    """A reply as SMS Central pushes it, with our credentials unless told, and `fields` changed
    (None: left out)."""
    params = {"USER_NAME": HOOK_USER, "PASSWORD": HOOK_PASSWORD} if credentials else {}
    params.update(
        {
            "ORIGINATOR": ADA_DIGITS,
            "RECIPIENT": "61400000001",
            "ID": "SC-100",
            "MESSAGE_TEXT": "Yes, Tuesday suits",
        }
    )
    params.update(fields)
    return {k: v for k, v in params.items() if v is not None}


def smscentral_push(client, method: str = "GET", credentials: bool = True, **fields):
    params = smscentral_fields(credentials, **fields)
    if method == "GET":
        return client.get(SMSC, query_string=params)
    return client.post(SMSC, data=params, csrf=False)


# --- SMS Central: credentials --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "given",
    [
        {"USER_NAME": HOOK_USER, "PASSWORD": "wrong"},
        {"USER_NAME": "someone", "PASSWORD": HOOK_PASSWORD},
        {"USER_NAME": HOOK_USER},
        {"PASSWORD": HOOK_PASSWORD},
        {"USER_NAME": "", "PASSWORD": ""},
        {},
    ],
    ids=["wrong-password", "wrong-username", "no-password", "no-username", "empty", "none"],
)
def test_smscentral_push_with_wrong_or_missing_credentials_is_refused_and_stores_nothing(
    client, session, ada, method, given
):
    response = smscentral_push(client, method, credentials=False, MESSAGE_TEXT="STOP", **given)

    assert response.status_code == 403
    assert response.get_data(as_text=True) != "0"
    assert stored(session) == NOTHING
    assert rows(session, type(ada))[0].sms_consent is True


def test_smscentral_inbound_is_not_found_while_no_webhook_credentials_are_configured(database_url):
    app = create_app(config_for(database_url))  # no SMSCENTRAL_WEBHOOK_USERNAME/PASSWORD
    try:
        client = app.test_client()
        for response in (
            client.get(
                SMSC,
                query_string={
                    "USER_NAME": "",
                    "PASSWORD": "",
                    "ORIGINATOR": ADA_DIGITS,
                    "ID": "SC-1",
                    "MESSAGE_TEXT": "hi",
                },
            ),
            client.get(
                SMSC, query_string={"ORIGINATOR": ADA_DIGITS, "ID": "SC-1", "MESSAGE_TEXT": "hi"}
            ),
            client.post(SMSC, data={"ORIGINATOR": ADA_DIGITS, "ID": "SC-1", "MESSAGE_TEXT": "hi"}),
        ):
            assert response.status_code == 404
        session = app.extensions["database"].sessionmaker()
        try:
            assert stored(session) == NOTHING
        finally:
            session.close()
    finally:
        app.extensions["database"].engine.dispose()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_smscentral_reply_is_stored_and_answered_with_exactly_0(client, session, ada, method):
    response = smscentral_push(client, method, ID=f"SC-{method}")

    assert response.status_code == 200
    assert response.data == b"0"
    [reply] = inbound(session)
    assert reply.provider == "smscentral"
    assert reply.provider_message_id == f"SC-{method}"
    assert reply.body == "Yes, Tuesday suits"
    assert reply.from_e164 == "+61412345678"
    assert reply.candidate_id == ada.id


def test_smscentral_reply_answers_the_message_named_by_its_reference(
    app, client, session, make_user, ada
):
    casey = make_user("casey", full_name="Casey Jones")
    [sent] = send_sms(app, session, casey, [ada])

    response = smscentral_push(client, REFERENCE=sent.uuid)

    assert response.data == b"0"
    [reply] = inbound(session)
    assert reply.in_reply_to_id == sent.id
    assert reply.sender_id == casey.id


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (b"caf%E9%20%FF%00x", "café ÿx"),  # Latin-1 (and a NUL, which goes)
        (b"%93Yes%94+%96+%80100", "“Yes” – €100"),  # Windows-1252's own characters
        (b"caf%C3%A9+%E2%82%AC", "café €"),  # UTF-8 stays UTF-8
    ],
    ids=["latin-1", "windows-1252", "utf-8"],
)
def test_a_reply_pushed_in_latin_1_is_stored_as_its_characters_not_percent_escapes(
    client, session, ada, method, sent, kept
):
    """Werkzeug keeps the bytes of text that is not UTF-8 as their escapes: "caf%E9" was stored
    as those six characters."""
    form = urlencode(smscentral_fields(MESSAGE_TEXT=None)).encode() + b"&MESSAGE_TEXT=" + sent
    if method == "GET":
        response = client.get(f"{SMSC}?{form.decode()}")
    else:
        response = client.post(
            SMSC, data=form, content_type="application/x-www-form-urlencoded", csrf=False
        )

    assert response.data == b"0"
    [reply] = inbound(session)
    assert reply.body == kept
    assert reply.candidate_id == ada.id


# --- Twilio: the signature -----------------------------------------------------------------------


def test_twilio_reply_correctly_signed_is_stored_and_answered_with_empty_twiml(
    client, session, ada
):
    form = twilio_inbound_form()

    response = signed_twilio_post(client, TWILIO, form)

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    root = ElementTree.fromstring(response.data)
    assert root.tag == "Response"
    assert list(root) == []  # no <Message>: Twilio sends nothing back to the person
    [reply] = inbound(session)
    assert reply.provider == "twilio"
    assert reply.provider_message_id == form["MessageSid"]
    assert reply.body == "Yes, Tuesday suits"
    assert reply.candidate_id == ada.id


def test_twilio_signature_covers_the_query_string_of_the_public_url(client, session, ada):
    form = twilio_inbound_form()

    with_query = TWILIO + "?office=syd"
    refused = twilio_post(client, with_query, form, signer.sign(PUBLIC + TWILIO, form))
    assert refused.status_code == 403
    assert stored(session) == NOTHING

    accepted = signed_twilio_post(client, with_query, form)
    assert accepted.status_code == 200
    assert len(inbound(session)) == 1


def _signed_then(change: str):
    form = twilio_inbound_form(Body="STOP")
    signature = signer.sign(PUBLIC + TWILIO, form)
    if change == "wrong-token":
        other = FakeTwilio(auth_token="not-our-token")
        signature = other.sign(PUBLIC + TWILIO, form)
    elif change == "tampered-body":
        form = dict(form, Body="START")
    elif change == "added-parameter":
        form = dict(form, OptOutType="STOP")
    elif change == "other-url":
        signature = signer.sign("http://localhost" + TWILIO, form)
    elif change == "status-url":
        signature = signer.sign(PUBLIC + TWILIO_STATUS, form)
    elif change == "missing":
        signature = None
    elif change == "empty":
        signature = ""
    return form, signature


@pytest.mark.parametrize(
    "change",
    [
        "wrong-token",
        "tampered-body",
        "added-parameter",
        "other-url",
        "status-url",
        "missing",
        "empty",
    ],
)
def test_twilio_push_without_a_valid_signature_is_refused_and_stores_nothing(
    client, session, ada, change
):
    form, signature = _signed_then(change)

    response = twilio_post(client, TWILIO, form, signature)

    assert response.status_code == 403
    assert stored(session) == NOTHING
    assert rows(session, type(ada))[0].sms_consent is True


def test_twilio_inbound_is_not_found_while_no_auth_token_is_configured(database_url):
    app = create_app(config_for(database_url, PUBLIC_BASE_URL=PUBLIC))
    try:
        form = twilio_inbound_form()
        response = app.test_client().post(
            TWILIO, data=form, headers={"X-Twilio-Signature": signer.sign(PUBLIC + TWILIO, form)}
        )
        assert response.status_code == 404
    finally:
        app.extensions["database"].engine.dispose()


# --- Twilio Advanced Opt-Out (OptOutType) ---------------------------------------------------------


def twilio_reply_to_casey(
    app, client, session, make_user, ada, *, opted_out: bool = False, **fields
) -> Email:
    """Casey texts Ada (who then opts out, if told), Ada's phone answers through Twilio with
    `fields`; the email Casey gets."""
    casey = make_user("casey", full_name="Casey Jones", email="casey@example.com")
    send_sms(app, session, casey, [ada])
    if opted_out:
        ada.sms_consent = False
        session.commit()
    response = signed_twilio_post(client, TWILIO, twilio_inbound_form(**fields))
    assert response.status_code == 200
    [email] = rows(session, Email)
    assert email.to_address == "casey@example.com"
    return email


@pytest.mark.parametrize(
    "body, line",
    [
        ("ARRET", "SMS consent was withdrawn (Twilio took the reply as STOP)."),
        ("Stop", "SMS consent was withdrawn (STOP)."),
    ],
)
def test_a_reply_twilio_took_as_stop_withdraws_consent_whatever_its_words(
    app, client, session, make_user, ada, body, line
):
    """A keyword set up in Twilio's Advanced Opt-Out ("ARRET") is not one of ours, but Twilio
    blocks the number after it: the person opted out, and the record and the email must say so."""
    email = twilio_reply_to_casey(
        app, client, session, make_user, ada, Body=body, OptOutType="STOP"
    )

    assert rows(session, type(ada))[0].sms_consent is False
    [withdrawn] = audits(session, "consent.sms_withdrawn")
    assert withdrawn.subject_id == ada.id
    assert withdrawn.details["source"] == "reply"
    assert withdrawn.details["text"] == body
    assert withdrawn.details.get("opt_out_type") == ("STOP" if body == "ARRET" else None)
    assert email.body.endswith(line)


def test_a_reply_twilio_took_as_start_gives_no_consent_unless_it_says_start(
    app, client, session, make_user, ada
):
    """Twilio counts YES as START; here YES answers "Reply YES if you're interested": the box
    stays as it is, and the email says Twilio will send to the number again."""
    email = twilio_reply_to_casey(
        app, client, session, make_user, ada, opted_out=True, Body="Yes", OptOutType="START"
    )

    assert rows(session, type(ada))[0].sms_consent is False
    assert audits(session, "consent.sms_given") == []
    assert email.body.endswith(replies.GATEWAY_START)


def test_a_start_reply_twilio_took_as_start_ticks_consent_again(
    app, client, session, make_user, ada
):
    email = twilio_reply_to_casey(
        app, client, session, make_user, ada, opted_out=True, Body="START", OptOutType="START"
    )

    assert rows(session, type(ada))[0].sms_consent is True
    assert len(audits(session, "consent.sms_given")) == 1
    assert email.body.endswith("SMS consent was ticked again (START).")


def test_a_reply_twilio_took_as_help_changes_no_consent(app, client, session, make_user, ada):
    email = twilio_reply_to_casey(
        app, client, session, make_user, ada, Body="INFO", OptOutType="HELP"
    )

    assert rows(session, type(ada))[0].sms_consent is True
    assert audits(session, "consent.sms_withdrawn") == []
    assert "SMS consent" not in email.body


# --- idempotency ---------------------------------------------------------------------------------


def test_the_same_stop_pushed_ten_times_is_one_message_one_email_one_audit_entry(
    app, client, session, make_user, ada
):
    casey = make_user("casey", full_name="Casey Jones", email="casey@example.com")
    [sent] = send_sms(app, session, casey, [ada])

    answers = [
        smscentral_push(client, ID="SC-STOP-1", MESSAGE_TEXT="STOP", REFERENCE=sent.uuid)
        for _ in range(10)
    ]

    assert [(a.status_code, a.data) for a in answers] == [(200, b"0")] * 10
    [reply] = inbound(session)
    assert reply.body == "STOP"
    [email] = rows(session, Email)
    assert email.message_id == reply.id
    assert email.to_address == "casey@example.com"
    [withdrawn] = audits(session, "consent.sms_withdrawn")
    assert withdrawn.subject_id == ada.id
    assert rows(session, type(ada))[0].sms_consent is False


def test_the_same_twilio_reply_delivered_twice_is_stored_once(client, session, ada):
    form = twilio_inbound_form(Body="STOP")

    first = signed_twilio_post(client, TWILIO, form)
    second = signed_twilio_post(client, TWILIO, form)

    assert (first.status_code, second.status_code) == (200, 200)
    assert len(inbound(session)) == 1
    assert len(rows(session, Email)) == 1
    assert len(audits(session, "consent.sms_withdrawn")) == 1


# --- long messages in parts ----------------------------------------------------------------------

PARTS = {  # UDH IEI 00 (8-bit reference A8), 3 parts
    1: ("050003A80301", "Thanks for the call today. "),
    2: ("050003A80302", "I can start on Monday "),
    3: ("050003A80303", "if the role is still open."),
}


def push_part(client, seq: int, *, part_id: str | None = None, **fields):
    udh, text = PARTS[seq]
    fields.setdefault("MESSAGE_TEXT", text)
    return smscentral_push(client, ID=part_id or f"SC-P{seq}", UDH=udh, **fields)


def test_a_long_reply_in_parts_out_of_order_and_one_repeated_becomes_one_message_in_order(
    client, session, ada
):
    answers = [push_part(client, 3), push_part(client, 1)]
    assert stored(session) | {"parts": 0} == NOTHING  # nothing stored until the last part
    answers.append(push_part(client, 3))  # SMS Central retries a part
    assert len(inbound(session)) == 0
    answers.append(push_part(client, 2))

    assert [(a.status_code, a.data) for a in answers] == [(200, b"0")] * 4
    [reply] = inbound(session)
    assert reply.body == (
        "Thanks for the call today. I can start on Monday if the role is still open."
    )
    assert reply.candidate_id == ada.id
    assert reply.from_e164 == "+61412345678"
    # The parts are kept, marked used, so a late repeat is recognised and never joined again.
    assert [part.used for part in rows(session, InboundPart)] == [True, True, True]
    assert len(rows(session, Email)) == 1


def test_nothing_is_stored_while_a_part_is_missing(client, session, ada):
    push_part(client, 1)
    push_part(client, 3)
    push_part(client, 1)

    assert len(inbound(session)) == 0
    assert len(rows(session, Email)) == 0
    assert sorted(p.seq for p in rows(session, InboundPart)) == [1, 3]


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def test_a_ucs2_part_sent_as_binary_utf16_hex_is_decoded(client, session, ada):
    texts = {1: "Zoë’s reply: ", 2: "“yes” to the role ", 3: "— see you Monday 👍"}
    order = [2, 3, 1]
    for seq in order:
        answer = smscentral_push(
            client, ID=f"SC-U{seq}", UDH=PARTS[seq][0], MESSAGE_TEXT=None, BINARY=ucs2(texts[seq])
        )
        assert answer.data == b"0"

    [reply] = inbound(session)
    assert reply.body == "Zoë’s reply: “yes” to the role — see you Monday 👍"
    assert reply.encoding == "UCS-2"


@pytest.mark.parametrize("order", [(1, 2), (2, 1)])
def test_an_emoji_split_between_two_binary_parts_is_whole_again(client, session, ada, order):
    whole = ucs2("Can do Monday 😀 see you")
    cut = whole.index(ucs2("😀")) + 4  # after the first of the emoji's two UTF-16 halves
    halves = {1: whole[:cut], 2: whole[cut:]}
    for seq in order:
        answer = smscentral_push(
            client,
            ID=f"SC-E{seq}",
            UDH=f"050003B702{seq:02X}",
            MESSAGE_TEXT=None,
            BINARY=halves[seq],
        )
        assert answer.data == b"0"

    [reply] = inbound(session)
    assert reply.body == "Can do Monday 😀 see you"


@pytest.mark.parametrize("text", ["مرحبا", "سلام", "ممنون", "OKب"])
def test_a_binary_reply_in_arabic_script_utf8_is_read_as_utf8(client, session, ada, text):
    """UTF-8 of Arabic script reads as UTF-16 with halves of characters in it: halves in the
    middle, or UTF-8 that reads without a NUL, say it is not UCS-2 split between parts."""
    utf8 = text.encode().hex().upper()
    assert len(utf8) % 4 == 0  # even in bytes: it could have been UCS-2
    assert smscentral_push(client, ID="SC-8", MESSAGE_TEXT=None, BINARY=utf8).data == b"0"

    [reply] = inbound(session)
    assert reply.body == text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_binary_reply_beside_an_empty_message_text_is_read_from_binary(
    client, session, ada, method
):
    """`MESSAGE_TEXT=&BINARY=00480069`: the empty text is no body, the BINARY is."""
    answer = smscentral_push(client, method, ID="SC-E1", MESSAGE_TEXT="", BINARY=ucs2("Hi"))
    assert answer.data == b"0"

    [reply] = inbound(session)
    assert reply.body == "Hi"


def test_a_part_starting_with_an_emojis_second_half_then_arabic_is_ucs2(client, session, ada):
    """The half (DE80) and the Arabic after it (06 xx) read as UTF-8 too, but with controls."""
    whole = ucs2("🚀شكرا")
    halves = {1: whole[:4], 2: whole[4:]}
    for seq in (1, 2):
        smscentral_push(
            client,
            ID=f"SC-R{seq}",
            UDH=f"050003B802{seq:02X}",
            MESSAGE_TEXT=None,
            BINARY=halves[seq],
        )
    [reply] = inbound(session)
    assert reply.body == "🚀شكرا"


def test_a_lone_half_of_a_character_in_a_binary_reply_is_stored_as_a_replacement(
    client, session, ada
):
    half = ucs2("Yes 😀")[:-4]
    assert smscentral_push(client, ID="SC-H1", MESSAGE_TEXT=None, BINARY=half).data == b"0"

    [reply] = inbound(session)
    assert reply.body == "Yes \ufffd"


def test_a_part_carrying_our_reference_links_the_whole_reply_to_that_message(
    app, client, session, make_user, ada
):
    casey = make_user("casey", full_name="Casey Jones")
    [sent] = send_sms(app, session, casey, [ada])

    push_part(client, 2, REFERENCE=sent.uuid)
    push_part(client, 1)
    push_part(client, 3)

    [reply] = inbound(session)
    assert reply.in_reply_to_id == sent.id
    assert reply.sender_id == casey.id


def test_a_part_pushed_again_after_its_message_was_assembled_does_not_spoil_the_next_long_reply(
    client, session, ada
):
    for seq in (1, 2, 3):
        push_part(client, seq)
    # SMS Central did not read our "0" for part 2 in time and pushes it again, later.
    assert push_part(client, 2).data == b"0"
    assert len(inbound(session)) == 1

    # Ada's phone reuses the 8-bit reference (only 256 exist) for a new long reply.
    new = {1: "Second thoughts: ", 2: "Wednesday is better ", 3: "for me."}
    for seq in (1, 2, 3):
        push_part(client, seq, part_id=f"SC-N{seq}", MESSAGE_TEXT=new[seq])

    bodies = [m.body for m in inbound(session)]
    assert bodies == [
        "Thanks for the call today. I can start on Monday if the role is still open.",
        "Second thoughts: Wednesday is better for me.",
    ]


def test_the_last_part_pushed_again_after_a_failed_push_files_the_whole_reply(client, session, ada):
    push_part(client, 1)
    push_part(client, 2)
    # The push of part 3 stored it, then failed before the reply was filed (a 500, a killed
    # process): what is left is part 3 stored, and no reply. SMS Central pushes part 3 again.
    replies.assemble(
        session,
        "smscentral",
        ADA_DIGITS,
        replies.parse_udh(PARTS[3][0]),
        PARTS[3][1],
        "SC-P3",
        None,
    )
    assert inbound(session) == []

    assert push_part(client, 3).data == b"0"

    [reply] = inbound(session)
    assert reply.body == (
        "Thanks for the call today. I can start on Monday if the role is still open."
    )
    assert len(rows(session, Email)) == 1
    # Filed once: a further repeat changes nothing.
    assert push_part(client, 3).data == b"0"
    assert len(inbound(session)) == 1 and len(rows(session, Email)) == 1


def test_the_last_part_pushed_by_get_files_the_reply_though_another_connection_wrote_meanwhile(
    app, client, session, ada, make_candidate, monkeypatch
):
    """SMS Central pushes with GET. The last part commits itself, then the whole reply is filed,
    which reads (who sent it) before it writes: on SQLite that transaction must hold the write
    lock from its start, or another connection writing in between (the worker, another push)
    failed it at once with "database is locked" (a 500, the reply not filed). The write
    meanwhile waits its turn instead."""
    bob = make_candidate("Bob", "Brown", "0400 111 222")
    push_part(client, 1)
    push_part(client, 2)
    engine = app.extensions["database"].engine

    def rename_bob():
        with engine.begin() as connection:
            connection.execute(
                sa.update(Candidate).where(Candidate.id == bob.id).values(first_name="Robert")
            )

    worker = threading.Thread(target=rename_bob)
    match = replies.match

    def match_then_write_elsewhere(*args, **kwargs):
        found = match(*args, **kwargs)
        worker.start()
        worker.join(1.0)  # on SQLite it waits for this push's write lock; elsewhere done by now
        return found

    monkeypatch.setattr(replies, "match", match_then_write_elsewhere)
    answer = push_part(client, 3)
    worker.join(20)

    assert (answer.status_code, answer.data) == (200, b"0")
    [reply] = inbound(session)
    assert reply.body.startswith("Thanks for the call today.")
    assert reply.candidate_id == ada.id
    assert rows(session, Candidate, Candidate.id == bob.id)[0].first_name == "Robert"


# --- malformed pushes ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "missing",
    [{"ORIGINATOR": None}, {"ID": None}, {"ORIGINATOR": "  "}, {"ID": ""}],
    ids=["no-originator", "no-id", "blank-originator", "empty-id"],
)
def test_smscentral_push_without_originator_or_id_is_a_400_and_stores_nothing(
    client, session, ada, method, missing
):
    response = smscentral_push(client, method, MESSAGE_TEXT="STOP", **missing)

    assert response.status_code == 400
    assert stored(session) == NOTHING
    assert rows(session, type(ada))[0].sms_consent is True


@pytest.mark.parametrize("missing", ["MessageSid", "From"])
def test_twilio_push_without_message_sid_or_from_is_a_400_and_stores_nothing(
    client, session, ada, missing
):
    form = twilio_inbound_form(Body="STOP")
    del form[missing]

    response = signed_twilio_post(client, TWILIO, form)

    assert response.status_code == 400
    assert stored(session) == NOTHING


# --- abuse: oversize bodies, bodies that are not forms, a replay ----------------------------------


@pytest.mark.parametrize("path", [SMSC, SMSC_RECEIPT])
def test_a_2mb_smscentral_push_is_413_and_stores_nothing(client, session, ada, path):
    form = smscentral_fields(MESSAGE_TEXT="x" * TWO_MB)

    response = client.post(path, data=form, csrf=False)

    assert response.status_code == 413
    assert stored(session) == NOTHING


@pytest.mark.parametrize("path", [TWILIO, TWILIO_STATUS])
def test_a_2mb_twilio_push_even_correctly_signed_is_413_and_stores_nothing(
    client, session, ada, path
):
    response = signed_twilio_post(client, path, twilio_inbound_form(Body="x" * TWO_MB))

    assert response.status_code == 413
    assert stored(session) == NOTHING


def test_a_2mb_raw_body_without_a_form_type_is_413_too(client, session, ada):
    response = client.post(
        SMSC, data=b"\0" * TWO_MB, content_type="application/octet-stream", csrf=False
    )

    assert response.status_code == 413
    assert stored(session) == NOTHING


def test_a_body_just_under_the_limit_is_still_read(client, session, ada):
    form = smscentral_fields(MESSAGE_TEXT="y" * (900 * 1024))

    response = client.post(SMSC, data=form, csrf=False)

    assert response.status_code == 200
    assert stored(session)["inbound"] == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"MESSAGE_TEXT": None, "BINARY": "zz-not-hex"},
        {"MESSAGE_TEXT": None, "BINARY": "00D"},
        {"UDH": "garbage"},
        {"UDH": "050003"},
        {"UDH": "0500030A0003"},
    ],
    ids=[
        "binary-not-hex",
        "binary-odd-length",
        "udh-not-hex",
        "udh-truncated",
        "udh-part-past-total",
    ],
)
def test_a_malformed_smscentral_push_is_answered_without_a_server_error(
    client, session, ada, fields
):
    response = client.post(SMSC, data=smscentral_fields(**fields), csrf=False)

    assert response.status_code < 500, response.get_data(as_text=True)[:300]


def test_a_json_body_to_twilio_is_refused_as_unsigned(client, session, ada):
    response = client.post(
        TWILIO,
        json=twilio_inbound_form(),
        csrf=False,
        headers={"X-Twilio-Signature": signer.sign(PUBLIC + TWILIO, {})},
    )

    assert response.status_code in {400, 403}
    assert stored(session) == NOTHING


def test_a_replayed_push_with_different_credentials_casing_is_refused_and_stored_once(
    client, session, ada
):
    assert client.post(SMSC, data=smscentral_fields(), csrf=False).status_code == 200
    assert client.post(SMSC, data=smscentral_fields(), csrf=False).status_code == 200
    forged = client.post(SMSC, data=smscentral_fields(PASSWORD=HOOK_PASSWORD.upper()), csrf=False)

    assert forged.status_code == 403
    assert stored(session)["inbound"] == 1
