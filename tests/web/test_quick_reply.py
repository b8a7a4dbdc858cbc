"""The Quick reply under a record's conversation, with plain POSTs (JavaScript off) and htmx: one
SMS through Send's own path (consent, country, merge fields, length, audit, a batch of one), once
per form, refused with the reason where it cannot go, and offered only to those who may send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.html_tree import html
from tests.pages import assert_invalid, text
from tests.replying import receive, rows
from webapp.models import AuditEvent, Batch, Message, Role

QUICK = "Hi {{first_name}}, can you start at 8?"
SENT_TEXT = "Hi Ada, can you start at 8?"


@pytest.fixture
def ada(make_candidate):
    return make_candidate("Ada", "Lovelace", "0412 345 678")


@pytest.fixture
def olive(make_candidate):
    """A candidate who has not ticked SMS."""
    return make_candidate("Olive", "Optout", "0412 345 681", sms_consent=False)


def record(client, person, kind: str = "candidates", **params):
    return client.get(f"/{kind}/{person.id}", query_string=params)


def quick_form(response):
    return html(response).one("form", id="quick-reply")


def token_of(response) -> str:
    return quick_form(response).one("input", name="reply_token").get("value")


def reply(
    client, person, message: str = QUICK, *, token: str, kind="candidates", htmx=False, **fields
):
    """Press Send reply on the form with `token` (a plain POST, or htmx's)."""
    data = {"message": message, "reply_token": token, **fields}
    return client.post(f"/{kind}/{person.id}/reply", data=data, htmx=htmx)


def refusal(response):
    """The refusal above the box after a post: an error that takes the focus (read as it lands)."""
    form = quick_form(response)
    notice = form.one("p", id="quick-reply-notice")
    assert notice.get("class") == "error" and notice.get("tabindex") == "-1", notice.attrs
    assert [node for node in form.iter() if "autofocus" in node.attrs] == [notice]
    return notice


def outbound(session) -> list[Message]:
    return rows(session, Message, Message.direction == "out")


def batches(session) -> list[Batch]:
    return rows(session, Batch)


def actions(session) -> list[str]:
    return [event.action for event in rows(session, AuditEvent)]


# --- who is offered the box ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consultant", "team-leader"])
def test_a_sender_gets_the_quick_reply_box_under_the_conversation(client, login, ada, role):
    login(role)
    response = record(client, ada)
    assert response.status_code == 200
    history = html(response).one("section", id="history")
    form = history.one("form", id="quick-reply")
    assert (form.get("action"), form.get("method")) == (f"/candidates/{ada.id}/reply", "post")
    assert form.get("hx-post") == f"/candidates/{ada.id}/reply"
    assert history.one("label", for_="quick-reply-message").text == "Quick reply"
    textarea = form.one("textarea", id="quick-reply-message")
    assert textarea.get("name") == "message"
    assert textarea.get("hx-post") == f"/candidates/{ada.id}/reply/counter"
    shown = [b.text for b in form.all("button") if "hidden" not in b.attrs]
    assert shown == ["Send reply"]
    counter = form.one("output", id="quick-reply-counter")
    assert counter.get("data-characters") == "0" and counter.get("data-encoding") == "GSM-7"
    assert len(token_of(response)) == 32
    # Under the thread: the thread comes first in the section.
    children = [node.get("id") for node in history.elements]
    assert children.index("conversation") < children.index("quick-reply")
    # Each page load is a new form, with a token of its own.
    assert token_of(record(client, ada)) != token_of(response)


def test_a_viewer_sees_the_conversation_but_no_quick_reply_and_cannot_post_one(
    client, login, session, ada
):
    login("viewer")
    history = html(record(client, ada)).one("section", id="history")
    assert history.one("h2").text == "Communications History"
    assert not history.all("form")
    assert "Quick reply" not in history.text
    assert reply(client, ada, token="a" * 32).status_code == 403
    counter = client.post(f"/candidates/{ada.id}/reply/counter", data={"message": "x"}, htmx=True)
    assert counter.status_code == 403
    assert outbound(session) == [] and batches(session) == []


# --- sending -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["candidates", "contacts"])
def test_without_javascript_a_quick_reply_sends_one_sms_and_shows_it_in_the_conversation(
    client, login, session, make_candidate, make_contact, kind
):
    casey = login("consultant", full_name="Casey Jones")
    person = (
        make_candidate("Ada", "Lovelace", "0412 345 678")
        if kind == "candidates"
        else make_contact("Ada", "Lovelace", "0412 345 678")
    )
    token = token_of(record(client, person, kind))

    response = reply(client, person, token=token, kind=kind)

    assert response.status_code == 303
    assert response.headers["Location"] == f"/{kind}/{person.id}"
    [batch] = batches(session)
    assert (batch.sender_id, batch.kind, batch.message_count) == (casey.id, kind, 1)
    assert batch.body == QUICK
    [message] = outbound(session)
    assert (message.to_e164, message.body, message.state) == ("+61412345678", SENT_TEXT, "queued")
    assert message.sender_id == casey.id and message.batch_id == batch.id
    assert actions(session) == ["sms.sent"]

    page = client.get(f"/{kind}/{person.id}")
    # Said in the form, focused (and so scrolled into view): at the top of the page, out of view,
    # nothing near the form said it went, and the focus was on the page's body.
    assert not html(page).all("ul", class_="flashes")
    [said] = quick_form(page).all("p", role="status")
    assert said.text.startswith("Reply to Ada Lovelace queued")
    assert (said.get("tabindex"), "autofocus" in said.attrs) == ("-1", True)
    assert "autofocus" not in quick_form(page).one("textarea").attrs
    # Said once: the next page has it no more.
    assert not quick_form(client.get(f"/{kind}/{person.id}")).all("p", role="status")
    item = html(page).one("li", id=f"message-{message.id}")
    assert "Sent by Casey Jones" in item.text
    assert SENT_TEXT in item.text
    assert item.one("a").get("href") == f"/sms/batches/{batch.id}"
    # A fresh form: empty, and a new token for the next reply.
    assert quick_form(page).one("textarea").text == ""
    assert token_of(page) != token


def test_a_double_submit_sends_one_sms(client, login, session, ada):
    login("consultant")
    token = token_of(record(client, ada))

    first = reply(client, ada, token=token)
    second = reply(client, ada, token=token)

    assert (first.status_code, second.status_code) == (303, 303)
    assert len(batches(session)) == 1
    assert len(outbound(session)) == 1
    assert actions(session) == ["sms.sent"]


def test_the_next_form_sends_the_next_sms(client, login, session, ada):
    login("consultant")
    reply(client, ada, "First", token=token_of(record(client, ada)))
    reply(client, ada, "Second", token=token_of(record(client, ada)))
    assert [m.body for m in outbound(session)] == ["First", "Second"]
    assert len(batches(session)) == 2


def test_a_sent_form_posted_again_with_other_text_is_refused_not_dropped(
    client, login, session, ada
):
    """Back to the page the reply was sent from, the text edited, Send reply: the new text is
    neither lost nor sent under the old form's token; pressing again sends it."""
    login("consultant")
    token = token_of(record(client, ada))
    reply(client, ada, "First", token=token)

    refused = reply(client, ada, "Second, edited", token=token)

    assert refused.status_code == 409
    page = text(refused)
    assert_invalid(page, "message", "has sent its reply already")
    assert quick_form(refused).one("textarea").text == "Second, edited"
    fresh = token_of(refused)
    assert fresh != token
    assert [m.body for m in outbound(session)] == ["First"]
    assert reply(client, ada, "Second, edited", token=fresh).status_code == 303
    assert [m.body for m in outbound(session)] == ["First", "Second, edited"]


def test_with_htmx_the_reply_swaps_the_history_with_the_sms_and_a_fresh_form(
    client, login, session, ada
):
    login("consultant", full_name="Casey Jones")
    token = token_of(record(client, ada))

    response = reply(client, ada, token=token, htmx=True)

    assert response.status_code == 200
    doc = html(response)
    assert [(n.tag, n.get("id")) for n in doc.elements] == [("section", "history")]
    [message] = outbound(session)
    assert "Sent by Casey Jones" in doc.one("li", id=f"message-{message.id}").text
    form = doc.one("form", id="quick-reply")
    assert form.one("p", role="status").text.startswith("Reply to Ada Lovelace queued")
    textarea = form.one("textarea")
    assert textarea.text == "" and "autofocus" in textarea.attrs
    assert token_of(response) != token
    # The thread refreshes itself while the SMS is on its way.
    polling = doc.one("div", id="conversation")
    assert polling.get("hx-get") == f"/candidates/{ada.id}?tab=all&part=thread"
    assert polling.get("hx-trigger") == "every 3s"


@pytest.mark.parametrize("htmx", [False, True], ids=["nojs", "htmx"])
def test_a_reply_sent_from_a_history_tab_comes_back_on_that_tab(client, login, session, ada, htmx):
    login("consultant")
    token = token_of(record(client, ada, tab="sent"))

    response = reply(client, ada, token=token, htmx=htmx, tab="sent")

    if not htmx:
        assert response.status_code == 303
        assert response.headers["Location"] == f"/candidates/{ada.id}?tab=sent"
        response = client.get(response.headers["Location"])
    tabs = html(response).one("nav", aria_label="Communications History")
    assert tabs.one("a", aria_current="page").text.startswith("Sent")
    assert len(outbound(session)) == 1


def test_the_counter_counts_the_message_as_the_person_gets_it(client, login, ada):
    login("consultant")
    response = client.post(
        f"/candidates/{ada.id}/reply/counter", data={"message": "Hi {{first_name}} €"}, htmx=True
    )
    assert response.status_code == 200
    [counter] = html(response).elements
    assert counter.get("id") == "quick-reply-counter"
    # "Hi Ada €": 8 characters, the € costing two septets.
    assert (counter.get("data-characters"), counter.get("data-segments")) == ("8", "1")
    assert counter.get("data-encoding") == "GSM-7"
    # Without JavaScript nothing asks for it: a stray post goes back to the record.
    plain = client.post(f"/candidates/{ada.id}/reply/counter", data={"message": "Hi"})
    assert plain.status_code == 303


@pytest.mark.parametrize(
    "message, said",
    [("", "0 characters · 0 SMS parts · GSM-7"), ("A", "1 character · 1 SMS · GSM-7")],
)
def test_the_counter_says_one_character_not_one_characters(client, login, ada, message, said):
    login("consultant")
    response = client.post(
        f"/candidates/{ada.id}/reply/counter", data={"message": message}, htmx=True
    )
    assert html(response).one("output", id="quick-reply-counter").text.strip() == said


@pytest.mark.parametrize(
    "message, problem",
    [
        ("   ", "Type a reply."),  # not "or pick a template": the box has no picker
        ("\u200b\u200b", "Type a reply."),  # an SMS that arrives looking empty
        ("\ufeff", "Type a reply."),
        # Not "Use “Insert merge field”": the box has no picker.
        (
            "Hi {{frist_name}}",
            "Unknown merge field(s): {{frist_name}}. Correct the name (merge fields are like "
            "{{first_name}}), or write \\{{ for literal braces.",
        ),
        # Sent as "Hi {Ada}" before, with no word.
        ("Hi {{{first_name}}}", "Unfinished merge field(s): {{{first_name}}}."),
        ("x" * 1601, "the gateway takes at most 1,600"),
        # No preview shows the gap: sent as "Hi " before.
        ("Hi {{client_name}}", "{{client_name}} is empty for Ada Lovelace"),  # a contact's field
        ("In {{location}} at {{job_title}}?", "{{location}}, {{job_title}} are empty for Ada"),
        ("Call {{sender_mobile}}", "{{sender_mobile}} is empty on your Profile"),  # the sender's
    ],
    ids=[
        "empty",
        "zero-width",
        "byte-order-mark",
        "unknown-merge-field",
        "brace-too-many",
        "too-long",
        "empty-merge-field",
        "two-empty-merge-fields",
        "senders-empty-merge-field",
    ],
)
def test_a_message_that_cannot_go_is_refused_beside_the_field_and_kept(
    client, login, session, ada, message, problem
):
    login("consultant")
    response = reply(client, ada, message, token=token_of(record(client, ada)))
    assert response.status_code == 400
    assert_invalid(text(response), "message", problem)
    assert quick_form(response).one("textarea").text == message.strip()
    assert outbound(session) == [] and actions(session) == []


def test_a_token_that_is_not_this_forms_is_refused(client, login, session, ada, make_candidate):
    login("consultant")
    bob = make_candidate("Bob", "Brown", "0400 111 222")
    token = token_of(record(client, ada))
    reply(client, ada, "For Ada", token=token)

    assert reply(client, bob, "For Bob", token=token).status_code == 409
    assert reply(client, ada, token="not-a-token").status_code == 400
    assert [m.to_e164 for m in outbound(session)] == ["+61412345678"]


def test_another_users_token_sends_nothing(client, login, session, ada):
    login("consultant")
    token = token_of(record(client, ada))
    reply(client, ada, "Mine", token=token)
    client.post("/logout")
    login("consultant")  # a second consultant, with the first one's form
    assert reply(client, ada, "Mine", token=token).status_code == 409
    assert len(outbound(session)) == 1


# --- who cannot get it ---------------------------------------------------------------------------


def test_a_consultant_is_told_why_an_opted_out_person_cannot_get_it_and_is_refused(
    client, login, session, olive
):
    login("consultant")
    page = record(client, olive)
    form = quick_form(page)
    assert "Olive Optout has opted out of SMS" in form.one("p", id="quick-reply-notice").text
    assert "Only a user allowed to ignore opt-outs" in form.text
    assert not form.all("textarea") and not form.all("input", name="ignore_reason")

    refused = reply(client, olive, token=token_of(page))
    assert refused.status_code == 400
    alert = refusal(refused)
    assert "Olive Optout has opted out of SMS (SMS is not ticked in their Privacy)" in alert.text
    # A reason posted by someone who may not ignore opt-outs: 403, nothing sent.
    forged = reply(client, olive, token=token_of(page), ignore_reason="They asked me to")
    assert forged.status_code == 403
    assert outbound(session) == [] and batches(session) == []


def test_a_team_leader_sends_to_an_opted_out_person_only_with_a_reason(
    client, login, session, olive
):
    lead = login("team-leader")
    page = record(client, olive)
    form = quick_form(page)
    assert "To send anyway, give a reason for ignoring opt-outs" in form.text
    assert html(page).one("label", for_="quick-reply-reason").text == (
        "Reason for ignoring opt-outs"
    )
    token = token_of(page)

    for blank in ("", "\u200b"):  # a zero-width space alone is no reason either
        without = reply(client, olive, token=token, ignore_reason=blank)
        assert without.status_code == 400
        assert_invalid(text(without), "ignore_reason", "Type the reason for ignoring the opt-out.")
    assert outbound(session) == []

    sent = reply(client, olive, token=token, ignore_reason="Asked by phone to text the roster")
    assert sent.status_code == 303
    [message] = outbound(session)
    assert message.override_opt_out is True
    [event] = rows(session, AuditEvent, AuditEvent.action == "sms.ignore_opt_out")
    assert event.actor_id == lead.id
    assert event.details["reason"] == "Asked by phone to text the roster"
    assert event.details["people"] == [[olive.id, "+61412345681"]]


def test_enter_in_the_reason_without_javascript_sends_nothing_and_keeps_the_form(
    client, login, session, olive
):
    """Enter in the reason pressed the form's first button, Send reply: the SMS went past the
    opt-out at once. The form's first button is now a hidden one that sends nothing."""
    login("team-leader")
    page = record(client, olive)
    [first, *_] = quick_form(page).all("button")
    assert (first.get("name"), first.get("value"), "hidden" in first.attrs) == (
        "action",
        "enter",
        True,
    )

    reason = "They asked by phone"
    entered = reply(
        client,
        olive,
        "Are you still looking?",
        token=token_of(page),
        ignore_reason=reason,
        action="enter",
    )
    assert entered.status_code == 200
    assert outbound(session) == [] and batches(session) == []
    assert "sms.ignore_opt_out" not in actions(session)
    form = quick_form(entered)
    held = form.one("p", id="quick-reply-held")
    assert held.text == "Nothing sent: Enter sends nothing here. Press Send reply to send."
    assert [node for node in form.iter() if "autofocus" in node.attrs] == [held]
    assert form.one("textarea", name="message").text.strip() == "Are you still looking?"
    assert form.one("input", name="ignore_reason").get("value") == reason

    sent = reply(
        client, olive, "Are you still looking?", token=token_of(entered), ignore_reason=reason
    )
    assert sent.status_code == 303
    assert len(outbound(session)) == 1


@pytest.mark.parametrize(
    "mobile, reason",
    [
        (None, "has no mobile number"),
        ("0412 345", "is not a valid number"),
        ("+7 701 123 4567", "which the SMS gateway will not serve"),
    ],
    ids=["no-mobile", "invalid", "blocked-country"],
)
def test_a_person_the_sms_cannot_reach_is_told_why_and_refused(
    client, login, session, make_candidate, mobile, reason
):
    login("team-leader")
    kaz = make_candidate("Kaz", "Nowhere", mobile)
    page = record(client, kaz)
    form = quick_form(page)
    assert reason in form.one("p", id="quick-reply-notice").text
    assert not form.all("textarea")
    refused = reply(client, kaz, token=token_of(page), ignore_reason="Even so")
    assert refused.status_code == 400
    assert reason in refusal(refused).text
    assert outbound(session) == []


def test_the_blocked_country_is_named(client, login, make_candidate):
    login("consultant")
    kaz = make_candidate("Kaz", "Blocked", "+7 701 123 4567")
    notice = quick_form(record(client, kaz)).one("p", id="quick-reply-notice").text
    assert "Kaz Blocked's mobile number is in Kazakhstan" in notice


def test_a_quick_reply_is_checked_again_when_sent(client, login, session, ada):
    """Opted out between the page and the press: refused, and the typed text kept."""
    login("consultant")
    token = token_of(record(client, ada))
    ada.sms_consent = False
    session.commit()
    refused = reply(client, ada, "Still there?", token=token)
    assert refused.status_code == 400
    assert quick_form(refused).one("textarea").text == "Still there?"
    assert outbound(session) == []


@pytest.mark.parametrize("htmx", [False, True], ids=["nojs", "htmx"])
def test_an_opt_out_while_a_leader_types_is_said_once_and_the_reason_field_asks_for_the_reason(
    app, client, login, session, ada, htmx
):
    """STOP between the page and the press: why above the box, what to do beside the new field."""
    login("team-leader")
    token = token_of(record(client, ada))
    receive(app, session, "STOP", from_number="61412345678")

    refused = reply(client, ada, "Still there?", token=token, htmx=htmx)

    assert refused.status_code == 400
    page, form = text(refused), quick_form(refused)
    said = "Ada Lovelace has opted out of SMS (they opted out themselves)."
    assert page.count(said) == 1  # not again as the field's error
    notice = form.one("p", id="quick-reply-notice")
    assert said in notice.text and "give a reason for ignoring opt-outs" in notice.text
    assert_invalid(page, "ignore_reason", "Type the reason for ignoring the opt-out.")
    reason = form.one("input", name="ignore_reason")
    assert "autofocus" in reason.attrs
    textarea = form.one("textarea")
    assert textarea.text == "Still there?" and "autofocus" not in textarea.attrs
    assert outbound(session) == []


def take_ignore_from(session, role_name: str) -> None:
    """An administrator unticks Ignore opt-outs for `role_name` on the roles page."""
    role = session.scalar(sa.select(Role).where(Role.name == role_name))
    role.permissions = [p for p in role.permissions if p.name != "sms.ignore_opt_out"]
    session.commit()


@pytest.mark.parametrize("htmx", [False, True], ids=["nojs", "htmx"])
def test_a_leader_who_loses_ignore_while_the_form_is_open_gets_it_back_without_it(
    client, login, session, olive, htmx
):
    """403 with the form as they may now use it: said why, focused, their text kept."""
    login("team-leader")
    page = record(client, olive)
    assert quick_form(page).all("input", name="ignore_reason")
    take_ignore_from(session, "team-leader")

    refused = reply(
        client,
        olive,
        "Your payslip is ready.",
        token=token_of(page),
        htmx=htmx,
        ignore_reason="Asked by phone",
    )

    assert refused.status_code == 403
    if htmx:
        assert [(n.tag, n.get("id")) for n in html(refused).elements] == [("section", "history")]
    notice = refusal(refused)
    assert notice.text == (
        "Your reply was not sent: you may no longer ignore SMS opt-outs. Olive Optout has opted "
        "out of SMS (SMS is not ticked in their Privacy), so only a user allowed to ignore "
        "opt-outs can send to them. Your text is kept below."
    )
    form = quick_form(refused)
    assert form.all("input", name="ignore_reason") == []  # as for a user who may not Ignore
    assert form.one("textarea").text == "Your payslip is ready."
    assert outbound(session) == [] and batches(session) == []


def test_a_quick_reply_post_without_the_csrf_token_is_refused(client, login, session, ada):
    login("consultant")
    token = token_of(record(client, ada))
    response = client.post(
        f"/candidates/{ada.id}/reply", data={"message": "Hi", "reply_token": token}, csrf=False
    )
    assert response.status_code == 400
    assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


# --- held for quiet hours ------------------------------------------------------------------------


def quiet_now_in_sydney() -> str:
    """A QUIET_HOURS window around this moment in Sydney (Ada's number), whenever the test runs."""
    hour = datetime.now(ZoneInfo("Australia/Sydney")).hour
    return f"{(hour - 1) % 24:02d}:00-{(hour + 2) % 24:02d}:00"


@pytest.mark.parametrize("app_settings", [{"QUIET_HOURS": quiet_now_in_sydney()}])
def test_a_reply_held_for_quiet_hours_says_so_and_the_thread_does_not_poll(
    client, login, session, ada, app_settings
):
    """It read "Sent …, queued" and refreshed the thread every 3 s all night."""
    login("consultant")
    token = token_of(record(client, ada))

    response = reply(client, ada, token=token, htmx=True)

    assert response.status_code == 200
    [message] = outbound(session)
    assert message.state == "queued" and message.quiet_until is not None
    doc = html(response)
    said = doc.one("form", id="quick-reply").one("p", role="status").text
    assert said.startswith("Reply to Ada Lovelace queued: it waits for their quiet hours, until ")
    item = doc.one("li", id=f"message-{message.id}")
    assert "waiting for quiet hours, until" in item.one("span", class_="quiet-until").text
    assert "hx-trigger" not in doc.one("div", id="conversation").attrs
    # Without JavaScript the form says it too.
    page = reply(client, ada, "Another", token=token_of(record(client, ada)))
    assert (
        "waits for their quiet hours"
        in quick_form(client.get(page.headers["Location"])).one("p", role="status").text
    )


def test_a_reply_no_longer_held_polls_again(client, login, session, ada):
    """A hold that has ended is no reason to stop: the worker is about to send it."""
    login("consultant")
    reply(client, ada, token=token_of(record(client, ada)))
    [message] = outbound(session)
    message.quiet_until = datetime.now(UTC) - timedelta(minutes=1)
    session.commit()

    doc = html(record(client, ada))

    assert doc.one("div", id="conversation").get("hx-trigger") == "every 3s"
    assert not doc.one("li", id=f"message-{message.id}").all("span", class_="quiet-until")
