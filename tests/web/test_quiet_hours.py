"""Quiet hours on the pages, on a fixed clock: the SMS screen says how many messages will wait and
until when, the batch page shows them waiting, and the Settings page's value (checked, audited)
wins over QUIET_HOURS."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.html_tree import html, section_notices
from tests.pages import assert_refused, audits, open_sms_screen, text
from webapp.batches import routes as batch_routes
from webapp.compose import screen
from webapp.models import ComposeDraft, Setting
from webapp.sms import outbox

# 23:00 in Sydney (AEDT), 01:00 in Auckland, noon in London.
NIGHT_IN_SYDNEY = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
WAITING = (
    "2 messages will wait for quiet hours (20:00–08:00 in each recipient’s time) and go from "
    "6 Jan 2026, 6:00 am AEDT to 6 Jan 2026, 8:00 am AEDT your time."
)


@pytest.fixture
def app_settings() -> dict:
    return {"QUIET_HOURS": "20:00-08:00"}


@pytest.fixture
def clock(monkeypatch):
    for module in (screen, outbox, batch_routes):
        monkeypatch.setattr(module, "utcnow", lambda: NIGHT_IN_SYDNEY)
    return NIGHT_IN_SYDNEY


@pytest.fixture
def people(make_candidate):
    return [
        make_candidate("Ada", "Lovelace", "0412 345 678"),  # Sydney: 08:00 AEDT is 21:00 UTC
        make_candidate("Kiri", "Tane", "+64 21 123 4567"),  # Auckland and Chatham: 19:00 UTC
        make_candidate("Bob", "Brown", "+44 7400 123456"),  # London: noon, not quiet
    ]


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def open_sms(client, people) -> tuple[str, str]:
    return open_sms_screen(client, people)


def test_the_sms_screen_says_how_many_will_wait_and_until_when(client, login, people, clock):
    login("consultant")
    _token, page = open_sms(client, people)

    assert WAITING in words(page)
    assert 'id="quiet-hours-note"' in page
    # Said with Send at, whose time it follows (a screen reader hears it there).
    send_at = re.search(r'<input id="send_at"[^>]*aria-describedby="([^"]*)"', page).group(1)
    assert "quiet-hours-note" in send_at.split()


def test_the_sms_screen_counts_at_the_drafts_send_at(client, login, session, people, clock):
    login("consultant")
    token, _ = open_sms(client, people)
    draft = session.scalar(sa.select(ComposeDraft).where(ComposeDraft.token == token))
    draft.send_at = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)  # 13:00 in Sydney, 02:00 in London
    session.commit()

    page = words(text(client.get(f"/sms/compose/{token}")))

    assert (
        "1 message will wait for quiet hours (20:00–08:00 in each recipient’s time) and go at "
        "6 Jan 2026, 7:00 pm AEDT your time." in page
    )


@pytest.mark.parametrize("step", ["counter", "preview"])
def test_a_send_at_typed_with_javascript_redraws_the_note_out_of_band(
    client, login, people, clock, step
):
    """compose.js runs the counter when Send at changes: its answer (and Preview's) carries the
    note worked out for the time posted. The note was the draft's as the page first showed it."""
    login("consultant")
    ada, _kiri, bob = people  # Sydney and London: both awake only from 19:00 to 20:00 in Sydney
    token, _ = open_sms(client, [ada, bob])
    url = f"/sms/compose/{token}/{step}"

    def note(send_at: str):
        response = client.post(
            url,
            data={"message": "Hi {{first_name}}", "send_at": send_at},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        found = re.search(r'<p id="quiet-hours-note"([^>]*)>(.*?)</p>', text(response), re.S)
        return found.group(1), words(found.group(2))

    attributes, said = note("2026-01-06T13:00")  # 02:00 in London
    assert 'hx-swap-oob="true"' in attributes and "hidden" not in attributes
    assert said == (
        "1 message will wait for quiet hours (20:00–08:00 in each recipient’s time) and go at "
        "6 Jan 2026, 7:00 pm AEDT your time."
    )
    attributes, said = note("2026-01-06T21:00")  # 21:00 in Sydney, 10:00 in London
    assert said.endswith("go at 7 Jan 2026, 8:00 am AEDT your time.")
    attributes, said = note("2026-01-06T19:30")  # 08:30 in London
    assert 'hx-swap-oob="true"' in attributes and "hidden" in attributes and said == ""


@pytest.mark.parametrize("app_settings", [{"QUIET_HOURS": "20:00-08:00", "SMS_CONFIRM_OVER": 0}])
def test_the_confirmation_says_it_too(client, login, people, clock):
    login("consultant")
    token, _ = open_sms(client, people)
    asked = client.post(f"/sms/compose/{token}/send", data={"message": "Hi {{first_name}}"})
    assert asked.status_code == 303

    page = words(text(client.get(asked.headers["Location"])))

    assert (
        "Quiet hours 2 will wait for quiet hours (20:00–08:00 in each recipient’s time), going "
        "from 6 Jan 2026, 6:00 am AEDT to 6 Jan 2026, 8:00 am AEDT your time" in page
    )


@pytest.mark.parametrize("app_settings", [{}])
def test_with_quiet_hours_off_the_screen_says_nothing_of_them(client, login, people, clock):
    login("consultant")
    _token, page = open_sms(client, people)

    assert "quiet hours" not in page


def test_the_batch_page_shows_the_messages_waiting(client, login, people, clock):
    login("consultant")
    token, _ = open_sms(client, people)
    sent = client.post(f"/sms/compose/{token}/send", data={"message": "Hi {{first_name}}"})
    assert sent.status_code == 303, text(sent)

    page = words(text(client.get(sent.headers["Location"])))

    assert "2 waiting for quiet hours, until 6 Jan 2026, 8:00 am AEDT your time" in page
    assert "Ada Lovelace 0412 345 678 queued Waiting until 6 Jan 2026, 8:00 am AEDT" in page
    assert "Kiri Tane +64 21 123 4567 queued Waiting until 6 Jan 2026, 6:00 am AEDT" in page
    assert "Bob Brown +44 7400 123456 queued" in page
    assert "Bob Brown +44 7400 123456 queued Waiting" not in page


def test_the_setting_is_checked_audited_and_wins_over_the_environment(
    client, login, session, people, clock
):
    admin = login("administrator")
    for typed, problem in [
        ("20:00-20:00", "starts and ends at the same time"),
        ("evenings", "is not a window"),
    ]:
        response = client.post("/admin/settings/quiet-hours", data={"quiet_hours": typed})
        assert_refused(response, "quiet_hours", problem)
    assert session.get(Setting, "quiet_hours") is None

    saved = client.post("/admin/settings/quiet-hours", data={"quiet_hours": "off"})
    assert saved.status_code == 302
    assert saved.headers["Location"].endswith("/admin/settings")
    session.rollback()
    assert session.get(Setting, "quiet_hours").value == "off"
    [event] = audits(session, "settings.changed")
    assert (event.actor_id, event.details["changes"]) == (admin.id, {"quiet_hours": [None, "off"]})
    answer = client.get("/admin/settings")
    # Said in the section saved, focused: at the top of the long page nobody would see it.
    [notice] = section_notices(html(answer), "quiet-hours")
    assert notice.text == "Quiet hours saved: off."
    settings_page = text(answer)
    assert 'value="off"' in settings_page
    assert "the server’s QUIET_HOURS (20:00-08:00)" in settings_page

    # Off on the page, on in the environment: nobody waits.
    _token, page = open_sms(client, people)
    assert "quiet hours" not in page

    client.post("/admin/settings/quiet-hours", data={"quiet_hours": ""})
    _token, page = open_sms(client, people)
    assert WAITING in words(page)


@pytest.mark.parametrize(
    "typed, said",
    [
        ("9:00-5:00", "Quiet hours saved: 09:00 to 05:00, 20 hours a day."),
        ("20:30-8:00", "Quiet hours saved: 20:30 to 08:00, 11 hours 30 minutes a day."),
        ("12:00-12:01", "Quiet hours saved: 12:00 to 12:01, 1 minute a day."),
        ("", "Quiet hours saved: the server’s QUIET_HOURS (20:00-08:00)."),
    ],
)
def test_the_saved_notice_says_what_was_saved_and_how_long(client, login, session, typed, said):
    login("administrator")
    if not typed:  # something to go back from
        client.post("/admin/settings/quiet-hours", data={"quiet_hours": "off"})
        client.get("/admin/settings")

    saved = client.post("/admin/settings/quiet-hours", data={"quiet_hours": typed})

    assert saved.status_code == 302
    [notice] = section_notices(html(client.get("/admin/settings")), "quiet-hours")
    assert notice.text == said


@pytest.mark.parametrize("role", ["consultant", "team-leader"])
def test_only_settings_managers_may_change_quiet_hours(client, login, session, role):
    login(role)
    response = client.post("/admin/settings/quiet-hours", data={"quiet_hours": "off"})
    assert response.status_code == 403
    assert session.get(Setting, "quiet_hours") is None
