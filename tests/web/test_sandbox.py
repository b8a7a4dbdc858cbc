"""/sandbox only where meant: with the sandbox gateway and DEMO_MODE or SANDBOX set, else no page,
no reply form and no navigation link; and a STOP typed there is audited with the user who typed
it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.conftest import Browser
from tests.html_tree import html
from tests.replying import consent_audits, inbound, rows, send_sms
from webapp import config as settings
from webapp import create_app
from webapp.models import Candidate, ClientContact, Email, Message, SmsAccount
from webapp.sms import inbox, replies
from webapp.sms.account_secrets import key_material
from webapp.sms.providers.sandbox import Sandbox

# (settings, whether /sandbox is there)
CASES = [
    ({}, False),  # the sandbox gateway alone (e.g. a server whose gateway was never set up)
    ({"SANDBOX": True}, True),
    ({"DEMO_MODE": True}, True),
    ({"SMS_PROVIDER": "smscentral", "SANDBOX": True, "DEMO_MODE": True}, False),
    ({"SMS_PROVIDER": "twilio", "SANDBOX": True}, False),
]


def nav_labels(response) -> list[str]:
    return [link.text for link in html(response).one("nav", aria_label="Main").all("a")]


def test_the_sandbox_exists_only_with_its_gateway_and_demo_mode_or_sandbox_set(
    database_url, app, session, make_user, make_candidate
):
    admin = make_user(role="administrator")
    [sent] = send_sms(app, session, admin, [make_candidate("Ada", "Lovelace", "0412 345 678")])
    seen = []
    for overrides, _there in CASES:
        other = create_app(settings.testing_config(database_url, **overrides))
        other.test_client_class = Browser
        try:
            browser = other.test_client()
            assert browser.login(admin.username).status_code == 302
            page = browser.get("/sandbox")
            reply = browser.post(
                "/sandbox/reply", data={"message_id": str(sent.id), "text": "STOP"}
            )
            labels = nav_labels(browser.get("/candidates"))
        finally:
            other.extensions["database"].engine.dispose()
        seen.append((overrides, page.status_code, reply.status_code, "Sandbox" in labels))

    assert seen == [
        (overrides, 200 if there else 404, 303 if there else 404, there)
        for overrides, there in CASES
    ]
    # Only the two enabled apps took the reply; the first STOP unticked Ada.
    assert len(inbound(session)) == 2
    assert rows(session, Candidate)[0].sms_consent is False


def test_a_stop_typed_on_the_sandbox_is_audited_with_the_user_who_typed_it(
    app, client, session, login, make_candidate, make_contact
):
    app.config["SANDBOX"] = True
    user = login("consultant")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    grace = make_contact("Grace", "Hopper", "0412 345 678")  # the same phone
    [sent] = send_sms(app, session, user, [ada])

    response = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": "Stop"})

    assert response.status_code == 303
    [reply] = inbound(session)
    events = consent_audits(session)
    assert {(e.action, e.subject_type, e.subject_id) for e in events} == {
        ("consent.sms_withdrawn", "candidate", ada.id),
        ("consent.sms_withdrawn", "contact", grace.id),
    }
    for event in events:
        assert event.actor_id == user.id
        assert (event.details["source"], event.details["reply_id"]) == ("sandbox", reply.id)
    assert rows(session, ClientContact)[0].sms_consent is False
    # It shows in the audit log under their name, for those who may read it.
    name = user.full_name
    client.post("/logout")
    session.rollback()
    login("team-leader")
    assert name in html(client.get("/audit?action=consent.sms_withdrawn")).one("main").text


def test_a_sandbox_reply_over_1600_characters_is_refused_beside_its_field_not_cut(
    app, client, session, login, make_candidate
):
    app.config["SANDBOX"] = True
    user = login("consultant")
    [sent] = send_sms(app, session, user, [make_candidate("Ada", "Lovelace", "0412 345 678")])
    # Cut at 1,600, this reply would have lost the STOP at its end.
    text = "x" * 1_600 + " STOP"

    response = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": text})

    assert response.status_code == 400
    page = html(response)
    field = page.one("input", id=f"reply-{sent.id}")
    assert field.get("aria-invalid") == "true" and field.get("value") == text
    assert "at most 1,600" in page.one(id=f"reply-{sent.id}-error").text
    assert inbound(session) == []
    assert rows(session, Candidate)[0].sms_consent is True
    # 1,600 exactly is one SMS's worth: taken.
    ok = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": "y" * 1_600})
    assert ok.status_code == 303
    assert [reply.body for reply in inbound(session)] == ["y" * 1_600]


def test_the_sandbox_reply_box_cuts_nothing_in_the_browser_and_counts_an_emoji_as_one(
    app, client, session, login, make_candidate
):
    """Its maxlength counted UTF-16 units (an emoji two: 800 of them filled it) and cut pasted
    text unsaid; the server's rule is 1,600 characters, refused with a message beside the field."""
    app.config["SANDBOX"] = True
    user = login("consultant")
    [sent] = send_sms(app, session, user, [make_candidate("Ada", "Lovelace", "0412 345 678")])

    field = html(client.get("/sandbox")).one("input", id=f"reply-{sent.id}")
    assert "maxlength" not in field.attrs

    # One emoji more than an SMS carries: refused, kept as typed, counted as the server counts.
    over = "\U0001f600" * 1_601
    response = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": over})
    assert response.status_code == 400
    page = html(response)
    assert page.one("input", id=f"reply-{sent.id}").get("value") == over
    assert page.one(id=f"reply-{sent.id}-error").text == (
        "The reply is 1,601 characters; an SMS carries at most 1,600. Shorten it and reply again."
    )
    assert inbound(session) == []
    # 1,600 emoji are 1,600 characters (3,200 UTF-16 units, twice what the maxlength let in):
    # taken whole.
    whole = "\U0001f600" * 1_600
    ok = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": whole})
    assert ok.status_code == 303
    assert [reply.body for reply in inbound(session)] == [whole]


def test_each_sandbox_reply_box_names_its_message_not_only_the_number(
    app, client, session, login, make_candidate
):
    """Several messages to one number were each "Reply from +61412345678": a screen reader's
    list of fields and buttons could not tell them apart."""
    app.config["SANDBOX"] = True
    user = login("consultant")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    first = send_sms(app, session, user, [ada])[0]
    second = send_sms(app, session, user, [ada], body="Second")[0]
    at = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    session.get(Message, first.id).sent_at = at
    session.get(Message, second.id).sent_at = at + timedelta(seconds=1)
    session.commit()

    page = html(client.get("/sandbox"))

    names = {}
    for message in (first, second):
        field = page.one("input", id=f"reply-{message.id}")
        label = page.one("label", for_=f"reply-{message.id}").text
        button = field.parent.one("button").get("aria-label")
        names[message.id] = (label, button)
    sent = "+61412345678 to the SMS sent 2 Mar 2026, 8:15"
    assert names == {
        first.id: (f"Reply from {sent}:00 pm AEDT", f"Send reply from {sent}:00 pm AEDT"),
        second.id: (f"Reply from {sent}:01 pm AEDT", f"Send reply from {sent}:01 pm AEDT"),
    }


@pytest.mark.parametrize("text", ["\u200b", " \u200b\ufe0f ", "\x01\x02", "\t\r\n"])
def test_a_sandbox_reply_that_shows_nothing_is_refused(
    app, client, session, login, make_candidate, text
):
    """Spaces, invisible characters or control characters alone: stored, the reply was empty and
    its email said nothing."""
    app.config["SANDBOX"] = True
    user = login("consultant")
    [sent] = send_sms(app, session, user, [make_candidate("Ada", "Lovelace", "0412 345 678")])

    response = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": text})

    assert response.status_code == 400
    page = html(response)
    field = page.one("input", id=f"reply-{sent.id}")
    # Said beside the field, which is marked and takes the focus, as for a reply too long.
    assert field.get("aria-invalid") == "true" and "autofocus" in field.attrs
    assert field.get("aria-describedby") == f"reply-{sent.id}-error"
    assert page.one(id=f"reply-{sent.id}-error").text == "Type the reply text first."
    assert inbound(session) == []


def test_after_a_sandbox_reply_the_page_opens_on_the_field_replied_from(
    app, client, session, login, make_candidate
):
    """The reply led back to the top of the page: a keyboard user Tabbed through up to 100 rows
    again to reach the message they were on."""
    app.config["SANDBOX"] = True
    user = login("consultant")
    people = [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Alan", "Turing", "0412 345 679"),
    ]
    first, second = send_sms(app, session, user, people)

    response = client.post("/sandbox/reply", data={"message_id": str(first.id), "text": "Yes"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/sandbox?replied={first.id}#reply-{first.id}"
    page = html(client.get(response.headers["Location"].split("#")[0]))
    assert "autofocus" in page.one("input", id=f"reply-{first.id}").attrs
    assert "autofocus" not in page.one("input", id=f"reply-{second.id}").attrs
    assert [node.get("id") for node in page.iter() if "autofocus" in node.attrs] == [
        f"reply-{first.id}"
    ]
    assert "Reply from +61412345678 received." in page.text


@pytest.mark.parametrize("state", ["failed", "rejected", "undelivered"])
def test_a_message_that_never_reached_its_recipient_takes_no_sandbox_reply(
    app, client, session, login, make_candidate, state
):
    app.config["SANDBOX"] = True
    user = login("consultant")
    [sent] = send_sms(
        app, session, user, [make_candidate("Ada", "Lovelace", "0412 340 000")], dispatch=False
    )
    sent.state = state
    session.commit()

    page = html(client.get("/sandbox"))
    shown = [tr for tr in page.all("tr") if "0412 340 000" in tr.text]
    assert len(shown) == (0 if state == "rejected" else 1)  # a rejected one is not listed
    for row in shown:  # listed with what became of it, but no reply box
        assert "Not received: nothing to reply to" in row.text
        assert row.all("form") == []
    response = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": "STOP"})
    assert response.status_code == 409
    assert inbound(session) == []
    assert rows(session, Candidate)[0].sms_consent is True


def test_a_message_keeps_its_line_breaks_on_the_sandbox(
    app, client, session, login, make_candidate
):
    app.config["SANDBOX"] = True
    user = login("consultant")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    send_sms(app, session, user, [ada], body="Hi {{first_name}},\nyour shift is at 7.")

    shown = html(client.get("/sandbox")).all("span", class_="sms-text lines")

    # .lines (white-space: pre-line): the break showed as a space.
    assert ["Hi Ada,\nyour shift is at 7."] in [span.children for span in shown]


def test_a_message_an_sms_account_sent_through_the_sandbox_is_listed_and_takes_a_reply(
    app, client, session, login, make_candidate
):
    """A demo sends every SMS account's messages through the sandbox, stored under the account's
    gateway (`smscentral`): /sandbox left them out, and replying to one was a 404."""
    app.config["SANDBOX"] = True
    user = login("consultant")
    account = SmsAccount(name="Perth SMS", slug="perth-sms", provider="smscentral")
    session.add(account)
    session.commit()
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    batch = delivery.queue(session, user, [ada], provider="smscentral")
    session.execute(sa.update(Message).values(account_id=account.id))
    session.commit()
    delivery.dispatcher(
        app, Sandbox(), accounts_key=key_material(app.config), sandbox_delivery_after=timedelta(0)
    ).run(once=True)
    [sent] = delivery.messages(session, batch)
    assert (sent.provider, sent.provider_message_id) == ("smscentral", f"sandbox-{sent.uuid}")

    page = html(client.get("/sandbox"))
    assert page.one("input", id=f"reply-{sent.id}")

    response = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": "Yes"})

    assert response.status_code == 303
    [reply] = inbound(session)
    assert (reply.body, reply.in_reply_to_id, reply.account_id) == ("Yes", sent.id, account.id)


# --- a reply form posted twice -------------------------------------------------------------------


def sandbox_form(client, message_id: int) -> dict[str, str]:
    """The hidden values of the reply form for `message_id` on a freshly loaded /sandbox."""
    form = html(client.get("/sandbox")).one("input", id=f"reply-{message_id}").parent
    return {
        node.get("name"): node.get("value") or ""
        for node in form.all("input", type="hidden")
        if node.get("name") != "csrf_token"
    }


def unread_for(session, user) -> int:
    session.rollback()
    return inbox.unread_count(session, user.id)


def test_the_same_sandbox_reply_form_posted_twice_stores_one_reply(
    app, client, session, login, make_candidate
):
    """A double click (or a second Enter on a slow network) stored two replies, two emails, and
    counted two unread."""
    app.config["SANDBOX"] = True
    user = login("consultant")
    [sent] = send_sms(app, session, user, [make_candidate("Ada", "Lovelace", "0412 345 678")])
    data = sandbox_form(client, sent.id) | {"text": "Yes please"}
    assert len(data["token"]) == 32

    responses = [client.post("/sandbox/reply", data=data) for _ in range(2)]

    assert [r.status_code for r in responses] == [303, 303]
    [reply] = inbound(session)
    assert reply.provider_message_id == f"sandbox-in-{sent.id}-{data['token']}"
    assert len(rows(session, Email)) == 1
    assert unread_for(session, user) == 1
    # The page again has a fresh token: replying once more is another reply.
    again = sandbox_form(client, sent.id) | {"text": "Yes please"}
    assert again["token"] != data["token"]
    assert client.post("/sandbox/reply", data=again).status_code == 303
    assert len(inbound(session)) == 2


def test_a_sandbox_reply_form_sent_again_with_other_text_says_it_was_not_sent(
    app, client, session, login, make_candidate
):
    app.config["SANDBOX"] = True
    user = login("consultant")
    [sent] = send_sms(app, session, user, [make_candidate("Ada", "Lovelace", "0412 345 678")])
    data = sandbox_form(client, sent.id)
    assert client.post("/sandbox/reply", data=data | {"text": "Yes"}).status_code == 303

    response = client.post("/sandbox/reply", data=data | {"text": "No, STOP"})

    assert response.status_code == 409
    page = html(response)
    assert "this text was not sent" in page.one(id=f"reply-{sent.id}-error").text
    assert page.one("input", id=f"reply-{sent.id}").get("value") == "No, STOP"
    assert [r.body for r in inbound(session)] == ["Yes"]
    assert rows(session, Candidate)[0].sms_consent is True


def test_a_sandbox_reply_form_posted_twice_at_once_stores_one_reply(
    app, client, session, login, make_candidate, monkeypatch
):
    app.config["SANDBOX"] = True
    user = login("consultant")
    [sent] = send_sms(app, session, user, [make_candidate("Ada", "Lovelace", "0412 345 678")])
    data = sandbox_form(client, sent.id) | {"text": "Yes please"}
    looked_up = replies.match

    def slowly(*args, **kwargs):
        # Between the look-up of a stored reply and the insert: the other post comes now.
        time.sleep(0.5)
        return looked_up(*args, **kwargs)

    monkeypatch.setattr(replies, "match", slowly)
    other = app.test_client()  # the second click, on a connection of its own
    other.login(user.username)
    answers: list[int] = []

    def post(browser) -> None:
        answers.append(browser.post("/sandbox/reply", data=data).status_code)

    threads = [threading.Thread(target=post, args=(browser,)) for browser in (client, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert answers == [303, 303]
    assert len(inbound(session)) == 1
    assert len(rows(session, Email)) == 1
    assert unread_for(session, user) == 1
