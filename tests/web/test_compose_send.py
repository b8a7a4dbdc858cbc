"""Send on the SMS screen (POST /sms/compose/<token>/send): what it writes, the Ignore gate,
Comments, idempotency, nothing written on failure, and the batch page it leads to."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import insert_candidates
from tests.html_tree import html as tree
from webapp.models import (
    AuditEvent,
    Batch,
    Comment,
    ComposeDraft,
    Message,
    Setting,
    SmsTemplate,
    utcnow,
)

TOKEN = re.compile(r'/sms/compose/([^/"]+)/update')
# A recipient and their number, shown by the `phone` filter with the E.164 form in its title.
RECIPIENT = re.compile(
    r'<span class="recipient"><bdi>(.*?)</bdi> '
    r'&lt;<span title="(.*?)">[^<]+</span>&gt;</span>'
)
BATCH_URL = re.compile(r"^/sms/batches/(\d+)$")


# --- helpers -------------------------------------------------------------------------------------


def text(response) -> str:
    return response.get_data(as_text=True)


def open_sms(client, people, kind: str = "candidates") -> str:
    response = client.post(
        "/sms/compose",
        data={"kind": kind, "ids": [str(p.id) for p in people]},
        follow_redirects=True,
    )
    assert response.status_code == 200, text(response)
    return TOKEN.search(text(response)).group(1)


def send(client, token: str, *, htmx: bool = False, **form):
    form.setdefault("message", "Hi {{first_name}}, new roles this week.")
    return client.post(f"/sms/compose/{token}/send", data=form, htmx=htmx)


def batch_id_of(response) -> int:
    match = BATCH_URL.match(response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def rows(session, model, *where, order=None) -> list:
    session.rollback()  # end any read transaction, so what requests committed is seen
    return list(session.scalars(sa.select(model).where(*where).order_by(order or model.id)))


def written(session) -> dict[str, int]:
    return {
        "batches": len(rows(session, Batch)),
        "messages": len(rows(session, Message)),
        "comments": len(rows(session, Comment)),
        "audit": len(rows(session, AuditEvent)),
    }


NOTHING = {"batches": 0, "messages": 0, "comments": 0, "audit": 0}


def recipients(page: str) -> list[tuple[str, str]]:
    return [(html.unescape(name), number) for name, number in RECIPIENT.findall(page)]


def error_beside(response, field_id: str) -> str:
    """The error shown for a field: marked invalid, and described by an error next to it."""
    page = tree(response)
    field = page.one(id=field_id)
    assert field.get("aria-invalid") == "true"
    [error] = [
        page.one(id=ref)
        for ref in field.get("aria-describedby").split()
        if "error" in page.one(id=ref).get("class", "").split()
    ]
    assert error in field.parent.elements  # beside the field, not at the top of the form
    return error.text


@pytest.fixture
def consultant(login):
    return login("consultant")


@pytest.fixture
def people(make_candidate):
    return [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Bob", "Brown", "+44 7400 123456"),
    ]


# --- what Send writes ----------------------------------------------------------------------------


def test_send_writes_one_batch_and_a_queued_message_per_recipient(
    client, consultant, people, session
):
    ada, bob = people
    token = open_sms(client, people)

    response = send(client, token)

    assert response.status_code == 303
    batch_id = batch_id_of(response)
    [batch] = rows(session, Batch)
    assert batch.id == batch_id
    assert (batch.sender_id, batch.kind, batch.body, batch.message_count, batch.ignore_opt_out) == (
        consultant.id,
        "candidates",
        "Hi {{first_name}}, new roles this week.",
        2,
        False,
    )
    messages = rows(session, Message)
    assert [(m.candidate_id, m.contact_id, m.to_e164, m.body) for m in messages] == [
        (ada.id, None, "+61412345678", "Hi Ada, new roles this week."),
        (bob.id, None, "+447400123456", "Hi Bob, new roles this week."),
    ]
    assert {
        (m.batch_id, m.state, m.segments, m.encoding, m.sender_id, m.override_opt_out, m.direction)
        for m in messages
    } == {(batch_id, "queued", 1, "GSM-7", consultant.id, False, "out")}


def test_send_records_segments_and_encoding_of_each_rendered_message(
    client, consultant, make_candidate, session
):
    short = make_candidate("Al", "Short", "0412 345 678")
    accented = make_candidate("Zoë", "Long", "0412 345 679")
    token = open_sms(client, [short, accented])
    send(client, token, message="Hello {{first_name}} " + "x" * 60)  # 69 vs 70 chars; ë is UCS-2
    found = {m.candidate_id: (m.segments, m.encoding) for m in rows(session, Message)}
    assert found == {short.id: (1, "GSM-7"), accented.id: (1, "UCS-2")}
    send_again = open_sms(client, [short, accented])
    send(client, send_again, message="Hello {{first_name}} " + "x" * 61)
    found = {
        m.candidate_id: (m.segments, m.encoding)
        for m in rows(session, Message)
        if m.body.endswith("x" * 61)
    }
    assert found == {short.id: (1, "GSM-7"), accented.id: (2, "UCS-2")}


def test_send_to_contacts_fills_contact_id_and_client_name(
    client, consultant, make_contact, session
):
    grace = make_contact("Grace", "Hopper", "0413 222 333", client="Harbour Mining Pty Ltd")
    token = open_sms(client, [grace], kind="contacts")
    assert send(client, token, message="Hi {{first_name}} at {{client_name}}").status_code == 303
    [message] = rows(session, Message)
    assert (message.candidate_id, message.contact_id, message.body) == (
        None,
        grace.id,
        "Hi Grace at Harbour Mining Pty Ltd",
    )


def test_send_with_htmx_answers_204_with_hx_redirect(client, consultant, people, session):
    token = open_sms(client, people)
    response = send(client, token, htmx=True)
    assert response.status_code == 204
    [batch] = rows(session, Batch)
    assert response.headers["HX-Redirect"] == f"/sms/batches/{batch.id}"


def test_send_merges_sender_fields(client, login, make_candidate, session):
    login("consultant", full_name="Casey Jones", mobile="0400 111 222", office="Perth")
    token = open_sms(client, [make_candidate()])
    send(
        client,
        token,
        message=(
            "Call {{sender_first_name}} ({{sender_full_name}}, {{sender_office}}) "
            "on {{sender_mobile}}"
        ),
    )
    [message] = rows(session, Message)
    assert message.body == "Call Casey (Casey Jones, Perth) on 0400 111 222"


@pytest.mark.parametrize(
    "message, queued_as",
    [
        (
            "Hi {{first_name}} \\{{ 7*7 }} and {% for x in y %}{% endfor %}",
            "Hi Ada {{ 7*7 }} and {% for x in y %}{% endfor %}",
        ),
        (
            "\\{{ ''.__class__ }} \\{{7*'7'}} <b>bold</b> ${7*7} #{7*7}",
            "{{ ''.__class__ }} {{7*'7'}} <b>bold</b> ${7*7} #{7*7}",
        ),
    ],
)
def test_hostile_text_is_queued_literally(
    client, consultant, make_candidate, session, message, queued_as
):
    token = open_sms(client, [make_candidate()])
    assert send(client, token, message=message).status_code == 303
    [queued] = rows(session, Message)
    assert queued.body == queued_as


def test_template_syntax_in_double_braces_is_refused_as_unknown_fields_never_run(
    client, consultant, make_candidate, session
):
    token = open_sms(client, [make_candidate()])
    refused = send(client, token, message="Hi {{ 7*7 }} {{ ''.__class__ }} {{First_Name}}")
    assert refused.status_code == 400
    shown = html.unescape(text(refused))
    assert "Unknown merge field(s): {{7*7}}, {{''.__class__}}, {{First_Name}}." in shown
    assert rows(session, Message) == []


def test_template_used_is_recorded_on_the_batch(client, consultant, make_candidate, session):
    template = SmsTemplate(
        name="Interview", body="Interview at 10", shared=True, record_type="both"
    )
    session.add(template)
    session.commit()
    token = open_sms(client, [make_candidate()])
    used = client.post(
        f"/sms/compose/{token}/update",
        data={"message": "", "template_id": str(template.id), "action": "use_template"},
    )
    assert used.status_code == 303, text(used)
    response = send(client, token, template_id=str(template.id), message="Interview at 10 sharp")
    [batch] = rows(session, Batch)
    assert batch.template_id == template.id
    page = text(client.get(response.headers["Location"]))
    assert "Interview" in page


def test_a_send_again_after_another_tabs_template_names_the_template_whose_text_went(
    client, consultant, ada, make_template, session
):
    """Tab 1 put in the interview reminder, tab 2 the timesheet one. Tab 1's Send is refused and
    its screen redrawn with its text: sent again from there, the batch said "Template: Timesheet
    reminder" above the interview reminder's text."""
    interview = make_template("Interview reminder", "Your interview is at 10, {{first_name}}.")
    timesheet = make_template("Timesheet reminder", "Timesheets are due, {{first_name}}.")
    token = open_sms(client, [ada])

    def use(template):
        used = client.post(
            f"/sms/compose/{token}/update",
            data={"message": "", "template_id": str(template.id), "action": "use_template"},
        )
        assert used.status_code == 303, text(used)

    use(interview)
    use(timesheet)  # the second tab
    first_tab = {"template_id": str(interview.id), "message": interview.body, "line_shown": "0"}

    refused = send(client, token, template_used=str(interview.id), **first_tab)

    assert refused.status_code == 409
    page = tree(refused)
    assert "put “Timesheet reminder” in" in page.one(id="message-error").text
    assert page.one("input", type="hidden", name="template_used").get("value") == str(interview.id)
    response = send(client, token, template_used=str(interview.id), **first_tab)

    assert response.status_code == 303, text(response)
    [batch] = rows(session, Batch)
    assert (batch.template_id, batch.body) == (interview.id, interview.body)
    shown = tree(client.get(response.headers["Location"]))
    assert "Interview reminder" in shown.text and "Timesheet reminder" not in shown.text


def test_a_refused_send_never_puts_in_a_template_the_sender_does_not_see(
    client, consultant, ada, make_template, make_user, session
):
    """The refusal puts back the template the post says its screen held: a crafted post naming
    someone else's private template does not make the batch name it."""
    timesheet = make_template("Timesheet reminder", "Timesheets are due, {{first_name}}.")
    private = make_template("Their own", "Not yours", owner=make_user(), shared=False)
    token = open_sms(client, [ada])
    client.post(
        f"/sms/compose/{token}/update",
        data={"message": "", "template_id": str(timesheet.id), "action": "use_template"},
    )

    refused = send(client, token, template_used=str(private.id), message="Hello")

    assert refused.status_code == 409
    assert tree(refused).one("input", type="hidden", name="template_used").get("value") == ""
    send(client, token, template_used="", message="Hello")
    [batch] = rows(session, Batch)
    assert (batch.template_id, batch.body) == (None, "Hello")


def test_a_template_only_highlighted_in_the_list_is_not_what_is_sent(
    client, consultant, make_candidate, session
):
    # Arrowing through the list (the select's value) puts nothing in the Message: a commercial
    # template highlighted at Send adds no opt-out line the counter never showed, and is not
    # recorded as the batch's template.
    alert = SmsTemplate(
        name="Job alert", body="New roles", shared=True, record_type="both", commercial=True
    )
    session.add(alert)
    session.commit()
    token = open_sms(client, [make_candidate()])

    response = send(client, token, template_id=str(alert.id), message="Free for a call at 3?")

    assert response.status_code == 303, text(response)
    [batch] = rows(session, Batch)
    assert (batch.template_id, batch.commercial, batch.opt_out_line) == (None, False, None)
    assert [m.body for m in rows(session, Message)] == ["Free for a call at 3?"]


def test_a_template_id_posted_with_send_is_never_read(
    client, login, make_user, make_candidate, session
):
    # Send takes the template the draft has in its Message: a crafted id (one that does not exist,
    # another user's personal template) neither refuses the Send nor names that template anywhere.
    other = make_user()
    secret = SmsTemplate(
        name="Secret pay rises", body="x", owner_id=other.id, shared=False, record_type="both"
    )
    session.add(secret)
    session.commit()
    login("consultant")
    for crafted in ("987654", str(secret.id)):
        token = open_sms(client, [make_candidate()])
        response = send(client, token, template_id=crafted, message="Hello")
        assert response.status_code == 303, text(response)
        assert "Secret pay rises" not in text(client.get(response.headers["Location"]))
    assert [batch.template_id for batch in rows(session, Batch)] == [None, None]


# --- removed recipients --------------------------------------------------------------------------


def test_removed_recipient_is_not_messaged(client, consultant, people, session):
    ada, bob = people
    token = open_sms(client, people)
    client.post(f"/sms/compose/{token}/update", data={"remove": str(bob.id)})
    send(client, token)
    assert [m.candidate_id for m in rows(session, Message)] == [ada.id]
    [batch] = rows(session, Batch)
    assert batch.outcome_counts["removed"] == 1
    assert batch.message_count == 1


def test_restored_recipient_is_messaged(client, consultant, people, session):
    ada, bob = people
    token = open_sms(client, people)
    client.post(f"/sms/compose/{token}/update", data={"remove": str(bob.id)})
    client.post(f"/sms/compose/{token}/update", data={"restore": str(bob.id)})
    send(client, token)
    assert sorted(m.candidate_id for m in rows(session, Message)) == sorted([ada.id, bob.id])


def screen_form(response) -> dict[str, str]:
    """The SMS screen's form as a browser would post it for Send: its hidden fields (what it
    showed) and the Message typed, if any (else `send` types one)."""
    page = tree(response)
    form = page.one("form", id="compose-form")
    posted = {field.get("name"): field.get("value") for field in form.all("input", type="hidden")}
    typed = page.one("textarea", id="message").text
    return posted | ({"message": typed} if typed else {})


@pytest.mark.parametrize("htmx", [False, True])
def test_a_send_for_a_list_another_tab_changed_is_refused_and_shows_the_list_now(
    app, client, consultant, people, session, htmx
):
    """Tab A takes Bob off (SMS to 1 person); tab B, the same draft, puts him back. A's Send went
    to Bob too, whom A's screen showed taken off; now it is refused (409) with the list as it is
    now and A's text kept, and A's next Send goes to both, as then shown."""
    ada, bob = people
    token = open_sms(client, people)
    tab_a = client.post(
        f"/sms/compose/{token}/update",
        data={"remove": str(bob.id), "message": "Only for Ada"},
        htmx=htmx,
        follow_redirects=not htmx,
    )
    assert "SMS to 1 person" in text(tab_a)
    shown_by_a = screen_form(tab_a)
    tab_b = app.test_client()  # another tab, signed in as the same consultant
    assert tab_b.login(consultant.username).status_code == 302
    assert open_sms(tab_b, people) == token  # the same draft, Bob shown taken off
    tab_b.post(f"/sms/compose/{token}/update", data={"restore": str(bob.id)})

    refused = send(client, token, htmx=htmx, **shown_by_a)

    assert refused.status_code == 409
    assert written(session) == NOTHING
    page = tree(refused)
    assert page.one("p", class_="error", role="alert").text == (
        "Another tab or window changed who gets this SMS; check the list, then press Send again."
    )
    assert recipients(text(refused)) == [
        ("Ada Lovelace", "+61412345678"),
        ("Bob Brown", "+447400123456"),
    ]
    assert page.one("textarea", id="message").text == "Only for Ada"
    assert send(client, token, htmx=htmx, **screen_form(refused)).status_code in (204, 303)
    assert sorted(m.candidate_id for m in rows(session, Message)) == sorted([ada.id, bob.id])


def test_a_send_for_someone_another_tab_took_off_is_refused(
    app, client, consultant, people, session
):
    """The other way round: A shows both, B takes Bob off; A's Send is refused, not sent to Ada
    alone, and what A then shows (Bob taken off) is what its next Send sends."""
    ada, bob = people
    token = open_sms(client, people)
    shown_by_a = screen_form(client.get(f"/sms/compose/{token}"))
    tab_b = app.test_client()
    assert tab_b.login(consultant.username).status_code == 302
    tab_b.post(f"/sms/compose/{token}/update", data={"remove": str(bob.id)})

    refused = send(client, token, **shown_by_a)

    assert refused.status_code == 409
    assert written(session) == NOTHING
    assert recipients(text(refused)) == [("Ada Lovelace", "+61412345678")]
    assert send(client, token, **screen_form(refused)).status_code == 303
    assert [m.candidate_id for m in rows(session, Message)] == [ada.id]


def test_a_send_after_the_other_tab_sent_finds_its_batch_whatever_list_it_showed(
    client, consultant, people, session
):
    """Sent from the other tab (after taking Bob off): this tab's Send of the same text is the
    double click it looks like, and opens that batch; no "check the list" for a list gone."""
    _ada, bob = people
    token = open_sms(client, people)
    shown_by_a = screen_form(client.get(f"/sms/compose/{token}"))
    client.post(f"/sms/compose/{token}/update", data={"remove": str(bob.id)})
    sent = send(client, token)

    again = send(client, token, **shown_by_a)

    assert again.status_code == 303
    assert again.headers["Location"] == sent.headers["Location"]
    assert len(rows(session, Batch)) == 1


def test_taking_off_and_putting_back_the_same_person_elsewhere_changes_nothing_shown(
    app, client, consultant, people, session
):
    """Who the screen showed is what counts, not how many changes were made: B taking Bob off
    and putting him back leaves A's Send as it was."""
    _ada, bob = people
    token = open_sms(client, people)
    shown_by_a = screen_form(client.get(f"/sms/compose/{token}"))
    for change in ("remove", "restore"):
        client.post(f"/sms/compose/{token}/update", data={change: str(bob.id)})

    assert send(client, token, **shown_by_a).status_code == 303
    assert len(rows(session, Message)) == 2


# --- the Ignore gate at Send ---------------------------------------------------------------------


@pytest.fixture
def with_opt_out(make_candidate):
    return [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Olive", "Out", "0412 000 111", sms_consent=False),
    ]


def test_consultant_sending_with_ignore_gets_403_and_nothing_is_written(
    client, consultant, with_opt_out, session
):
    token = open_sms(client, with_opt_out)
    response = send(client, token, ignore="1", ignore_reason="urgent", comment="1")
    assert response.status_code == 403
    assert written(session) == NOTHING
    # Nor did the refusal spend the draft: without Ignore the same screen still sends.
    assert send(client, token).status_code == 303
    assert [m.candidate_id for m in rows(session, Message)] == [with_opt_out[0].id]


def test_consultant_sending_with_ignore_via_htmx_gets_403(
    client, consultant, with_opt_out, session
):
    token = open_sms(client, with_opt_out)
    response = send(client, token, ignore="1", htmx=True)
    assert response.status_code == 403
    assert "HX-Redirect" not in response.headers
    assert written(session) == NOTHING


def test_consultant_send_leaves_opted_out_people_out(client, consultant, with_opt_out, session):
    ada, olive = with_opt_out
    send(client, open_sms(client, with_opt_out))
    assert [m.candidate_id for m in rows(session, Message)] == [ada.id]
    assert rows(session, AuditEvent, AuditEvent.action == "sms.ignore_opt_out") == []
    [batch] = rows(session, Batch)
    assert batch.outcome_counts["opted_out"] == 1


def test_team_leader_ignore_sends_to_opted_out_people_and_audits_it(
    client, login, with_opt_out, session
):
    lead = login("team-leader")
    ada, olive = with_opt_out
    token = open_sms(client, with_opt_out)
    ticked = client.post(
        f"/sms/compose/{token}/update", data={"ignore": "1"}, follow_redirects=True
    )
    assert ("Olive Out", "+61412000111") in recipients(text(ticked))

    response = send(client, token, ignore="1", ignore_reason="Site closed today, safety notice")

    assert response.status_code == 303
    batch_id = batch_id_of(response)
    messages = {m.candidate_id: m for m in rows(session, Message)}
    assert set(messages) == {ada.id, olive.id}
    assert messages[olive.id].override_opt_out is True
    assert messages[ada.id].override_opt_out is False
    [batch] = rows(session, Batch)
    assert batch.ignore_opt_out is True
    [event] = rows(session, AuditEvent, AuditEvent.action == "sms.ignore_opt_out")
    assert event.actor_id == lead.id
    assert event.subject_id == batch_id
    assert event.details["reason"] == "Site closed today, safety notice"
    assert (event.details["kind"], event.details["people"]) == (
        "candidates",
        [[olive.id, "+61412000111"]],
    )


def test_ignore_audit_event_names_the_batch_as_its_subject(client, login, with_opt_out, session):
    login("team-leader")
    token = open_sms(client, with_opt_out)
    batch_id = batch_id_of(send(client, token, ignore="1", ignore_reason="why"))
    [event] = rows(session, AuditEvent, AuditEvent.action == "sms.ignore_opt_out")
    assert (event.subject_type, event.subject_id) == ("batch", batch_id)


def test_ignore_never_overrides_blocked_or_invalid_numbers(client, login, make_candidate, session):
    login("team-leader")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    kaz = make_candidate("Kaz", "Out", "+7 701 123 4567", sms_consent=False)
    ivan = make_candidate("Ivan", "Out", "12345", sms_consent=False)
    token = open_sms(client, [ada, kaz, ivan])
    assert send(client, token, ignore="1", ignore_reason="Roster change").status_code == 303
    assert [m.candidate_id for m in rows(session, Message)] == [ada.id]
    assert rows(session, AuditEvent, AuditEvent.action == "sms.ignore_opt_out") == []
    [batch] = rows(session, Batch)
    assert batch.ignore_opt_out is False


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_ignore_never_sends_to_someone_who_opted_out_after_the_screen_was_shown(
    client, login, make_candidate, session, htmx
):
    """The screen shows Olive opted out and Ignore ticked ("Send to the 1 opted-out person as
    well"); meanwhile Ava unticks SMS (on her record, or a STOP reply). The Send is refused (409),
    nothing written, and the screen redrawn with both shown opted out; its next Send covers them."""
    login("team-leader")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    olive = make_candidate("Olive", "Out", "0412 000 111", sms_consent=False)
    ava = make_candidate("Ava", "Anderson", "0412 000 222")
    token = open_sms(client, [ada, olive, ava])
    ticked = client.post(
        f"/sms/compose/{token}/update",
        data={"ignore": "1", "ignore_reason": "Site closed", "message": "Shift moved to 9am"},
        follow_redirects=True,
    )
    assert "Send to the 1 opted-out person as well" in text(ticked)
    shown = screen_form(ticked)
    ava.sms_consent = False
    session.commit()

    refused = send(client, token, htmx=htmx, ignore="1", ignore_reason="Site closed", **shown)

    assert refused.status_code == 409
    assert written(session) == NOTHING
    page = tree(refused)
    assert page.one("p", class_="error", role="alert").text.startswith(
        "Who has opted out of SMS on this list has changed since this screen was shown"
    )
    assert "Send to the 2 opted-out people as well" in text(refused)
    assert page.one("textarea", id="message").text == "Shift moved to 9am"
    again = screen_form(refused)
    sent = send(client, token, htmx=htmx, ignore="1", ignore_reason="Site closed", **again)
    assert sent.status_code == (204 if htmx else 303)
    overridden = {m.candidate_id for m in rows(session, Message) if m.override_opt_out}
    assert overridden == {olive.id, ava.id}


def test_without_ignore_someone_opting_out_meanwhile_is_refused_once_then_left_out(
    client, login, make_candidate, session
):
    """The screen showed "SMS to 2 people"; Send refuses to go to 1 unsaid (as a big send's
    confirmation does), and the next Send, from the list as it now is, goes to Ada alone."""
    login("team-leader")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    ava = make_candidate("Ava", "Anderson", "0412 000 222")
    token = open_sms(client, [ada, ava])
    shown = screen_form(client.get(f"/sms/compose/{token}"))
    ava.sms_consent = False
    session.commit()

    refused = send(client, token, **shown)
    assert refused.status_code == 409
    assert written(session) == NOTHING
    assert "SMS to 1 person" in text(refused)
    assert send(client, token, **screen_form(refused)).status_code == 303
    assert [m.candidate_id for m in rows(session, Message)] == [ada.id]


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_ignore_that_lets_nobody_through_still_needs_its_reason_beside_the_field(
    client, login, make_candidate, session, htmx
):
    # The reason is required whenever Ignore is ticked, not only when it turns
    # out to override someone (here the only opted-out person was taken off the SMS).
    login("team-leader")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    olive = make_candidate("Olive", "Out", "0412 000 111", sms_consent=False)
    token = open_sms(client, [ada, olive])
    client.post(f"/sms/compose/{token}/update", data={"remove": str(olive.id)})

    response = send(client, token, htmx=htmx, ignore="1")

    assert response.status_code == 400
    assert "reason for ignoring opt-outs" in error_beside(response, "ignore_reason")
    page = tree(response)
    assert "checked" in page.one("input", id="ignore").attrs  # still ticked, so it can be unticked
    assert written(session) == NOTHING
    assert send(client, token, htmx=htmx).status_code == (204 if htmx else 303)  # unticked: sends
    assert [m.candidate_id for m in rows(session, Message)] == [ada.id]


@pytest.mark.parametrize(
    "reason", [None, "", "   ", "\u200b \ufeff"], ids=["absent", "empty", "spaces", "invisible"]
)
@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_ignore_without_a_reason_is_refused_beside_the_field_and_nothing_is_queued(
    client, login, with_opt_out, session, reason, htmx
):
    login("team-leader")
    token = open_sms(client, with_opt_out)
    form = {"ignore": "1"} | ({} if reason is None else {"ignore_reason": reason})

    response = send(client, token, htmx=htmx, **form)

    assert response.status_code == 400
    assert "HX-Redirect" not in response.headers
    assert "reason for ignoring opt-outs" in error_beside(response, "ignore_reason")
    assert written(session) == NOTHING
    # The screen is not spent: with a reason the same screen sends.
    assert send(client, token, ignore="1", ignore_reason="Shift cancelled").status_code == 303


def test_a_reason_over_500_characters_is_refused_not_cut(client, login, with_opt_out, session):
    login("team-leader")
    token = open_sms(client, with_opt_out)

    response = send(client, token, ignore="1", ignore_reason="x" * 501)

    assert response.status_code == 400
    assert "501 characters" in error_beside(response, "ignore_reason")
    assert "at most 500" in error_beside(response, "ignore_reason")
    assert tree(response).one(id="ignore_reason").get("value") == "x" * 501  # kept, to shorten
    assert written(session) == NOTHING
    assert send(client, token, ignore="1", ignore_reason="y" * 500).status_code == 303
    [event] = rows(session, AuditEvent, AuditEvent.action == "sms.ignore_opt_out")
    assert event.details["reason"] == "y" * 500


def test_the_reason_field_shows_once_ignore_is_ticked_and_is_named_for_it(
    client, login, with_opt_out
):
    login("team-leader")
    token = open_sms(client, with_opt_out)
    assert tree(client.get(f"/sms/compose/{token}")).all(id="ignore_reason") == []

    ticked = tree(client.post(f"/sms/compose/{token}/update", data={"ignore": "1"}, htmx=True))

    field = ticked.one("input", id="ignore_reason")
    assert ticked.one("label", for_="ignore_reason").text == "Reason for ignoring opt-outs"
    # Required, said to assistive technology; refused by the server with its own words (the
    # browser checks only Send at, whose half-typed value would read as "send now").
    assert (field.get("name"), field.get("aria-required")) == ("ignore_reason", "true")
    assert "required" not in field.attrs
    assert "maxlength" not in field.attrs  # a browser would cut a pasted reason silently


# --- Comment -------------------------------------------------------------------------------------


def test_comment_defaults_to_the_message_on_each_recipients_record(
    client, consultant, people, session
):
    ada, bob = people
    token = open_sms(client, people)
    send(
        client,
        token,
        message="Interview tomorrow at 10",
        comment="1",
        comment_type="SMS",
        comment_text="",
    )
    comments = rows(session, Comment, order=Comment.candidate_id)
    assert [(c.candidate_id, c.author_id, c.type, c.text) for c in comments] == [
        (ada.id, consultant.id, "SMS", "Interview tomorrow at 10"),
        (bob.id, consultant.id, "SMS", "Interview tomorrow at 10"),
    ]


def test_comment_uses_the_typed_text(client, consultant, people, session):
    token = open_sms(client, people)
    send(
        client,
        token,
        message="Interview tomorrow",
        comment="1",
        comment_type="SMS",
        comment_text="  Told them about the Perth role  ",
    )
    assert {c.text for c in rows(session, Comment)} == {"Told them about the Perth role"}


def test_comment_on_contacts_goes_to_the_contact_record(client, consultant, make_contact, session):
    grace = make_contact()
    token = open_sms(client, [grace], kind="contacts")
    send(client, token, message="Timesheets due", comment="1")
    [comment] = rows(session, Comment)
    assert (comment.candidate_id, comment.contact_id) == (None, grace.id)


def test_a_comment_text_over_2000_characters_is_refused_beside_the_field(
    client, consultant, people, session
):
    token = open_sms(client, people)

    response = send(client, token, comment="1", comment_type="SMS", comment_text="c" * 2001)

    assert response.status_code == 400
    assert "2,001 characters" in error_beside(response, "comment_text")
    assert "at most 2,000" in error_beside(response, "comment_text")
    assert written(session) == NOTHING
    assert (
        send(client, token, comment="1", comment_type="SMS", comment_text="c" * 2000).status_code
        == 303
    )
    assert {len(c.text) for c in rows(session, Comment)} == {2000}


@pytest.mark.parametrize("app_settings", [{"SMS_CONFIRM_OVER": 600}])  # no confirmation step
def test_a_comment_may_not_put_more_than_a_million_characters_on_the_records(
    client, consultant, session
):
    # 600 records × 2,000 characters is 1.2 million: the text is copied onto each.
    ids = insert_candidates(session, 600)
    response = client.post(
        "/sms/compose",
        data={"kind": "candidates", "ids": [str(i) for i in ids]},
        follow_redirects=True,
    )
    token = TOKEN.search(text(response)).group(1)

    refused = send(client, token, comment="1", comment_type="SMS", comment_text="c" * 2000)

    assert refused.status_code == 400
    message = error_beside(refused, "comment_text")
    assert "600 records" in message and "1,200,000" in message
    assert "1,666 characters or fewer" in message  # how to fix it
    assert written(session) == NOTHING
    assert (
        send(client, token, comment="1", comment_type="SMS", comment_text="c" * 1666).status_code
        == 303
    )
    assert len(rows(session, Comment)) == 600


def test_no_comment_unless_ticked(client, consultant, people, session):
    token = open_sms(client, people)
    send(client, token, comment_text="would be the comment")
    assert rows(session, Comment) == []


def test_suppress_add_comment_hides_the_box_and_writes_no_comment(
    client, consultant, people, session
):
    session.add(Setting(key="suppress_add_comment", value=True))
    session.commit()
    token = open_sms(client, people)
    page = text(client.get(f"/sms/compose/{token}"))
    assert 'name="comment"' not in page
    assert "<legend>Comment</legend>" not in page

    response = send(client, token, comment="1", comment_text="should not be written")
    assert response.status_code == 303
    assert rows(session, Comment) == []
    [batch] = rows(session, Batch)
    assert batch.comment_text is None


def test_comment_box_is_shown_by_default(client, consultant, people):
    page = text(client.get(f"/sms/compose/{open_sms(client, people)}"))
    assert '<input type="checkbox" id="comment" name="comment" value="1">' in page
    assert '<label for="comment_text">Comment text</label>' in page


# --- idempotent Send -----------------------------------------------------------------------------


def test_sending_the_same_screen_twice_makes_one_batch(client, consultant, people, session):
    token = open_sms(client, people)
    first = send(client, token)
    second = send(client, token)  # a double click, or the form resubmitted from history
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert written(session)["batches"] == 1
    assert written(session)["messages"] == 2


def test_double_click_with_htmx_makes_one_batch(client, consultant, people, session):
    token = open_sms(client, people)
    first = send(client, token, htmx=True, comment="1")
    second = send(client, token, htmx=True, comment="1")
    assert first.headers["HX-Redirect"] == second.headers["HX-Redirect"]
    assert written(session) == {"batches": 1, "messages": 2, "comments": 2, "audit": 1}


def test_reopening_a_sent_screen_goes_to_its_batch(client, consultant, people):
    token = open_sms(client, people)
    location = send(client, token).headers["Location"]
    response = client.get(f"/sms/compose/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == location


@pytest.mark.parametrize("htmx", [False, True])
def test_other_text_sent_from_a_second_tab_is_refused_on_the_form(
    client, consultant, people, session, htmx
):
    token = open_sms(client, people)
    first = batch_id_of(send(client, token))
    response = send(client, token, htmx=htmx, message="Other text, typed in the second tab")
    assert response.status_code == 409
    page = text(response)
    assert f"already sent, from another tab or window, as batch {first}" in page
    assert 'id="message-error"' in page
    assert "Other text, typed in the second tab</textarea>" in page  # still there to copy
    assert written(session)["batches"] == 1


# --- nothing written on failure, and the error shown on the form ---------------------------------


@pytest.mark.parametrize(
    "message, error",
    [
        ("", "Type a message, or pick a template."),
        ("   ", "Type a message, or pick a template."),
        ("Hi {{nope}}", "Unknown merge field(s): {{nope}}"),
        ("Hi {{first_name}, see you", "Unfinished merge field(s): {{first_name}."),
        ("Hi {{{first_name}}}, see you", "Unfinished merge field(s): {{{first_name}}}."),
        ("Hi {{}}, see you", "Unfinished merge field(s): {{}}."),
        ("x" * 1_601, "the gateway takes at most 1,600"),
    ],
)
def test_a_message_that_cannot_be_sent_is_refused_on_the_form(
    client, consultant, people, session, message, error
):
    token = open_sms(client, people)
    response = send(client, token, message=message, comment="1")
    assert response.status_code == 400
    page = text(response)
    assert html.escape(error, quote=False) in page
    assert 'id="message-error"' in page
    assert re.search(r'<textarea id="message"[^>]*aria-invalid="true"', page, re.S)
    assert written(session) == NOTHING


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_a_message_empty_for_someone_is_refused_naming_them_and_kept(
    client, consultant, make_candidate, session, htmx
):
    """Only a merge field, empty for Zed (no job title): his SMS would be empty. Refused on the
    form, naming him, with the text kept; nothing queued."""
    people = [
        make_candidate("Ada", "Lovelace", "0412 345 678", job_title="Nurse"),
        make_candidate("Zed", "Emptyjob", "0412 000 111"),
    ]
    token = open_sms(client, people)

    response = send(client, token, htmx=htmx, message="{{job_title}}")

    assert response.status_code == 400
    assert error_beside(response, "message") == (
        "The message for Zed Emptyjob would be empty: {{job_title}} is empty for them. Add text "
        "around the merge fields, or take them off this SMS."
    )
    assert tree(response).one("textarea", id="message").text == "{{job_title}}"
    assert written(session) == NOTHING


def test_a_message_empty_for_several_says_how_many(client, consultant, make_candidate, session):
    people = [
        make_candidate("Zed", "Emptyjob", "0412 000 111"),
        make_candidate("Yan", "Nojob", "0412 000 222"),
        make_candidate("Xu", "Nojob", "0412 000 333"),
    ]
    token = open_sms(client, people)
    response = send(client, token, message=" {{job_title}} ")
    assert response.status_code == 400
    assert "The message for Zed Emptyjob and 2 others would be empty" in text(response)
    assert written(session) == NOTHING


def test_a_message_empty_by_the_senders_own_field_points_to_their_profile(
    client, consultant, make_candidate, session
):
    """{{sender_mobile}} is empty on the sender's Profile, for everyone: taking people off the SMS
    would not help."""
    consultant.mobile = None
    session.commit()
    token = open_sms(client, [make_candidate("Ada", "Lovelace", "0412 345 678")])

    response = send(client, token, message="{{sender_mobile}}")

    assert response.status_code == 400
    assert error_beside(response, "message") == (
        "The message for Ada Lovelace would be empty: {{sender_mobile}} is empty on your Profile. "
        "Add text around the merge fields."
    )
    assert written(session) == NOTHING


def test_a_message_of_exactly_1600_characters_is_sent(client, consultant, people, session):
    token = open_sms(client, people)
    assert send(client, token, message="x" * 1_600).status_code == 303
    assert {len(m.body) for m in rows(session, Message)} == {1_600}


def test_a_merge_field_pushing_one_recipient_past_1600_is_refused_naming_them(
    client, consultant, make_candidate, session
):
    people = [
        make_candidate("Al", "Li", "0412 345 678"),
        make_candidate("Bartholomew", "Brown", "0412 345 679"),
    ]
    token = open_sms(client, people)
    response = send(client, token, message="{{first_name}}" + "x" * 1_590)  # 1,592 and 1,601
    assert response.status_code == 400
    assert "The message for Bartholomew Brown is 1,601 characters" in text(response)
    assert written(session) == NOTHING


def test_a_tag_formed_across_an_empty_field_is_refused_not_sent(
    client, consultant, people, session
):
    # No one in `people` has a location, so "{{fir{{location}}st_name}}" would become the text
    # "{{first_name}}" on every phone.
    token = open_sms(client, people)
    response = send(client, token, message="Hello {{fir{{location}}st_name}}")
    assert response.status_code == 400
    assert "would contain {{first_name}} as text" in text(response)
    assert written(session) == NOTHING


def test_a_failed_send_keeps_what_was_typed(client, consultant, people):
    token = open_sms(client, people)
    response = send(client, token, message="Hi {{nope}} there", comment="1", comment_text="note")
    page = text(response)
    assert re.search(r'<textarea id="message"[^>]*>\nHi \{\{nope\}\} there</textarea>', page, re.S)
    assert '<input type="checkbox" id="comment" name="comment" value="1" checked>' in page
    assert ">\nnote</textarea>" in page


def test_a_failed_send_with_htmx_answers_the_compose_fragment(client, consultant, people, session):
    token = open_sms(client, people)
    response = send(client, token, message="", htmx=True)
    assert response.status_code == 400
    assert text(response).lstrip().startswith('<section id="compose"')
    assert "HX-Redirect" not in response.headers
    assert written(session) == NOTHING


def test_nobody_eligible_is_refused_and_nothing_written(
    client, consultant, make_candidate, session
):
    people = [
        make_candidate("Olive", "Out", "0412 000 111", sms_consent=False),
        make_candidate("Nora", "None", None),
    ]
    token = open_sms(client, people)
    response = send(client, token)
    assert response.status_code == 400
    assert "Nobody on this SMS can receive it" in text(response)
    assert written(session) == NOTHING


def test_everyone_removed_is_refused_and_nothing_written(client, consultant, people, session):
    token = open_sms(client, people)
    for person in people:
        client.post(f"/sms/compose/{token}/update", data={"remove": str(person.id)})
    response = send(client, token)
    assert response.status_code == 400
    assert written(session) == NOTHING


def test_a_person_deleted_before_send_is_refused_with_409(client, consultant, people, session):
    ada, bob = people
    token = open_sms(client, people)
    session.delete(session.merge(bob))
    session.commit()
    response = send(client, token)
    assert response.status_code == 409
    assert "no longer exist and have been taken off this SMS" in text(response)
    assert written(session) == NOTHING
    # The second attempt sends to who is left.
    assert send(client, token).status_code == 303
    assert [m.candidate_id for m in rows(session, Message)] == [ada.id]


def test_a_forged_token_is_404_and_nothing_is_written(client, consultant, people, session):
    open_sms(client, people)
    response = send(client, "forged-token-that-was-never-issued")
    assert response.status_code == 404
    assert written(session) == NOTHING


def test_a_cleared_draft_token_is_404_and_nothing_is_written(client, consultant, people, session):
    token = open_sms(client, people)
    session.execute(sa.delete(ComposeDraft))
    session.commit()
    response = send(client, token)
    assert response.status_code == 404
    assert written(session) == NOTHING


def test_an_expired_draft_is_refused_and_nothing_is_written(client, consultant, people, session):
    token = open_sms(client, people)
    session.execute(sa.update(ComposeDraft).values(created_at=utcnow() - timedelta(hours=25)))
    session.commit()
    response = send(client, token)
    assert response.status_code == 410
    assert "expired" in text(response)
    assert written(session) == NOTHING


def test_an_expired_draft_over_htmx_is_said_in_the_alert_region(
    client, consultant, people, session
):
    # The answer goes to the alert region, and htmx swaps it in: it did nothing at all (410 was
    # not among the statuses the page's htmx-config swaps), so Send seemed dead.
    token = open_sms(client, people)
    meta = tree(client.get("/candidates")).one("meta", name="htmx-config")
    rules = json.loads(meta.get("content"))["responseHandling"]
    session.execute(sa.update(ComposeDraft).values(created_at=utcnow() - timedelta(hours=25)))
    session.commit()

    response = send(client, token, htmx=True)

    assert response.status_code == 410
    assert response.headers["HX-Retarget"] == "#live-alert"
    assert "expired" in text(response)
    # htmx takes the first rule whose code (a regular expression) matches the status.
    rule = next(r for r in rules if re.search(r["code"], str(response.status_code)))
    assert rule["swap"] is True


def test_another_users_token_is_404_and_nothing_is_written(client, login, people, session):
    login("consultant")
    token = open_sms(client, people)
    client.post("/logout")
    login("team-leader")
    response = send(client, token)
    assert response.status_code == 404
    assert written(session) == NOTHING


def test_send_without_csrf_token_is_refused(client, consultant, people, session):
    token = open_sms(client, people)
    response = client.post(f"/sms/compose/{token}/send", data={"message": "Hello"}, csrf=False)
    assert response.status_code == 400
    assert written(session) == NOTHING


def test_viewer_cannot_send(client, login, people, session):
    login("viewer")
    response = send(client, "any-token")
    assert response.status_code == 403
    assert written(session) == NOTHING


# --- the batch page ------------------------------------------------------------------------------


def test_batch_page_lists_the_messages_and_their_states(
    client, consultant, make_candidate, session
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    olive = make_candidate("Olive", "Out", "0412 000 111", sms_consent=False)
    location = send(client, open_sms(client, [ada, olive])).headers["Location"]
    response = client.get(location)
    assert response.status_code == 200
    page = text(response)
    assert re.search(rf'<a [^>]*href="/candidates/{ada.id}">Ada Lovelace</a>', page)
    assert "+61412345678" in page
    assert '<span class="pill state state-queued">queued</span>' in page
    assert "Olive Out" not in page
    assert "1 opted out" in page  # who was left out, and why
    assert "Hi {{first_name}}, new roles this week." in html.unescape(page)


def test_another_consultant_cannot_see_the_batch(client, login, people):
    login("consultant")
    location = send(client, open_sms(client, people)).headers["Location"]
    client.post("/logout")
    login("consultant")
    assert client.get(location).status_code == 404


def test_a_team_leader_can_see_anyones_batch(client, login, people):
    login("consultant")
    location = send(client, open_sms(client, people)).headers["Location"]
    client.post("/logout")
    login("team-leader")
    response = client.get(location)
    assert response.status_code == 200
    assert "Ada Lovelace" in text(response)


def test_a_batch_that_does_not_exist_is_404(client, consultant):
    assert client.get("/sms/batches/987654").status_code == 404


# --- control characters in the message, the comment and the reason ------------------------------


def test_message_and_comment_keep_line_breaks_and_drop_other_control_characters(
    client, consultant, people, session
):
    token = open_sms(client, people[:1])

    response = send(
        client,
        token,
        message="Hi {{first_name}},\r\nnew\x1b[31m roles\x07.\tSee you",
        comment="1",
        comment_text="Told\x1b them\r\nabout\x0b Perth",
    )

    assert response.status_code == 303
    [message] = rows(session, Message)
    assert message.body == "Hi Ada,\nnew[31m roles. See you"
    [batch] = rows(session, Batch)
    assert batch.body == "Hi {{first_name}},\nnew[31m roles. See you"
    [comment] = rows(session, Comment)
    assert comment.text == "Told them\nabout Perth"


@pytest.mark.parametrize(
    "reason",
    ["Site closed\r\nBcc: everyone", "Site\x1b[2J closed", "Site\tclosed"],
    ids=["line-break", "escape", "tab"],
)
def test_an_ignore_reason_with_control_characters_is_refused_beside_the_field(
    client, login, with_opt_out, session, reason
):
    login("team-leader")
    token = open_sms(client, with_opt_out)

    response = send(client, token, ignore="1", ignore_reason=reason)

    assert response.status_code == 400
    assert "one line of plain text" in error_beside(response, "ignore_reason")
    assert written(session) == NOTHING
