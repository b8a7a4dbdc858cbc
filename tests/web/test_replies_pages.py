"""Replies on the pages: the Communications History tabs (full page and htmx fragment), the
unmatched-reply inbox and its permission gate, filing a reply on a record, and the sandbox's reply
form going through the same pipeline as a gateway's push."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.html_tree import html
from tests.pages import candidate_form, fresh
from tests.replying import audits, inbound, receive, rows, send_sms
from webapp.models import AuditEvent, Candidate, ClientContact, Message
from webapp.people import records
from webapp.sms.replies import UNMATCHED_PAGE_SIZE

ADA_MOBILE = "0412 345 678"


@pytest.fixture
def ada(make_candidate):
    return make_candidate("Ada", "Lovelace", ADA_MOBILE)


def history_of(response):
    return html(response).one("section", id="history")


# --- Communications History ----------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx-fragment"])
def test_received_tab_shows_the_reply_linked_to_the_message_it_answers(
    app, client, session, login, casey, ada, make_candidate, htmx
):
    login("consultant")
    bob = make_candidate("Bob", "Brown", "0400 111 222")
    [sent] = send_sms(app, session, casey, [ada], body="Hi {{first_name}}, free on Monday?")
    reply = receive(app, session, "Yes, Monday works", reference=sent.uuid)

    response = client.get(f"/candidates/{ada.id}?tab=received", htmx=htmx)

    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    doc = html(response)
    if htmx:
        assert [(n.tag, n.get("id")) for n in doc.elements] == [("section", "history")]
    else:
        assert doc.all("html") and doc.all("h1")[0].text == "Ada Lovelace"
    history = doc.one("section", id="history")
    tabs = {a.text: a for a in history.one("nav").all("a")}
    assert tabs["Received"].get("aria-current") == "page"
    item = history.one("li", id=f"message-{reply.id}")
    assert "Yes, Monday works" in item.text
    assert item.one("span", title="+61412345678").text == "0412 345 678"
    link = item.one("a")
    assert link.get("href") == f"/candidates/{ada.id}?tab=sent#message-{sent.id}"
    assert "Hi Ada, free on Monday?" in link.text
    assert "Hi Ada, free on Monday?" not in history.text.replace(link.text, "")

    other = history_of(client.get(f"/candidates/{bob.id}?tab=received"))
    assert "Yes, Monday works" not in other.text
    assert "No replies received" in other.text


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx-fragment"])
def test_sent_tab_shows_the_reply_under_the_message_it_answers(
    app, client, session, login, casey, ada, htmx
):
    login("consultant")
    [first] = send_sms(app, session, casey, [ada], body="Hi {{first_name}}, free on Monday?")
    [second] = send_sms(app, session, casey, [ada], body="Hi {{first_name}}, and on Friday?")
    receive(app, session, "Monday yes", reference=first.uuid)

    response = client.get(f"/candidates/{ada.id}?tab=sent", htmx=htmx)

    assert response.status_code == 200
    history = history_of(response)
    answered = history.one("li", id=f"message-{first.id}")
    unanswered = history.one("li", id=f"message-{second.id}")
    assert "Hi Ada, free on Monday?" in answered.text
    assert "Monday yes" in answered.text
    assert "Hi Ada, and on Friday?" in unanswered.text
    assert "Monday yes" not in unanswered.text
    # A reply sits after the message it answers.
    assert answered.text.index("Hi Ada, free on Monday?") < answered.text.index("Monday yes")


# --- the unmatched inbox -------------------------------------------------------------------------


def test_unmatched_inbox_lists_unmatched_replies_for_a_team_leader(
    app, client, session, login, casey, ada
):
    login("team-leader")
    [sent] = send_sms(app, session, casey, [ada])
    receive(app, session, "Matched reply", reference=sent.uuid)
    stray = receive(app, session, "Who is this?", from_number="61499888777")

    response = client.get("/replies/unmatched")

    assert response.status_code == 200
    doc = html(response)
    rows_shown = doc.one("tbody").all("tr")
    assert len(rows_shown) == 1
    assert "Who is this?" in rows_shown[0].text
    assert rows_shown[0].one("span", title="+61499888777").text == "0499 888 777"
    assert "Matched reply" not in doc.text
    form = rows_shown[0].one("form")
    assert form.get("action") == f"/replies/{stray.id}/attach"
    assert form.get("method") == "post"
    nav = doc.one("nav", aria_label="Main")
    assert [a.get("href") for a in nav.all("a") if a.text == "Unmatched replies"] == [
        "/replies/unmatched"
    ]


def test_each_unmatched_replys_controls_are_named_for_that_reply(app, client, session, login):
    """Every row's Attach, Record type and Record id were named alike: a screen reader's list of
    buttons read "Attach, Attach, Attach" and the table had no caption."""
    login("team-leader")
    strays = [
        receive(app, session, "Who is this?", from_number="61499888777"),
        receive(app, session, "Wrong number?", from_number="61499111222"),
    ]

    doc = html(client.get("/replies/unmatched"))

    assert doc.one("table").one("caption").text == "Unmatched replies, newest first"
    names = {}
    for stray, number in zip(strays, ["0499 888 777", "0499 111 222"], strict=True):
        form = doc.one("form", action=f"/replies/{stray.id}/attach")
        button = form.one("button").text
        kind = form.one("label", for_=f"kind-{stray.id}").text
        record_id = form.one("label", for_=f"person-{stray.id}").text
        assert button.startswith(f"Attach for the reply from {number}, "), button
        # The labels name the same reply as the button does.
        assert kind == button.replace("Attach", "Record type", 1)
        assert record_id == button.replace("Attach", "Record id", 1)
        names[stray.id] = button
    assert len(set(names.values())) == 2


def test_unmatched_inbox_is_forbidden_to_a_consultant_and_absent_from_their_navigation(
    app, client, session, login, ada
):
    login("consultant")
    stray = receive(app, session, "Who is this?", from_number="61499888777")

    assert client.get("/replies/unmatched").status_code == 403
    attach = client.post(
        f"/replies/{stray.id}/attach", data={"kind": "candidates", "person_id": str(ada.id)}
    )
    assert attach.status_code == 403
    assert rows(session, Message, Message.id == stray.id)[0].candidate_id is None
    assert audits(session, "reply.attached") == []

    page = html(client.get("/candidates"))
    nav = page.one("nav", aria_label="Main")
    assert "Unmatched replies" not in nav.text
    assert not page.all("a", href="/replies/unmatched")


def test_every_unmatched_reply_is_reachable_a_page_at_a_time(app, client, session, login):
    """The page once stopped at 200 with no word of more: the oldest were out of reach."""
    login("team-leader")
    for n in range(UNMATCHED_PAGE_SIZE + 5):
        receive(app, session, f"Stray {n}", from_number=f"614998{n:05d}")

    first = html(client.get("/replies/unmatched"))

    shown = [row.all("td")[2].text for row in first.one("tbody").all("tr")]
    assert shown == [f"Stray {n}" for n in range(UNMATCHED_PAGE_SIZE + 4, 4, -1)]
    assert f"{UNMATCHED_PAGE_SIZE + 5} unmatched, newest first; page 1." in first.text
    older = first.one("nav", aria_label="Pages").one("a", rel="next")
    assert older.get("href") == "/replies/unmatched?page=2"
    # A plain link: the page has no #results block for htmx to swap the next page into.
    assert not [name for name in older.attrs if name.startswith("hx-")]
    second = html(client.get(older.get("href")))
    shown = [row.all("td")[2].text for row in second.one("tbody").all("tr")]
    assert shown == [f"Stray {n}" for n in range(4, -1, -1)]
    assert second.one("nav", aria_label="Pages").one("a", rel="prev").get("href") == (
        "/replies/unmatched"
    )
    assert client.get("/replies/unmatched?page=x").status_code == 400


def test_a_refused_filing_keeps_what_was_typed_with_the_focus_in_it(app, client, session, login):
    login("team-leader")
    stray = receive(app, session, "Who is this?", from_number="61499888777")

    response = client.post(
        f"/replies/{stray.id}/attach", data={"kind": "contacts", "person_id": "12x"}
    )

    assert response.status_code == 400
    row = html(response).one("tbody").one("tr")
    box = row.one("input", id=f"person-{stray.id}")
    assert box.get("value") == "12x" and "autofocus" in box.attrs
    assert box.get("aria-invalid") == "true"
    chosen = [o.get("value") for o in row.one("select").all("option") if "selected" in o.attrs]
    assert chosen == ["contacts"]
    assert "give the id of an existing record" in row.one("span", class_="error").text


def test_a_refused_filing_shows_the_page_the_reply_is_on_now(app, client, session, login):
    """Newer replies push a reply onto a later page: the refusal is shown where it is now."""
    login("team-leader")
    stray = receive(app, session, "Who is this?", from_number="61499888777")
    for n in range(UNMATCHED_PAGE_SIZE):
        receive(app, session, f"Newer {n}", from_number=f"614998{n:05d}")

    response = client.post(
        f"/replies/{stray.id}/attach", data={"kind": "contacts", "person_id": "x"}
    )

    assert response.status_code == 400
    page = html(response)
    assert "page 2." in page.text
    assert page.one("input", id=f"person-{stray.id}").get("value") == "x"


# --- filing a reply on a record ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, person_id",
    [
        ("candidates", ""),
        ("candidates", "abc"),
        ("candidates", "999999"),
        ("contacts", "{ada}"),
        ("aliens", "{ada}"),
        ("candidates", "-1"),
    ],
    ids=["empty", "not-a-number", "no-such-candidate", "ada-is-no-contact", "bad-kind", "negative"],
)
def test_attaching_with_a_bad_record_is_a_400_with_a_message_and_files_nothing(
    app, client, session, login, ada, kind, person_id
):
    login("team-leader")
    stray = receive(app, session, "Who is this?", from_number="61499888777")

    response = client.post(
        f"/replies/{stray.id}/attach",
        data={"kind": kind, "person_id": person_id.format(ada=ada.id)},
    )

    assert response.status_code == 400
    doc = html(response)
    error = doc.one("span", id=f"attach-error-{stray.id}")
    assert "existing record" in error.text
    assert doc.one("input", id=f"person-{stray.id}").get("aria-invalid") == "true"
    reply = rows(session, Message, Message.id == stray.id)[0]
    assert (reply.candidate_id, reply.contact_id) == (None, None)
    assert audits(session, "reply.attached") == []


def test_attaching_what_is_no_reply_is_a_404(app, client, session, login, casey, ada):
    login("team-leader")
    [sent] = send_sms(app, session, casey, [ada])

    for message_id in (sent.id, 987654):
        response = client.post(
            f"/replies/{message_id}/attach", data={"kind": "candidates", "person_id": str(ada.id)}
        )
        assert response.status_code == 404
    assert audits(session, "reply.attached") == []


def test_a_reply_filed_already_leads_to_the_record_it_is_on_and_is_not_filed_again(
    app, client, session, login, make_candidate, ada
):
    """The same unmatched reply filed from a second tab: a bare 404 said there was no such
    reply."""
    login("team-leader")
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    stray = receive(app, session, "It's me, new number", from_number="61499888777")
    form = {"kind": "candidates", "person_id": str(ada.id)}
    assert client.post(f"/replies/{stray.id}/attach", data=form).status_code == 303

    again = client.post(
        f"/replies/{stray.id}/attach", data={"kind": "candidates", "person_id": str(bob.id)}
    )

    assert again.status_code == 303
    assert again.headers["Location"] == f"/candidates/{ada.id}?tab=received"
    flashes = html(client.get(again.headers["Location"])).one("ul", class_="flashes").text
    assert "filed already, on Ada Lovelace's record" in flashes
    assert rows(session, Message, Message.id == stray.id)[0].candidate_id == ada.id
    assert len(audits(session, "reply.attached")) == 1


@pytest.mark.parametrize("kind", ["candidates", "contacts"])
def test_attaching_a_reply_redirects_to_the_record_where_it_now_appears(
    app, client, session, login, make_candidate, make_contact, kind
):
    lead = login("team-leader")
    person = (
        make_candidate("Ada", "Lovelace", ADA_MOBILE)
        if kind == "candidates"
        else make_contact("Grace", "Hopper", "0413 222 333")
    )
    stray = receive(app, session, "It's me, new number", from_number="61499888777")

    response = client.post(
        f"/replies/{stray.id}/attach", data={"kind": kind, "person_id": str(person.id)}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == f"/{kind}/{person.id}?tab=received"
    page = client.get(response.headers["Location"])
    history = history_of(page)
    assert "It's me, new number" in history.one("li", id=f"message-{stray.id}").text
    flashes = html(page).one("ul", class_="flashes").text
    assert "filed on" in flashes
    assert (
        "Nobody has sent them an SMS, so it is in no one's Replies: it is marked read." in flashes
    )
    assert "It's me, new number" not in html(client.get("/replies/unmatched")).text
    [event] = audits(session, "reply.attached")
    assert event.actor_id == lead.id
    assert event.subject_id == person.id


def test_filing_a_reply_says_it_is_in_the_replies_of_whoever_texted_the_person_last(
    app, client, session, login, ada, casey
):
    send_sms(app, session, casey, [ada])
    stray = receive(app, session, "It's me, new number", from_number="61499888777")
    login("team-leader")

    flashes = filed(client, stray, ada)

    assert "Casey Jones sent them the latest SMS, so it is in their Replies, unread." in flashes
    assert rows(session, Message, Message.id == stray.id)[0].sender_id == casey.id


def test_an_unmatched_reply_keeps_its_line_breaks(app, client, session, login):
    login("team-leader")
    receive(app, session, "line one\nline two", from_number="61499888777")

    row = html(client.get("/replies/unmatched")).one("tbody").one("tr")

    assert row.one("span", class_="lines").children == ["line one\nline two"]


def filed(client, reply, person) -> str:
    """File `reply` on the candidate `person` from Unmatched replies, as the form does; the flashes
    their record then shows."""
    response = client.post(
        f"/replies/{reply.id}/attach", data={"kind": "candidates", "person_id": person.id}
    )
    assert response.status_code == 303, response.data
    return html(client.get(response.headers["Location"])).one("ul", class_="flashes").text


def test_a_stop_filed_on_a_record_unticks_sms_as_the_persons_own_opt_out(
    app, client, session, login, ada
):
    lead = login("team-leader")
    stop = receive(app, session, "Stop\u00a0!", from_number="61499888777")  # a phone of theirs

    flashes = filed(client, stop, ada)

    assert fresh(session, Candidate, ada.id).sms_consent is False
    [event] = audits(session, "consent.sms_withdrawn")
    assert (event.actor_id, event.subject_id) == (lead.id, ada.id)
    assert (event.details["source"], event.details["reply_id"]) == ("reply", stop.id)
    assert "SMS box is unticked, as their own opt-out" in flashes
    # Their own: ticking SMS again on the record asks why (as for a STOP from their number).
    privacy = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    assert "stop" in privacy.text.lower()


def test_a_stop_older_than_the_last_change_of_sms_leaves_it_as_it_is(
    app, client, session, login, ada
):
    # A STOP left in Unmatched replies for weeks, filed after the person ticked SMS again: their
    # later word stands.
    login("team-leader")
    stop = receive(app, session, "STOP", from_number="61499888777")
    stop = session.get(Message, stop.id)
    stop.created_at = stop.created_at - timedelta(days=30)
    session.add(
        AuditEvent(
            actor_id=None,
            action="consent.sms_given",
            subject_type="candidate",
            subject_id=ada.id,
            details={"changes": {"sms_consent": [False, True]}, "source": "reply"},
        )
    )
    session.commit()

    flashes = filed(client, stop, ada)

    assert fresh(session, Candidate, ada.id).sms_consent is True
    assert audits(session, "consent.sms_withdrawn") == []
    assert "was changed after it came: it is left as it is" in flashes


def test_a_stop_filed_on_a_record_added_after_it_came_unticks_sms(app, client, session, login):
    # The record's creation ticked SMS as it does for everyone: nobody changed the box since the
    # STOP came, so it is still the person's own opt-out.
    login("team-leader")
    stop = receive(app, session, "STOP", from_number="61412345678")
    added = client.post("/candidates/new", data=candidate_form(mobile="0412 345 678"))
    assert added.status_code == 302
    person = session.scalars(sa.select(Candidate).where(Candidate.first_name == "Zoë")).one()
    assert person.sms_consent is True
    assert [e.subject_id for e in audits(session, "person.created")] == [person.id]

    flashes = filed(client, stop, person)

    assert fresh(session, Candidate, person.id).sms_consent is False
    assert "SMS box is unticked, as their own opt-out" in flashes


def test_a_stop_filed_on_someone_already_unticked_says_nothing_changed(
    app, client, session, login, make_candidate
):
    login("team-leader")
    person = make_candidate("Bo", "Off", "0412 000 222", sms_consent=False)
    stop = receive(app, session, "STOP", from_number="61499888777")

    flashes = filed(client, stop, person)

    # The box stays as it was, but the STOP is their own word now (as a matched one is), so
    # ticking SMS again needs the authority to override it.
    [withdrawn] = audits(session, "consent.sms_withdrawn")
    assert withdrawn.details["changes"] == {"sms_consent": [False, False]}
    assert withdrawn.details["reply_id"] == stop.id
    assert records.self_withdrawal(session, fresh(session, Candidate, person.id)) is not None
    assert "It says STOP" not in flashes and "filed on Bo Off" in flashes


def test_a_start_filed_on_a_record_leaves_sms_unticked_and_says_so(
    app, client, session, login, make_candidate
):
    login("team-leader")
    person = make_candidate("Bo", "Unticked", "0412 000 111", sms_consent=False)
    start = receive(app, session, "START", from_number="61499888777")

    flashes = filed(client, start, person)

    assert fresh(session, Candidate, person.id).sms_consent is False
    assert audits(session, "consent.sms_given") == []
    assert "It says START" in flashes and "stays unticked" in flashes


# --- the sandbox's reply form --------------------------------------------------------------------


@pytest.fixture
def sandbox(app):
    """/sandbox is there only when asked for (SANDBOX=1, or a demo)."""
    app.config["SANDBOX"] = True


@pytest.mark.parametrize("kind", ["candidates", "contacts"])
def test_a_sandbox_reply_becomes_a_received_communication_on_the_right_record(
    app, client, session, login, make_candidate, make_contact, kind, sandbox
):
    consultant = login("consultant")
    if kind == "candidates":
        person = make_candidate("Ada", "Lovelace", ADA_MOBILE)
        bystander = make_candidate("Bob", "Brown", "0400 111 222")
    else:
        person = make_contact("Grace", "Hopper", "0413 222 333")
        bystander = make_contact("Hal", "Abelson", "0400 111 222")
    sent, _other = send_sms(app, session, consultant, [person, bystander], kind=kind)
    assert f'value="{sent.id}"' in client.get("/sandbox").get_data(as_text=True)

    response = client.post(
        "/sandbox/reply", data={"message_id": str(sent.id), "text": "Yes please"}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == f"/sandbox?replied={sent.id}#reply-{sent.id}"
    [reply] = inbound(session)
    assert reply.provider == "sandbox"
    assert reply.in_reply_to_id == sent.id
    assert reply.sender_id == consultant.id
    assert (reply.candidate_id if kind == "candidates" else reply.contact_id) == person.id
    history = history_of(client.get(f"/{kind}/{person.id}?tab=received"))
    item = history.one("li", id=f"message-{reply.id}")
    assert "Yes please" in item.text
    assert item.one("a").get("href") == f"/{kind}/{person.id}?tab=sent#message-{sent.id}"
    assert "Yes please" not in history_of(client.get(f"/{kind}/{bystander.id}?tab=received")).text


def test_a_stop_from_the_sandbox_unticks_sms_consent(
    app, client, session, login, ada, make_contact, sandbox
):
    consultant = login("consultant")
    grace = make_contact("Grace", "Hopper", ADA_MOBILE)  # shares Ada's phone
    [sent] = send_sms(app, session, consultant, [ada])

    response = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": " Stop. "})

    assert response.status_code == 303
    assert rows(session, Candidate, Candidate.id == ada.id)[0].sms_consent is False
    assert rows(session, ClientContact, ClientContact.id == grace.id)[0].sms_consent is False
    [reply] = inbound(session)
    withdrawn = audits(session, "consent.sms_withdrawn")
    assert len(withdrawn) == 2
    assert {e.details["reply_id"] for e in withdrawn} == {reply.id}


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_sandbox_reply_is_refused_with_a_message(
    app, client, session, login, ada, text, sandbox
):
    consultant = login("consultant")
    [sent] = send_sms(app, session, consultant, [ada])

    response = client.post("/sandbox/reply", data={"message_id": str(sent.id), "text": text})

    assert response.status_code == 400
    assert html(response).one(id=f"reply-{sent.id}-error").text == "Type the reply text first."
    assert inbound(session) == []


def test_a_sandbox_reply_to_a_message_that_does_not_exist_is_a_404(
    app, client, session, login, sandbox
):
    login("consultant")

    for message_id in ("987654", "abc", ""):
        response = client.post("/sandbox/reply", data={"message_id": message_id, "text": "Hi"})
        assert response.status_code == 404
    assert inbound(session) == []
