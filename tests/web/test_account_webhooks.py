"""Each SMS account's own webhooks (/webhooks/<gateway>/<slug>/…): checked with that account's
credentials or Twilio token, refusing every other account's; receipts touch only that account's
messages; replies are matched among that account's messages; the URLs without a slug keep serving
the default account (the gateway configured in the environment)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.fakes import FakeTwilio
from tests.replying import inbound, rows, twilio_inbound_form
from tests.web.conftest import HOOK_PASSWORD, HOOK_USER, PUBLIC, WEBHOOKS, twilio_post
from webapp.models import Email, Message, SmsAccount, utcnow
from webapp.sms.account_secrets import key_material, seal

ADA_DIGITS = "61412345678"
NOTHING_STORED: list = []


@pytest.fixture
def app_settings():
    """The default account's webhooks switched on too (SMS Central and Twilio)."""
    return WEBHOOKS


def add_account(app, session, name: str, provider: str, secrets: dict, **fields) -> SmsAccount:
    account = SmsAccount(
        name=name,
        slug=name.lower().replace(" ", "-"),
        provider=provider,
        secrets=seal(key_material(app.config), secrets),
        **fields,
    )
    session.add(account)
    session.commit()
    return account


@pytest.fixture
def perth(app, session) -> SmsAccount:
    return add_account(
        app,
        session,
        "Perth SMS",
        "smscentral",
        {"password": "api", "webhook_password": "perth-hook-pw"},
        webhook_username="perth-hook",
    )


@pytest.fixture
def sydney(app, session) -> SmsAccount:
    return add_account(
        app,
        session,
        "Sydney SMS",
        "smscentral",
        {"password": "api", "webhook_password": "sydney-hook-pw"},
        webhook_username="sydney-hook",
    )


KIWI = FakeTwilio(auth_token="kiwi-token")  # sign() only: Twilio's algorithm, apart from ours
AUSSIE = FakeTwilio(auth_token="aussie-token")


@pytest.fixture
def kiwi(app, session) -> SmsAccount:
    return add_account(app, session, "NZ SMS", "twilio", {"auth_token": KIWI.auth_token})


@pytest.fixture
def aussie(app, session) -> SmsAccount:
    return add_account(app, session, "AU Twilio", "twilio", {"auth_token": AUSSIE.auth_token})


def smscentral_reply(user: str, password: str, **fields) -> dict[str, str]:
    params = {
        "USER_NAME": user,
        "PASSWORD": password,
        "ORIGINATOR": ADA_DIGITS,
        "RECIPIENT": "61400000001",
        "ID": "SC-100",
        "MESSAGE_TEXT": "Yes, Tuesday suits",
    }
    return params | fields


def smscentral_receipt(user: str, password: str, message: Message) -> dict[str, str]:
    return {
        "USER_NAME": user,
        "PASSWORD": password,
        "RECIPIENT": ADA_DIGITS,
        "ID": f"gw-{message.id}",
        "REFERENCE": message.uuid,
        "RESULT": "0",
        "STATUS": "DELIVRD",
        "STATUSDESCRIPTION": "Delivered",
    }


def sent(session, sender, person, account: SmsAccount | None, minutes_ago: int = 5) -> Message:
    """A message to `person` sent through `account` (None: the default) `minutes_ago`."""
    batch = delivery.queue(session, sender, [person], provider="smscentral")
    [message] = delivery.messages(session, batch)
    session.execute(
        sa.update(Message)
        .where(Message.id == message.id)
        .values(
            state="sent",
            sent_at=utcnow() - timedelta(minutes=minutes_ago),
            account_id=account.id if account else None,
            provider=account.provider if account else "smscentral",
            provider_message_id=f"gw-{message.id}",
        )
    )
    session.commit()
    return session.get(Message, message.id)


def state_of(session, message: Message) -> str:
    session.rollback()  # end the read transaction: see what the requests committed
    session.expire_all()
    return session.get(Message, message.id).state


# --- SMS Central: each account's credentials -----------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_reply_to_an_accounts_url_with_its_credentials_is_stored_for_that_account(
    client, session, ada, perth, method
):
    params = smscentral_reply("perth-hook", "perth-hook-pw")
    url = "/webhooks/smscentral/perth-sms/inbound"
    if method == "GET":
        response = client.get(url, query_string=params)
    else:
        response = client.post(url, data=params, csrf=False)

    assert (response.status_code, response.get_data(as_text=True)) == (200, "0")
    [reply] = inbound(session)
    assert (reply.account_id, reply.candidate_id) == (perth.id, ada.id)


@pytest.mark.parametrize(
    "url, user, password",
    [
        # Sydney's credentials at Perth's URL.
        ("/webhooks/smscentral/perth-sms/inbound", "sydney-hook", "sydney-hook-pw"),
        # The default account's at Perth's.
        ("/webhooks/smscentral/perth-sms/inbound", HOOK_USER, HOOK_PASSWORD),
        # Perth's at the default URL.
        ("/webhooks/smscentral/inbound", "perth-hook", "perth-hook-pw"),
        # Perth's user name with Sydney's password.
        ("/webhooks/smscentral/perth-sms/inbound", "perth-hook", "sydney-hook-pw"),
        ("/webhooks/smscentral/perth-sms/receipt", "sydney-hook", "sydney-hook-pw"),
    ],
    ids=["other-account", "default-at-account", "account-at-default", "mixed", "receipt"],
)
def test_another_accounts_sms_central_credentials_are_refused(
    client, session, ada, perth, sydney, url, user, password
):
    response = client.get(url, query_string=smscentral_reply(user, password))

    assert response.status_code == 403
    assert inbound(session) == NOTHING_STORED


@pytest.mark.parametrize(
    "url",
    [
        "/webhooks/smscentral/nowhere/inbound",
        "/webhooks/smscentral/nowhere/receipt",
        "/webhooks/twilio/perth-sms/inbound",  # an SMS Central account has no Twilio URLs
        "/webhooks/smscentral/nz-sms/inbound",
    ],
)
def test_an_unknown_slug_or_another_gateways_is_not_found(client, perth, kiwi, url):
    assert client.post(url, data={}, csrf=False).status_code == 404


def test_a_switched_off_accounts_webhooks_are_not_found(client, session, ada, perth):
    perth.active = False
    session.commit()

    response = client.get(
        "/webhooks/smscentral/perth-sms/inbound",
        query_string=smscentral_reply("perth-hook", "perth-hook-pw"),
    )

    assert response.status_code == 404
    assert inbound(session) == NOTHING_STORED


def test_an_account_whose_secrets_cannot_be_read_refuses_and_stores_nothing(
    client, session, ada, perth
):
    perth.secrets = seal("an-older-key", {"webhook_password": "perth-hook-pw"})
    session.commit()

    response = client.get(
        "/webhooks/smscentral/perth-sms/inbound",
        query_string=smscentral_reply("perth-hook", "perth-hook-pw"),
    )

    # Not the gateway's fault: it is asked to push again later, and nothing is taken unchecked.
    assert response.status_code == 503
    assert inbound(session) == NOTHING_STORED


# --- Twilio: each account's token ----------------------------------------------------------------


def test_a_twilio_reply_signed_with_the_accounts_token_for_its_url_is_stored(
    client, session, ada, kiwi
):
    path = "/webhooks/twilio/nz-sms/inbound"
    form = twilio_inbound_form()

    response = twilio_post(client, path, form, KIWI.sign(PUBLIC + path, form))

    assert response.status_code == 200
    [reply] = inbound(session)
    assert (reply.account_id, reply.provider, reply.candidate_id) == (kiwi.id, "twilio", ada.id)


@pytest.mark.parametrize(
    "signer, signed_path",
    [
        (AUSSIE, "/webhooks/twilio/nz-sms/inbound"),  # another account's token
        (FakeTwilio(), "/webhooks/twilio/nz-sms/inbound"),  # the default account's token
        (KIWI, "/webhooks/twilio/inbound"),  # the right token over another URL
        (KIWI, "/webhooks/twilio/au-twilio/inbound"),
    ],
    ids=["other-account", "default-token", "default-url", "other-url"],
)
def test_a_twilio_signature_from_another_account_or_for_another_url_is_refused(
    client, session, ada, kiwi, aussie, signer, signed_path
):
    form = twilio_inbound_form()

    response = twilio_post(
        client, "/webhooks/twilio/nz-sms/inbound", form, signer.sign(PUBLIC + signed_path, form)
    )

    assert response.status_code == 403
    assert inbound(session) == NOTHING_STORED


def test_the_account_token_is_refused_at_the_default_url(client, session, ada, kiwi):
    path = "/webhooks/twilio/inbound"
    form = twilio_inbound_form()

    assert twilio_post(client, path, form, KIWI.sign(PUBLIC + path, form)).status_code == 403
    assert inbound(session) == NOTHING_STORED


# --- receipts: only the account's own messages ---------------------------------------------------


def test_an_sms_central_receipt_touches_only_messages_of_the_account_it_came_for(
    client, session, sender, ada, perth, sydney
):
    perths = sent(session, sender, ada, perth)
    sydneys = sent(session, sender, ada, sydney)
    defaults = sent(session, sender, ada, None)
    perth_url = "/webhooks/smscentral/perth-sms/receipt"

    for message in (sydneys, defaults):
        params = smscentral_receipt("perth-hook", "perth-hook-pw", message)
        response = client.get(perth_url, query_string=params)
        assert (response.status_code, response.get_data(as_text=True)) == (200, "0")
    # Nor does the default URL reach an account's message.
    params = smscentral_receipt(HOOK_USER, HOOK_PASSWORD, perths)
    assert client.get("/webhooks/smscentral/receipt", query_string=params).status_code == 200
    assert [state_of(session, m) for m in (perths, sydneys, defaults)] == ["sent"] * 3

    params = smscentral_receipt("perth-hook", "perth-hook-pw", perths)
    assert client.get(perth_url, query_string=params).status_code == 200
    params = smscentral_receipt(HOOK_USER, HOOK_PASSWORD, defaults)
    assert client.get("/webhooks/smscentral/receipt", query_string=params).status_code == 200

    assert [state_of(session, m) for m in (perths, sydneys, defaults)] == [
        "delivered",
        "sent",
        "delivered",
    ]


def test_a_twilio_status_callback_touches_only_messages_of_the_account_it_came_for(
    client, session, sender, ada, kiwi
):
    kiwis = sent(session, sender, ada, kiwi)
    defaults = sent(session, sender, ada, None)

    def callback(message: Message) -> int:
        path = f"/webhooks/twilio/nz-sms/status?m={message.uuid}"
        form = {"MessageSid": message.provider_message_id, "MessageStatus": "delivered"}
        return twilio_post(client, path, form, KIWI.sign(PUBLIC + path, form)).status_code

    assert callback(defaults) == 204
    assert state_of(session, defaults) == "sent"
    assert callback(kiwis) == 204
    assert state_of(session, kiwis) == "delivered"


# --- replies: matched within the account ---------------------------------------------------------


def test_a_reply_is_matched_to_the_message_sent_through_the_account_it_came_in_by(
    client, session, make_user, ada, perth, sydney
):
    casey = make_user("casey", full_name="Casey Jones", email="casey@example.com")
    dana = make_user("dana", full_name="Dana Scully", email="dana@example.com")
    # Both offices texted Ada; Perth's message is the later one.
    sydneys = sent(session, dana, ada, sydney, minutes_ago=30)
    perths = sent(session, casey, ada, perth, minutes_ago=5)

    response = client.get(
        "/webhooks/smscentral/sydney-sms/inbound",
        query_string=smscentral_reply("sydney-hook", "sydney-hook-pw"),
    )

    assert response.status_code == 200
    [reply] = inbound(session)
    assert (reply.account_id, reply.in_reply_to_id, reply.sender_id) == (
        sydney.id,
        sydneys.id,
        dana.id,
    )
    assert [email.to_address for email in rows(session, Email)] == ["dana@example.com"]
    assert perths.id != reply.in_reply_to_id


def test_a_reply_found_by_the_number_alone_is_not_another_accounts_consultants(
    client, session, make_user, ada, perth, sydney
):
    """Ada was texted through Perth only and replies to Sydney's number: found by her number, the
    reply is not Casey's (a Perth consultant's), as match() keeps to the account it came in by."""
    casey = make_user("casey", full_name="Casey Jones", email="casey@example.com")
    sent(session, casey, ada, perth, minutes_ago=5)

    response = client.get(
        "/webhooks/smscentral/sydney-sms/inbound",
        query_string=smscentral_reply("sydney-hook", "sydney-hook-pw"),
    )

    assert response.status_code == 200
    [reply] = inbound(session)
    assert (reply.account_id, reply.candidate_id, reply.in_reply_to_id) == (sydney.id, ada.id, None)
    assert reply.sender_id is None
    assert reply.read_at is not None  # nobody's: not unread in Everyone's for good
    assert "casey@example.com" not in [email.to_address for email in rows(session, Email)]


def test_a_reference_to_another_accounts_message_does_not_match_it(
    client, session, make_user, ada, perth, sydney
):
    casey = make_user("casey", full_name="Casey Jones", email="casey@example.com")
    dana = make_user("dana", full_name="Dana Scully", email="dana@example.com")
    sydneys = sent(session, dana, ada, sydney, minutes_ago=30)
    perths = sent(session, casey, ada, perth, minutes_ago=5)

    client.get(
        "/webhooks/smscentral/sydney-sms/inbound",
        query_string=smscentral_reply("sydney-hook", "sydney-hook-pw", REFERENCE=perths.uuid),
    )

    [reply] = inbound(session)
    assert (reply.in_reply_to_id, reply.sender_id) == (sydneys.id, dana.id)


def test_the_default_url_matches_replies_among_the_default_accounts_messages_as_before(
    client, session, make_user, ada, perth
):
    casey = make_user("casey", full_name="Casey Jones", email="casey@example.com")
    dana = make_user("dana", full_name="Dana Scully", email="dana@example.com")
    defaults = sent(session, dana, ada, None, minutes_ago=30)
    sent(session, casey, ada, perth, minutes_ago=5)

    response = client.get(
        "/webhooks/smscentral/inbound", query_string=smscentral_reply(HOOK_USER, HOOK_PASSWORD)
    )

    assert (response.status_code, response.get_data(as_text=True)) == (200, "0")
    [reply] = inbound(session)
    assert (reply.account_id, reply.in_reply_to_id, reply.sender_id) == (
        None,
        defaults.id,
        dana.id,
    )


# --- long replies in parts ------------------------------------------------------------------------

PARTS = {  # UDH IEI 00 (8-bit reference A8), 2 parts
    1: ("050003A80201", "I can start on Monday "),
    2: ("050003A80202", "if the role is still open."),
}


def push_part(client, url: str, user: str, password: str, seq: int, part_id: str):
    udh, text = PARTS[seq]
    params = smscentral_reply(user, password, ID=part_id, UDH=udh, MESSAGE_TEXT=text)
    response = client.post(url, data=params, csrf=False)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "0")


def test_parts_of_a_long_reply_join_only_within_the_account_they_came_through(
    client, session, ada, perth
):
    # The same phone, the same 8-bit reference: part 1 through Perth, part 2 through the default
    # account. They are two different messages and must not be joined.
    push_part(
        client, "/webhooks/smscentral/perth-sms/inbound", "perth-hook", "perth-hook-pw", 1, "P1"
    )
    push_part(client, "/webhooks/smscentral/inbound", HOOK_USER, HOOK_PASSWORD, 2, "D2")
    assert inbound(session) == NOTHING_STORED

    push_part(
        client, "/webhooks/smscentral/perth-sms/inbound", "perth-hook", "perth-hook-pw", 2, "P2"
    )

    [reply] = inbound(session)
    assert reply.body == "I can start on Monday if the role is still open."
    assert reply.account_id == perth.id
