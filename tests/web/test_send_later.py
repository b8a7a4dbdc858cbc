"""Send later on the pages: the "Send at" field of the SMS screen (kept on the draft, read in the
user's zone, refused with its reason), a scheduled batch on the batch page and on Sent, the big
send's confirmation carrying the time, "Cancel scheduled send" after its confirmation (409 from a
second tab), the text edited until it goes, and who may do each."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.conftest import writing
from tests.html_tree import html as tree
from tests.pages import assert_invalid, assert_refused, audits, control, open_sms_screen, text
from tests.replying import receive
from webapp.models import Batch, ComposeDraft, Message, User, utcnow
from webapp.sms import schedule, segments
from webapp.sms.limits import LimitSettings
from webapp.times import when

DIGEST = re.compile(r'<input type="hidden" name="confirmed" value="([0-9a-f]+)">')
BATCH_URL = re.compile(r"^/sms/batches/(\d+)$")
AUCKLAND = ZoneInfo("Pacific/Auckland")
PERTH = ZoneInfo("Australia/Perth")
CONFIRM_OVER = 2


@pytest.fixture
def app_settings():
    """Three people need a confirmation first; one or two do not."""
    return {"SMS_CONFIRM_OVER": CONFIRM_OVER}


# --- helpers -------------------------------------------------------------------------------------


def local_tomorrow(zone: ZoneInfo, hour: int = 9, minute: int = 30) -> tuple[str, datetime]:
    """Tomorrow at hour:minute in `zone`: as a datetime-local field posts it, and as UTC."""
    day = (utcnow().astimezone(zone) + timedelta(days=1)).date()
    local = datetime(day.year, day.month, day.day, hour, minute)
    return local.strftime("%Y-%m-%dT%H:%M"), local.replace(tzinfo=zone).astimezone(UTC)


def open_sms(client, people) -> str:
    return open_sms_screen(client, people)[0]


def send(client, token: str, *, htmx: bool = False, **form):
    form.setdefault("message", "Hi {{first_name}}, your shift starts at 7.")
    return client.post(f"/sms/compose/{token}/send", data=form, htmx=htmx)


def batch_id_of(response) -> int:
    match = BATCH_URL.match(response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def fresh(session, model, ident):
    session.rollback()  # see what the requests committed
    return session.get(model, ident, populate_existing=True)


def messages_of(session, batch_id: int) -> list[Message]:
    session.rollback()
    return list(
        session.scalars(sa.select(Message).where(Message.batch_id == batch_id).order_by(Message.id))
    )


def batches(session) -> list[Batch]:
    session.rollback()
    return list(session.scalars(sa.select(Batch)))


def schedule_one(client, people, zone: ZoneInfo, **form) -> tuple[int, datetime]:
    """Send to `people` at 9:30 tomorrow in `zone` (the signed-in user's): the batch id and its
    moment."""
    typed, moment = local_tomorrow(zone)
    response = send(client, open_sms(client, people), send_at=typed, **form)
    assert response.status_code == 303, text(response)
    return batch_id_of(response), moment


def sent_row(client, batch_id: int, **args):
    page = client.get("/sms/sent", query_string=args)
    assert page.status_code == 200
    return tree(page).one("tr", id=f"batch-{batch_id}")


def buttons(node) -> list[str]:
    return [button.text for button in node.all("button")]


def release(session, batch_id: int) -> None:
    """The worker's release of the batch, at its time."""
    batch = fresh(session, Batch, batch_id)
    released = schedule.release_due(
        session,
        batch.send_at + timedelta(seconds=1),
        limit_settings=LimitSettings(),
        quiet_settings=None,
    )
    assert batch_id in released


# --- the field on the SMS screen -----------------------------------------------------------------


def test_send_at_is_an_optional_datetime_local_field_labelled_in_the_users_zone(client, login, ada):
    login(timezone="Pacific/Auckland")
    token = open_sms(client, [ada])

    page = tree(client.get(f"/sms/compose/{token}"))

    field = page.one("input", name="send_at")
    assert field.get("type") == "datetime-local"
    assert "required" not in field.attrs
    assert page.one("label", for_="send_at").text == "Send at"
    hint_id, note_id = field.get("aria-describedby").split()
    hint = page.one(id=hint_id)
    assert "leave it empty to send now" in hint.text
    assert "Pacific/Auckland" in hint.text
    assert note_id == "quiet-hours-note"  # the quiet-hours note follows the time typed


def test_send_at_is_kept_on_the_draft_and_shown_back_in_the_users_zone(client, login, session, ada):
    login(timezone="Pacific/Auckland")
    token = open_sms(client, [ada])
    typed, moment = local_tomorrow(AUCKLAND, 7, 45)

    assert client.post(f"/sms/compose/{token}/save", data={"send_at": typed}).status_code == 204

    draft = session.scalar(sa.select(ComposeDraft).where(ComposeDraft.token == token))
    assert draft.send_at == moment  # stored as UTC
    shown = control(text(client.get(f"/sms/compose/{token}")), "send_at")
    assert f'value="{typed}"' in shown


@pytest.mark.parametrize(
    ("when_typed", "says"),
    [
        (lambda now: (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "has passed"),
        (lambda now: (now + timedelta(days=91)).strftime("%Y-%m-%dT%H:%M"), "at most 90 days"),
        (lambda now: "next tuesday", "is not a date and time"),
    ],
    ids=["past", "over-90-days", "garbage"],
)
def test_a_time_in_the_past_too_far_ahead_or_unreadable_is_refused_and_nothing_queued(
    client, login, session, ada, when_typed, says
):
    login(timezone="Australia/Perth")
    token = open_sms(client, [ada])
    typed = when_typed(utcnow().astimezone(PERTH))

    response = send(client, token, send_at=typed)

    assert_refused(response, "send_at", says)
    assert "autofocus" in control(text(response), "send_at")
    assert batches(session) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_a_refused_time_is_answered_on_the_field_for_htmx_too(client, login, session, ada):
    login(timezone="Australia/Perth")
    token = open_sms(client, [ada])

    response = send(client, token, htmx=True, send_at="2020-01-01T09:00")

    assert_refused(response, "send_at", "has passed")
    assert "<html" not in text(response)  # the SMS screen's block, swapped in place
    assert batches(session) == []


def test_empty_send_at_sends_now(client, login, session, ada):
    login()
    response = send(client, open_sms(client, [ada]), send_at="")

    assert response.status_code == 303
    batch = fresh(session, Batch, batch_id_of(response))
    assert batch.send_at is None
    assert all(m.next_attempt_at is not None for m in messages_of(session, batch.id))


# --- a scheduled Send ----------------------------------------------------------------------------


def test_a_scheduled_send_waits_and_says_so_in_the_users_zone(client, login, session, ada):
    login(timezone="Pacific/Auckland")
    batch_id, moment = schedule_one(client, [ada], AUCKLAND)

    batch = fresh(session, Batch, batch_id)
    assert batch.send_at == moment and batch.scheduled
    held = messages_of(session, batch_id)
    assert [(m.state, m.next_attempt_at) for m in held] == [("queued", None)]
    assert [e.details["send_at"] for e in audits(session, "sms.scheduled")] == [moment.isoformat()]

    page = client.get(f"/sms/batches/{batch_id}")
    shown = tree(page).one(id="scheduled-for").text
    assert f"Scheduled for {when(moment, AUCKLAND)}" in shown
    assert "NZ" in when(moment, AUCKLAND)  # NZDT or NZST: the reader's zone, not the server's
    assert 'role="progressbar"' not in text(page)
    assert "Resend" not in text(page)
    assert 'http-equiv="refresh"' not in text(page)  # nothing to watch until it goes

    row = sent_row(client, batch_id)
    assert f"Scheduled for {when(moment, AUCKLAND)}" in row.text
    assert row.all("svg") == []  # no 0 % bar
    assert buttons(row) == ["Cancel scheduled send"]


def test_a_scheduled_batch_lists_who_it_will_reach_with_no_polling_and_no_resend(
    client, login, session, three_people
):
    login(timezone="Pacific/Auckland")
    batch_id, _ = schedule_one(client, three_people[:2], AUCKLAND)

    # A state typed in the address filters nothing: every recipient is listed.
    response = client.get(f"/sms/batches/{batch_id}", query_string={"state": "delivered"})

    page = tree(response)
    table = page.one("section", id="recipients").one("table", class_="messages")
    rows = table.one("tbody").all("tr")
    assert [row.one("td", class_="recipient").text.strip() for row in rows] == [
        "Ada Lovelace",
        "Bob Brown",
    ]
    assert [row.one("td", class_="state-cell").text.strip() for row in rows] == ["queued"] * 2
    assert page.one("section", id="progress").get("hx-get") is None
    assert 'http-equiv="refresh"' not in text(response)
    assert "Resend" not in text(response)
    assert 'role="progressbar"' not in text(response)
    assert "No message is delivered" not in text(response)
    # htmx asking for the progress block gets the banner and the list, still without polling.
    part = client.get(f"/sms/batches/{batch_id}", htmx=True)
    assert "Bob Brown" in text(part) and "hx-" not in text(part)


def test_a_cancelled_batch_has_no_recipients_left_to_list(client, login, session, three_people):
    """Cancel withdraws (deletes) the held messages: the page says so and draws no empty table."""
    login(timezone="Pacific/Auckland")
    batch_id, _ = schedule_one(client, three_people[:2], AUCKLAND)
    client.get(f"/sms/batches/{batch_id}/cancel")
    assert client.post(f"/sms/batches/{batch_id}/cancel").status_code == 303

    page = tree(client.get(f"/sms/batches/{batch_id}"))

    assert "nothing was sent" in page.one(id="scheduled-for").text
    assert page.all("table", class_="messages") == []
    assert page.all("section", id="recipients") == []


def test_a_scheduled_send_with_htmx_goes_to_its_batch_page(client, login, session, ada):
    login(timezone="Australia/Perth")
    typed, moment = local_tomorrow(PERTH)

    response = send(client, open_sms(client, [ada]), htmx=True, send_at=typed)

    assert response.status_code == 204
    [batch] = batches(session)
    assert response.headers["HX-Redirect"] == f"/sms/batches/{batch.id}"
    assert batch.send_at == moment


def test_the_confirmation_of_a_big_send_says_and_carries_the_time(
    client, login, session, three_people
):
    login(timezone="Pacific/Auckland")
    token = open_sms(client, three_people)
    typed, moment = local_tomorrow(AUCKLAND, 8, 0)

    asked = send(client, token, send_at=typed)
    assert asked.status_code == 303
    page = client.get(asked.headers["Location"])
    assert f"Scheduled for {when(moment, AUCKLAND)}" in tree(page).one(id="confirm-send-at").text
    form = tree(page).one("form", hx_target="#compose")
    assert form.one("input", name="send_at").get("value") == typed
    assert batches(session) == []

    digest = DIGEST.search(text(page)).group(1)
    response = client.post(
        f"/sms/compose/{token}/send", data={"confirmed": digest, "send_at": typed}
    )

    assert response.status_code == 303, text(response)
    batch = fresh(session, Batch, batch_id_of(response))
    assert batch.send_at == moment
    assert all(m.next_attempt_at is None for m in messages_of(session, batch.id))


def test_a_time_changed_in_another_tab_after_the_confirmation_is_confirmed_anew(
    client, login, session, three_people
):
    login(timezone="Pacific/Auckland")
    token = open_sms(client, three_people)
    typed, _ = local_tomorrow(AUCKLAND, 8, 0)
    page = client.get(send(client, token, send_at=typed).headers["Location"])
    digest = DIGEST.search(text(page)).group(1)
    later, _ = local_tomorrow(AUCKLAND, 18, 0)
    client.post(f"/sms/compose/{token}/save", data={"send_at": later})  # the other tab

    response = client.post(
        f"/sms/compose/{token}/send", data={"confirmed": digest, "send_at": typed}
    )

    assert response.status_code == 409
    assert "changed after you saw the confirmation" in text(response)
    assert batches(session) == []


def by_hand(typed: str) -> str:
    """A datetime-local value as one types it where the browser has no date-time field: a space
    for the T, the hour without its zero ("2026-12-07 8:00")."""
    day, clock = typed.split("T")
    hour, minute = clock.split(":")
    return f"{day} {int(hour)}:{minute}"


def test_a_time_typed_by_hand_is_kept_through_a_big_sends_confirmation(
    client, login, session, three_people
):
    """Send read it, the draft did not: the confirmation came back without the time, and its
    button sent at once."""
    login(timezone="Pacific/Auckland")
    token = open_sms(client, three_people)
    typed, moment = local_tomorrow(AUCKLAND, 8, 0)

    asked = send(client, token, send_at=by_hand(typed))

    assert asked.status_code == 303
    page = client.get(asked.headers["Location"])
    assert f"Scheduled for {when(moment, AUCKLAND)}" in tree(page).one(id="confirm-send-at").text
    carried = tree(page).one("form", hx_target="#compose").one("input", name="send_at")
    assert carried.get("value") == typed
    digest = DIGEST.search(text(page)).group(1)
    response = client.post(
        f"/sms/compose/{token}/send", data={"confirmed": digest, "send_at": typed}
    )
    assert response.status_code == 303, text(response)
    assert fresh(session, Batch, batch_id_of(response)).send_at == moment


def test_a_time_typed_by_hand_and_confirmed_with_htmx_is_not_taken_for_another_tabs(
    client, login, session, three_people
):
    login(timezone="Pacific/Auckland")
    token = open_sms(client, three_people)
    typed, moment = local_tomorrow(AUCKLAND, 8, 0)
    asked = send(client, token, htmx=True, send_at=by_hand(typed))
    carried = tree(asked).one("form", hx_target="#compose").one("input", name="send_at")
    digest = DIGEST.search(text(asked)).group(1)

    response = client.post(
        f"/sms/compose/{token}/send",
        data={"confirmed": digest, "send_at": carried.get("value")},
        htmx=True,
    )

    assert response.status_code == 204, text(response)
    [batch] = batches(session)
    assert batch.send_at == moment


def test_a_send_at_that_names_no_time_is_kept_as_typed_and_refused_never_sent_now(
    client, login, session, ada
):
    """Kept as nothing, it came back empty after Preview, and Send then sent at once."""
    login(timezone="Pacific/Auckland")
    token = open_sms(client, [ada])
    assert (
        client.post(f"/sms/compose/{token}/save", data={"send_at": "tomorrow 9am"}).status_code
        == 204
    )

    shown = tree(client.get(f"/sms/compose/{token}")).one("input", id="send_at")
    # As text: a date-time field would show it empty, and post it empty, which sends now.
    assert (shown.get("type"), shown.get("value")) == ("text", "tomorrow 9am")
    assert_refused(send(client, token, send_at="tomorrow 9am"), "send_at", "is not a date and time")
    assert batches(session) == []


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_a_message_and_a_send_at_both_wrong_are_both_said_beside_their_fields(
    client, login, session, ada, htmx
):
    """Only the Send at's error was shown: the message's came after the time was put right."""
    login()
    token = open_sms(client, [ada])

    refused = send(client, token, htmx=htmx, message="Hi {{nope}}", send_at="tomorrow 9am")

    assert refused.status_code == 400
    page = text(refused)
    assert_invalid(page, "message", "Unknown merge field(s): {{nope}}")
    assert_invalid(page, "send_at", "is not a date and time")
    assert "autofocus" in tree(refused).one("textarea", id="message").attrs  # the first of them
    assert batches(session) == []


def test_the_browser_checks_the_sms_screen_before_any_of_its_buttons_posts(client, login, ada):
    """A Send at typed in part (no AM/PM) posts as empty, which sends now, and a redraw (Preview,
    Remove…) would bring it back empty for Send: the browser holds every button back on the field.
    It is the form's one browser check: the server says what else is missing, in its own words."""
    login()
    page = tree(client.get(f"/sms/compose/{open_sms(client, [ada])}"))
    form = page.one("form", id="compose-form")
    assert "novalidate" not in form.attrs
    assert [b.text for b in form.all("button") if "formnovalidate" in b.attrs] == []
    checked = [f.get("id") for f in form.all("input") if f.get("type") == "datetime-local"]
    assert checked == ["send_at"]
    assert not [f for f in form.all("input") if "required" in f.attrs]


# --- cancel --------------------------------------------------------------------------------------


def test_cancel_asks_first_then_withdraws_everything_and_says_who(
    client, login, session, three_people
):
    user = login(timezone="Pacific/Auckland", full_name="Casey Jones")
    batch_id, moment = schedule_one(client, three_people[:2], AUCKLAND)

    # The Sent row's button is a GET form: it only opens the question.
    form = sent_row(client, batch_id).one("form")
    assert (form.get("method"), form.get("action")) == ("get", f"/sms/batches/{batch_id}/cancel")
    question = client.get(form.get("action"))
    assert question.status_code == 200
    heading = tree(question).one("h1").text
    assert heading == f"Cancel the send of 2 messages scheduled for {when(moment, AUCKLAND)}?"
    posting = tree(question).one("form", action=f"/sms/batches/{batch_id}/cancel")
    assert buttons(posting) == ["Cancel scheduled send"]
    assert len(messages_of(session, batch_id)) == 2  # asking changed nothing

    response = client.post(f"/sms/batches/{batch_id}/cancel")

    assert (response.status_code, response.headers["Location"]) == (303, "/sms/sent")
    sent = client.get("/sms/sent")
    assert "Scheduled send cancelled: 2 messages withdrawn; nothing was sent." in text(sent)
    batch = fresh(session, Batch, batch_id)
    assert (batch.cancelled_by_id, batch.scheduled) == (user.id, False)
    assert messages_of(session, batch_id) == []
    row = tree(sent).one("tr", id=f"batch-{batch_id}")
    assert (
        f"Cancelled by Casey Jones at {when(batch.cancelled_at, AUCKLAND)}; nothing was sent"
        in row.text
    )
    assert buttons(row) == []
    assert (
        "Cancelled by Casey Jones"
        in tree(client.get(f"/sms/batches/{batch_id}")).one(id="scheduled-for").text
    )


def test_a_batch_refused_at_its_time_says_so_when_cancelled_or_edited(client, login, session, ada):
    """It was released and refused (a daily limit), so nothing went: not "it went at"."""
    user = login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    for active in (False, True):  # switched off at its time, so it is refused; back on since
        writing(session)
        fresh(session, User, user.id).active = active
        session.commit()
        if not active:
            release(session, batch_id)
    assert {m.state for m in messages_of(session, batch_id)} == {"failed"}

    page = client.get(f"/sms/batches/{batch_id}/cancel")
    assert page.status_code == 409
    assert "was released at" in text(page) and "refused then, so nothing was sent" in text(page)
    assert "it went at" not in text(page)


def test_cancel_pressed_twice_answers_as_the_first_press_did(client, login, session, ada):
    """A slow connection, or the question in two tabs: the second press found it cancelled and
    said "Casey Jones cancelled it" (a 409) to Casey Jones, whose own cancel had worked."""
    login(full_name="Casey Jones")
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    client.get(f"/sms/batches/{batch_id}/cancel")  # both tabs show the question
    assert client.post(f"/sms/batches/{batch_id}/cancel").status_code == 303

    again = client.post(f"/sms/batches/{batch_id}/cancel")

    assert (again.status_code, again.headers["Location"]) == (303, "/sms/sent")
    shown = text(client.get("/sms/sent"))
    assert "Scheduled send cancelled: 1 message withdrawn; nothing was sent." in shown
    assert "no longer scheduled" not in shown
    assert len(audits(session, "sms.schedule_cancelled")) == 1


def test_cancel_long_after_it_was_cancelled_is_409_and_says_what_happened(
    client, login, session, ada
):
    login(full_name="Casey Jones")
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    client.get(f"/sms/batches/{batch_id}/cancel")  # a tab left open on the question
    assert client.post(f"/sms/batches/{batch_id}/cancel").status_code == 303
    writing(session)
    fresh(session, Batch, batch_id).cancelled_at = utcnow() - timedelta(minutes=3)
    session.commit()

    again = client.post(f"/sms/batches/{batch_id}/cancel")

    assert again.status_code == 409
    assert "Casey Jones cancelled it" in tree(again).one("p", role="alert").text
    assert client.get(f"/sms/batches/{batch_id}/cancel").status_code == 409
    assert len(audits(session, "sms.schedule_cancelled")) == 1


def test_cancel_from_a_filtered_sent_list_goes_back_to_it(client, login, session, ada):
    """The row's form carries the list's address; the question keeps it, and both Cancel and
    Keep it scheduled go back there (page 1 with no filters, and the batch page, before)."""
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    listed = "/sms/sent?state=queued&text=shift+starts"

    form = sent_row(client, batch_id, text="shift starts", state="queued").one("form")
    assert form.one("input", type="hidden").attrs == {
        "type": "hidden",
        "name": "back",
        "value": listed,
    }
    question = tree(client.get(form.get("action"), query_string={"back": listed}))
    posting = question.one("form", action=f"/sms/batches/{batch_id}/cancel")
    assert posting.one("input", name="back").get("value") == listed
    keep = [a for a in posting.all("a") if a.text == "Keep it scheduled"]
    assert [a.get("href") for a in keep] == [listed]

    response = client.post(f"/sms/batches/{batch_id}/cancel", data={"back": listed})

    assert (response.status_code, response.headers["Location"]) == (303, listed)
    assert "1 message withdrawn" in text(client.get(listed))
    # Pressed again: the same answer, to the same place.
    again = client.post(f"/sms/batches/{batch_id}/cancel", data={"back": listed})
    assert again.headers["Location"] == listed


def test_the_unfiltered_sent_list_comes_back_to_itself(client, login, session, ada):
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))

    form = sent_row(client, batch_id).one("form")

    assert form.one("input", name="back").get("value") == "/sms/sent"


@pytest.mark.parametrize(
    "back",
    [
        "//evil.example/sms/sent",
        "https://evil.example/sms/sent?text=Hi",
        "/other-page",
        "/sms/sent/../../admin",
        "/sms/sentinel",
        "/\\evil.example/sms/sent",
        "javascript:alert(1)",
    ],
)
def test_a_back_that_is_not_the_sent_list_is_ignored(client, login, session, ada, back):
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))

    question = tree(client.get(f"/sms/batches/{batch_id}/cancel", query_string={"back": back}))
    posting = question.one("form", action=f"/sms/batches/{batch_id}/cancel")
    assert posting.all("input", name="back") == []
    keep = [a.get("href") for a in posting.all("a") if a.text == "Keep it scheduled"]
    assert keep == [f"/sms/batches/{batch_id}"]
    response = client.post(f"/sms/batches/{batch_id}/cancel", data={"back": back})

    assert (response.status_code, response.headers["Location"]) == (303, "/sms/sent")


def test_a_released_batch_can_no_longer_be_cancelled_or_edited(client, login, session, ada):
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    release(session, batch_id)

    for path in ("cancel", "edit"):
        page = client.get(f"/sms/batches/{batch_id}/{path}")
        assert page.status_code == 409, path
        assert "it went at" in text(page)
    assert client.post(f"/sms/batches/{batch_id}/cancel").status_code == 409
    edited = client.post(f"/sms/batches/{batch_id}/edit", data={"message": "Changed"})
    assert edited.status_code == 409
    assert ">\nChanged</textarea>" in text(edited)  # kept, to be copied
    assert [m.body for m in messages_of(session, batch_id)] == ["Hi Ada, your shift starts at 7."]
    # Released: the batch page shows its progress again.
    assert 'role="progressbar"' in text(client.get(f"/sms/batches/{batch_id}"))


def sent_and_gone(client, login, session, ada, monkeypatch) -> tuple[str, str, int]:
    """A scheduled Send that went at its time, a minute ago: the screen's token, the time typed
    and the batch id."""
    login(timezone="Pacific/Auckland")
    token = open_sms(client, [ada])
    typed, moment = local_tomorrow(AUCKLAND)
    batch_id = batch_id_of(send(client, token, send_at=typed))
    release(session, batch_id)
    monkeypatch.setattr(schedule, "utcnow", lambda: moment + timedelta(minutes=1))
    return token, typed, batch_id


def test_sending_again_after_a_scheduled_send_went_opens_its_batch(
    client, login, session, ada, monkeypatch
):
    token, typed, batch_id = sent_and_gone(client, login, session, ada, monkeypatch)

    again = send(client, token, send_at=typed)  # Back and Send, its time passed meanwhile

    assert again.status_code == 303, text(again)
    assert batch_id_of(again) == batch_id
    assert [b.id for b in batches(session)] == [batch_id]
    assert len(messages_of(session, batch_id)) == 1


def test_sending_again_now_after_a_scheduled_send_went_says_when_it_went(
    client, login, session, ada, monkeypatch
):
    token, _typed, batch_id = sent_and_gone(client, login, session, ada, monkeypatch)
    released = fresh(session, Batch, batch_id).released_at

    again = send(client, token, send_at="")

    assert again.status_code == 409
    said = tree(again).one("span", id="send-at-error").text
    assert f"already sent as batch {batch_id}: it went at {when(released, AUCKLAND)}" in said
    assert "it was not sent again" in said
    assert "cancel" not in said  # nothing waits to be cancelled
    assert_invalid(text(again), "send_at", said)
    assert [b.id for b in batches(session)] == [batch_id]
    assert len(messages_of(session, batch_id)) == 1


def test_resend_is_not_offered_while_scheduled(client, login, ada):
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))

    assert client.get(f"/sms/batches/{batch_id}/resend").status_code == 409


# --- edit ----------------------------------------------------------------------------------------


def test_edit_text_remakes_each_persons_message_until_it_goes(client, login, session, three_people):
    login(timezone="Australia/Perth")
    batch_id, moment = schedule_one(client, three_people[:2], PERTH)
    page = client.get(f"/sms/batches/{batch_id}")
    link = tree(page).one("a", href=f"/sms/batches/{batch_id}/edit")
    assert link.text == "Edit text"

    form = client.get(link.get("href"))
    assert form.status_code == 200
    assert tree(form).one("label", for_="message").text == "Message"
    assert ">\nHi {{first_name}}, your shift starts at 7.</textarea>" in text(form)
    assert buttons(tree(form).one("form", action=f"/sms/batches/{batch_id}/edit")) == ["Save text"]

    response = client.post(
        f"/sms/batches/{batch_id}/edit", data={"message": "{{first_name}}: shift moved to 8."}
    )

    assert (response.status_code, response.headers["Location"]) == (
        303,
        f"/sms/batches/{batch_id}",
    )
    assert [m.body for m in messages_of(session, batch_id)] == [
        "Ada: shift moved to 8.",
        "Bob: shift moved to 8.",
    ]
    after = client.get(f"/sms/batches/{batch_id}")
    assert f"the 2 messages go with it at {when(moment, PERTH)}" in text(after)
    assert fresh(session, Batch, batch_id).scheduled


def test_edit_text_of_one_message_says_it_goes(client, login, session, ada):
    login(timezone="Australia/Perth")
    batch_id, moment = schedule_one(client, [ada], PERTH)

    client.post(f"/sms/batches/{batch_id}/edit", data={"message": "Shift moved to 8."})

    page = text(client.get(f"/sms/batches/{batch_id}"))
    assert f"Text saved: the 1 message goes with it at {when(moment, PERTH)}." in page


def test_edit_text_refused_is_shown_on_the_field_and_changes_nothing(client, login, session, ada):
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))

    response = client.post(f"/sms/batches/{batch_id}/edit", data={"message": "Hi {{nickname}}"})

    assert_refused(response, "message", "Unknown merge field")
    assert ">\nHi {{nickname}}</textarea>" in text(response)
    assert [m.body for m in messages_of(session, batch_id)] == ["Hi Ada, your shift starts at 7."]


def test_edit_text_with_a_brace_too_many_is_refused_and_changes_nothing(
    client, login, session, ada
):
    """ "{{{first_name}}}" went to the recipient as "Hi {Ada}", with no word."""
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))

    response = client.post(f"/sms/batches/{batch_id}/edit", data={"message": "Hi {{{first_name}}}"})

    assert_refused(response, "message", "Unfinished merge field(s): {{{first_name}}}.")
    assert [m.body for m in messages_of(session, batch_id)] == ["Hi Ada, your shift starts at 7."]


def test_edit_text_saved_in_another_tab_meanwhile_is_not_lost_unseen(client, login, session, ada):
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    url = f"/sms/batches/{batch_id}/edit"
    first_tab = tree(client.get(url)).one("input", type="hidden", name="shown").get("value")
    assert first_tab == "Hi {{first_name}}, your shift starts at 7."
    # Another tab, opened at the same time, saves first.
    other = {"message": "Shift moved to 8.\r\nBring boots.", "shown": first_tab}
    assert client.post(url, data=other).status_code == 303

    response = client.post(url, data={"message": "Shift moved to 9.", "shown": first_tab})

    assert response.status_code == 409
    page = text(response)
    assert "changed and saved elsewhere" in page
    assert "It now reads: “Shift moved to 8.\nBring boots.”" in page
    assert ">\nShift moved to 9.</textarea>" in page  # what was typed stays
    now_shown = tree(response).one("input", type="hidden", name="shown").get("value")
    assert [m.body for m in messages_of(session, batch_id)] == ["Shift moved to 8.\nBring boots."]
    # Saved again, knowingly: it replaces the other tab's text.
    again = client.post(url, data={"message": "Shift moved to 9.", "shown": now_shown})
    assert again.status_code == 303
    assert [m.body for m in messages_of(session, batch_id)] == ["Shift moved to 9."]


def test_save_text_pressed_twice_is_saved_not_refused_as_changed_elsewhere(
    client, login, session, ada
):
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    url = f"/sms/batches/{batch_id}/edit"
    shown = tree(client.get(url)).one("input", type="hidden", name="shown").get("value")
    form = {"message": "Shift moved to 8.", "shown": shown}

    assert client.post(url, data=form).status_code == 303
    again = client.post(url, data=form)  # the second press, on a slow network

    assert again.status_code == 303, text(again)
    assert [m.body for m in messages_of(session, batch_id)] == ["Shift moved to 8."]
    assert len(audits(session, "sms.schedule_edited")) == 1


def test_edit_text_of_a_commercial_send_keeps_its_opt_out_line_out_of_the_box(
    client, login, session, ada
):
    login()
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"), commercial="1")
    batch = fresh(session, Batch, batch_id)
    line = batch.opt_out_line
    assert batch.body.endswith("\n" + line)

    form = text(client.get(f"/sms/batches/{batch_id}/edit"))
    assert ">\nHi {{first_name}}, your shift starts at 7.</textarea>" in form
    assert (
        client.post(
            f"/sms/batches/{batch_id}/edit", data={"message": "New roles, {{first_name}}."}
        ).status_code
        == 303
    )
    assert [m.body for m in messages_of(session, batch_id)] == [f"New roles, Ada.\n{line}"]


# --- who may -------------------------------------------------------------------------------------


def test_only_the_sender_may_cancel_or_edit(client, login, make_user, session, ada):
    sender = make_user(role="consultant", full_name="Casey Jones")
    client.login(sender.username)
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    client.post("/logout")

    # A team leader sees everyone's batches (audit.view), but may not change another's.
    login(role="team-leader")
    page = client.get(f"/sms/batches/{batch_id}")
    assert page.status_code == 200 and "Scheduled for" in text(page)
    assert "Cancel scheduled send" not in text(page) and "Edit text" not in text(page)
    row = sent_row(client, batch_id, who="everyone")
    assert "Scheduled for" in row.text and buttons(row) == []
    for method in ("GET", "POST"):
        for path in ("cancel", "edit"):
            response = client.open(
                f"/sms/batches/{batch_id}/{path}", method=method, data={"message": "x"}
            )
            assert response.status_code == 403, (method, path)
            assert "Only Casey Jones" in text(response)
    client.post("/logout")

    # Another consultant does not see it at all.
    login(role="consultant")
    assert client.get(f"/sms/batches/{batch_id}").status_code == 404
    for path in ("cancel", "edit"):
        assert client.get(f"/sms/batches/{batch_id}/{path}").status_code == 404
        assert client.post(f"/sms/batches/{batch_id}/{path}").status_code == 404
    client.post("/logout")

    login(role="viewer")
    assert client.get(f"/sms/batches/{batch_id}/cancel").status_code == 404
    assert client.post(f"/sms/batches/{batch_id}/cancel").status_code == 404

    assert fresh(session, Batch, batch_id).scheduled
    assert len(messages_of(session, batch_id)) == 1


# --- review fixes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_settings", [{"SMS_CONFIRM_OVER": CONFIRM_OVER, "QUIET_HOURS": "20:00-08:00"}]
)
def test_a_send_at_far_beyond_the_limit_is_refused_and_the_screen_still_opens(
    client, login, session, ada
):
    login(timezone="Australia/Sydney")
    token = open_sms(client, [ada])
    far = "9999-12-31T23:00"
    assert client.post(f"/sms/compose/{token}/save", data={"send_at": far}).status_code == 204

    response = send(client, token, send_at=far)

    assert_refused(response, "send_at", "at most 90 days")
    assert batches(session) == []
    # Kept on the draft as typed, it does not break the screen (quiet hours are planned for now).
    draft = session.scalar(sa.select(ComposeDraft).where(ComposeDraft.token == token))
    assert draft.send_at.year == 9999
    again = client.get(f"/sms/compose/{token}")
    assert again.status_code == 200, text(again)
    assert 'value="9999-12-31T23:00"' in control(text(again), "send_at")


@pytest.mark.parametrize(
    ("typed", "zone", "shown", "refusal"),
    [
        # Typed in Sydney, shown as typed in Los Angeles, whose clocks named no moment before
        # year 1's first hours in Sydney, and in Kiritimati (UTC+14), whose clocks name none after
        # year 9999's last; Send reads it in the zone of the day.
        ("0001-01-01T11:00", "America/Los_Angeles", "0001-01-01T11:00", "has passed"),
        ("9999-12-31T23:00", "Pacific/Kiritimati", "9999-12-31T23:00", "at most 90 days"),
    ],
)
def test_a_send_at_at_the_calendars_end_still_opens_the_screen_in_another_zone(
    client, login, session, ada, typed, zone, shown, refusal
):
    me = login(timezone="Australia/Sydney")
    token = open_sms(client, [ada])
    assert client.post(f"/sms/compose/{token}/save", data={"send_at": typed}).status_code == 204
    # Shown back in the zone it was typed in, with its four-digit year.
    assert f'value="{typed}"' in control(text(client.get(f"/sms/compose/{token}")), "send_at")
    me.timezone = zone  # as Profile saves it
    session.commit()

    again = client.get(f"/sms/compose/{token}")

    assert again.status_code == 200, text(again)
    assert f'value="{shown}"' in control(text(again), "send_at")
    assert_refused(send(client, token, send_at=shown), "send_at", refusal)
    assert batches(session) == []


def test_a_batch_due_but_not_yet_released_says_it_is_going_out_now(client, login, session, ada):
    login(timezone="Australia/Sydney")
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    assert "Scheduled for" in sent_row(client, batch_id).text
    due = utcnow().replace(microsecond=0) - timedelta(seconds=30)
    session.execute(sa.update(Batch).where(Batch.id == batch_id).values(send_at=due))
    session.commit()

    row = sent_row(client, batch_id).text

    assert f"Due at {when(due, ZoneInfo('Australia/Sydney'))} — going out now" in row
    assert "Scheduled for" not in row


def test_a_released_batch_on_sent_mentions_its_send_time(client, login, session, ada):
    login(timezone="Australia/Sydney")
    batch_id, moment = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    release(session, batch_id)

    row = sent_row(client, batch_id).text

    assert f"released at its time, {when(moment, ZoneInfo('Australia/Sydney'))}" in row


def test_a_batch_released_late_says_when_it_went_on_sent_as_on_its_page(
    client, login, session, ada
):
    # The worker was down at its time: it went two minutes late, when the worker came back.
    login(timezone="Australia/Sydney")
    batch_id, moment = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    late = moment + timedelta(minutes=2)
    assert batch_id in schedule.release_due(
        session, late, limit_settings=LimitSettings(), quiet_settings=None
    )
    shown = when(late, ZoneInfo("Australia/Sydney"))

    row = sent_row(client, batch_id).text

    assert f"released late, at {shown}" in row
    assert "released at its time" not in row
    assert when(moment, ZoneInfo("Australia/Sydney")) not in row
    batch_page = tree(client.get(f"/sms/batches/{batch_id}"))
    assert shown in batch_page.one("dl", **{"class": "details"}).text  # "Released at …"


def test_a_cancel_by_someone_without_a_full_name_names_them_by_username(
    client, login, session, ada
):
    user = login(full_name="")
    batch_id, _ = schedule_one(client, [ada], ZoneInfo("Australia/Sydney"))
    assert client.post(f"/sms/batches/{batch_id}/cancel").status_code == 303

    row = sent_row(client, batch_id).text

    assert f"Cancelled by {user.username} at" in row
    assert "Cancelled by  at" not in row


def test_the_conversation_shows_a_scheduled_sms_as_scheduled_after_what_came_in(
    app, client, login, session, ada
):
    """It said "Sent …, queued" at the time it was written, listed replies after it, and fetched
    the thread every 3 s for as long as it waited (up to 90 days)."""
    me = login(timezone="Australia/Perth")
    batch_id, moment = schedule_one(client, [ada], PERTH)
    reply = receive(app, session, "See you then", from_number="61412345678")

    page = tree(client.get(f"/candidates/{ada.id}"))

    thread = page.one("div", id="thread")
    assert "hx-trigger" not in thread.attrs  # nothing shown is on its way now
    items = thread.one("ol").all("li")
    assert [item.get("id") for item in items][-2:] == [
        f"message-{reply.id}",
        f"message-{messages_of(session, batch_id)[0].id}",
    ]
    meta = items[-1].one("p", class_="history-meta").text
    assert meta.startswith(f"Scheduled by {me.full_name} for {when(moment, PERTH)} to ")
    assert "queued" not in meta


def test_edit_texts_counter_follows_the_typing_and_saves_nothing(client, login, session, ada):
    """It was drawn once: an emoji added did not make it say UCS-2, as the saved text is."""
    login(timezone="Australia/Perth")
    batch_id, _moment = schedule_one(client, [ada], PERTH)
    url = f"/sms/batches/{batch_id}/edit"
    textarea = tree(client.get(url)).one("textarea", id="message")
    assert (textarea.get("hx-post"), textarea.get("hx-target")) == (url, "#sms-counter")

    counted = client.post(url, data={"action": "counter", "message": "Bring ID 🙂"}, htmx=True)

    output = tree(counted).one("output", id="sms-counter")
    expected = segments.count("Bring ID 🙂")
    assert expected.encoding == "UCS-2"
    assert (output.get("data-characters"), output.get("data-encoding")) == (
        str(expected.characters),
        "UCS-2",
    )
    assert "<form" not in text(counted)
    before = [m.body for m in messages_of(session, batch_id)]
    plain = client.post(url, data={"action": "counter", "message": "Changed"})
    assert (plain.status_code, plain.headers["Location"]) == (303, url)
    assert [m.body for m in messages_of(session, batch_id)] == before
