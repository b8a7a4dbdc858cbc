"""A form sent without JavaScript that the app does not do, because the session ended or the user
must first enrol in two-factor sign-in: the user is told, and brought back to the page it came
from (where the form is empty again)."""

from __future__ import annotations

import pytest

from tests.conftest import writing
from webapp.web import sessions

MINUTE = 60.0


def location(response) -> str:
    assert response.status_code == 302, response.status_code
    return response.headers["Location"].replace("%2F", "/")


def said(client, response) -> str:
    return client.get(location(response)).get_data(as_text=True)


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ("team-leader",)}])
def test_a_reply_sent_when_held_to_enrol_comes_back_to_its_page_said_not_sent(
    client, login, make_candidate
):
    """Sending a quick reply without JavaScript, after an administrator made the role need
    two-factor sign-in, went to enrolment with no way back and nothing said of the reply."""
    ada = make_candidate()
    login("team-leader")
    page = f"/candidates/{ada.id}"

    response = client.post(
        f"{page}/reply",
        data={"message": "Can you start Monday?"},
        headers={"Referer": f"http://localhost{page}"},
    )

    assert location(response) == f"/profile/two-factor?next={page}"
    shown = said(client, response)
    assert sessions.NOT_SENT_HELD in shown


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ("team-leader",)}])
def test_a_page_asked_for_when_held_to_enrol_says_nothing_was_lost(client, login, make_candidate):
    ada = make_candidate()
    login("team-leader")

    response = client.get(f"/candidates/{ada.id}")

    assert location(response) == f"/profile/two-factor?next=/candidates/{ada.id}"
    assert sessions.NOT_SENT_HELD not in said(client, response)


def test_a_form_sent_after_the_session_expired_says_it_was_not_done(
    client, login, clock, make_candidate
):
    ada = make_candidate()
    login("consultant")
    page = f"/candidates/{ada.id}"
    clock(61 * MINUTE)

    response = client.post(
        f"{page}/reply",
        data={"message": "Are you free for an interview?"},
        headers={"Referer": f"http://localhost{page}"},
    )

    assert location(response) == f"/login?next={page}"
    shown = said(client, response)
    assert sessions.EXPIRED_MESSAGE in shown
    assert sessions.NOT_SENT_SIGNED_OUT in shown


def test_a_form_sent_after_the_account_was_switched_off_says_it_was_not_done(
    client, login, session, make_candidate
):
    ada = make_candidate()
    user = login("consultant")
    page = f"/candidates/{ada.id}"
    writing(session)
    user.active = False
    session.commit()

    response = client.post(
        f"{page}/reply", data={"message": "Hello"}, headers={"Referer": f"http://localhost{page}"}
    )

    shown = said(client, response)
    assert sessions.ENDED_MESSAGE in shown
    assert sessions.NOT_SENT_SIGNED_OUT in shown


def test_a_page_or_htmx_request_after_the_session_expired_says_only_that(
    client, login, clock, make_candidate
):
    """A page asked for lost nothing; htmx keeps what was typed on the page (compose.js)."""
    ada = make_candidate()
    login("consultant")
    clock(61 * MINUTE)

    shown = said(client, client.get(f"/candidates/{ada.id}"))

    assert sessions.EXPIRED_MESSAGE in shown
    assert sessions.NOT_SENT_SIGNED_OUT not in shown
    login("consultant")
    clock(2 * 61 * MINUTE)
    response = client.post(f"/candidates/{ada.id}/reply", data={"message": "Hi"}, htmx=True)
    assert response.status_code == 401
    shown = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert sessions.EXPIRED_MESSAGE in shown
    assert sessions.NOT_SENT_SIGNED_OUT not in shown


def test_signing_out_after_the_session_expired_says_only_that(client, login, clock):
    login("consultant")
    clock(61 * MINUTE)

    response = client.post("/logout", headers={"Referer": "http://localhost/candidates"})

    shown = client.get("/login").get_data(as_text=True)
    assert response.status_code == 302
    assert sessions.NOT_SENT_SIGNED_OUT not in shown
