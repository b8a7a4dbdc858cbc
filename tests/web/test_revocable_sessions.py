"""Sessions are held on the server: sign-out, a password change or reset, deactivation, a role
change and "Sign out everywhere" end them, for a copied cookie and in another web process alike
(a two-factor reset's are in test_two_factor)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask_login.utils import encode_cookie

from tests.conftest import PASSWORD
from tests.pages import details_of
from tests.web.conftest import START
from webapp import config as settings
from webapp import create_app
from webapp.models import AuditEvent, UserSession
from webapp.web import sessions

NEW_PASSWORD = "my-very-own-password"
TEMPORARY = "temporary-pass-4821"


# --- helpers -------------------------------------------------------------------------------------


def signed_out(response) -> bool:
    """The answer sends the browser to the sign-in page (a redirect, or htmx's HX-Redirect)."""
    if response.status_code == 401:
        return urlsplit(response.headers["HX-Redirect"]).path == "/login"
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def copy_of(client, into):
    """A second browser holding a copy of `client`'s session cookie (as a thief would)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    into.set_cookie("session", cookie.value)
    return into


def rows(session, user_id: int) -> list[UserSession]:
    session.rollback()  # end any read transaction so the requests' writes are visible
    return list(
        session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user_id)
            .order_by(UserSession.created_at)
        )
    )


@pytest.fixture
def browser(app, client):
    """Another browser on the same app (the client fixture made every test client send CSRF
    tokens)."""

    def make():
        return app.test_client()

    return make


@pytest.fixture
def other_process(app, database_url, client):
    """A second web process: its own app instance and engine on the same database."""
    second = create_app(settings.testing_config(database_url))
    second.test_client_class = type(client)
    yield second
    second.extensions["database"].engine.dispose()


# --- sign-out ------------------------------------------------------------------------------------


def test_a_copied_cookie_no_longer_works_after_sign_out(client, login, browser):
    user = login()
    stolen = client.get_cookie("session").value
    thief = browser()
    thief.set_cookie("session", stolen)
    assert thief.get("/candidates").status_code == 200
    elsewhere = browser()  # the same user signed in on another computer
    assert elsewhere.login(user.username).status_code == 302

    assert client.post("/logout").status_code == 302

    response = thief.get("/candidates")
    assert signed_out(response)
    assert sessions.ENDED_MESSAGE in thief.get(response.headers["Location"]).get_data(as_text=True)
    # That answer cleared the thief's cookie; they send their copy again, by htmx and with a form.
    thief.set_cookie("session", stolen)
    response = thief.get("/candidates", htmx=True)
    assert response.status_code == 401 and signed_out(response)
    thief.set_cookie("session", stolen)
    assert signed_out(thief.post("/profile", data={"email": "thief@example.com"}))
    assert signed_out(client.get("/candidates"))
    assert elsewhere.get("/candidates").status_code == 200  # sign-out ends only that session


def test_a_cookie_without_a_server_side_session_is_refused(client, make_user):
    """A cookie naming a user but no session the server opened (made before this release, or with
    a leaked secret key) opens nothing."""
    user = make_user()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(user.id)
        cookie["_fresh"] = True
        cookie[sessions.SIGNED_IN_AT] = cookie[sessions.LAST_SEEN_AT] = sessions.now()

    assert signed_out(client.get("/candidates"))
    with client.session_transaction() as cookie:
        assert "_user_id" not in cookie


def test_a_remember_me_cookie_opens_nothing_either(app, client, make_user):
    """The app never sets Flask-Login's remember cookie; one made with the key must not sign in."""
    user = make_user()
    with app.test_request_context():
        client.set_cookie("remember_token", encode_cookie(str(user.id)))

    assert signed_out(client.get("/candidates"))


def test_another_users_session_token_does_not_open_this_users_account(client, make_user, browser):
    mallory, victim = make_user(), make_user()
    assert client.login(mallory.username).status_code == 302
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(victim.id)  # as if the secret key had leaked

    assert signed_out(client.get("/candidates"))


def test_a_revoked_cookie_on_the_sign_in_page_just_shows_the_form(client, login, browser):
    login()
    thief = copy_of(client, browser())
    client.post("/logout")

    page = thief.get("/login")

    assert page.status_code == 200
    assert sessions.ENDED_MESSAGE in page.get_data(as_text=True)


# --- the user's own password and "Sign out everywhere" -------------------------------------------


def test_changing_ones_password_ends_the_other_sessions_but_not_this_one(
    client, login, browser, session
):
    user = login()
    laptop = browser()
    assert laptop.login(user.username).status_code == 302
    thief = copy_of(laptop, browser())

    response = client.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert client.get("/candidates").status_code == 200
    assert signed_out(laptop.get("/candidates"))
    assert signed_out(thief.get("/candidates"))
    assert [row.revoked_at is None for row in rows(session, user.id)] == [True, False]


def test_the_profile_offers_sign_out_everywhere(client, login):
    login()
    page = client.get("/profile").get_data(as_text=True)

    assert 'action="/profile/sign-out-everywhere"' in page
    assert "Sign out everywhere</button>" in page


def test_sign_out_everywhere_ends_every_session_this_one_included(client, login, browser, session):
    user = login()
    phone = browser()
    assert phone.login(user.username).status_code == 302

    response = client.post("/profile/sign-out-everywhere")

    assert signed_out(response)
    assert "signed out everywhere" in client.get("/login").get_data(as_text=True)
    assert signed_out(client.get("/candidates"))
    assert signed_out(phone.get("/candidates"))
    assert all(row.revoked_at is not None for row in rows(session, user.id))
    [event] = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "profile.signed_out_everywhere")
    ).all()
    assert (event.actor_id, event.details["sessions"]) == (user.id, 2)
    assert (event.subject_type, event.subject_id) == ("user", user.id)
    # Signing in again works, and opens a fresh session.
    assert client.login(user.username).status_code == 302
    assert client.get("/candidates").status_code == 200


def test_sign_out_everywhere_needs_the_csrf_token(client, login, browser):
    login()
    assert client.post("/profile/sign-out-everywhere", csrf=False).status_code == 400
    assert client.get("/candidates").status_code == 200


# --- an administrator's changes ------------------------------------------------------------------


@pytest.fixture
def jo_signed_in(make_user, browser):
    jo = make_user("jo")
    theirs = browser()
    assert theirs.login("jo").status_code == 302
    assert theirs.get("/candidates").status_code == 200
    return jo, theirs


def test_a_temporary_password_ends_the_users_sessions(client, login, jo_signed_in):
    login("administrator")
    jo, theirs = jo_signed_in

    assert (
        client.post(f"/admin/users/{jo.id}/password", data={"password": TEMPORARY}).status_code
        == 302
    )

    assert signed_out(theirs.get("/candidates"))
    assert client.get("/admin/users").status_code == 200  # the administrator stays signed in


def test_a_deactivated_users_session_stays_ended_after_reactivation(client, login, jo_signed_in):
    login("administrator")
    jo, theirs = jo_signed_in

    assert client.post(f"/admin/users/{jo.id}/deactivate").status_code == 302
    assert client.post(f"/admin/users/{jo.id}/reactivate").status_code == 302

    assert signed_out(theirs.get("/candidates"))
    assert theirs.login("jo").status_code == 302  # they may sign in again, afresh


def test_a_role_change_ends_the_users_sessions(client, login, jo_signed_in):
    login("administrator")
    jo, theirs = jo_signed_in
    # An edit that keeps the roles keeps the sessions.
    assert (
        client.post(
            f"/admin/users/{jo.id}/edit", data=details_of(jo, full_name="Jo Changed")
        ).status_code
        == 302
    )
    assert theirs.get("/candidates").status_code == 200

    response = client.post(f"/admin/users/{jo.id}/edit", data=details_of(jo, roles=["viewer"]))

    assert response.status_code == 302
    assert signed_out(theirs.get("/candidates"))


def test_an_administrator_changing_their_own_roles_stays_signed_in_here_only(
    client, login, browser
):
    admin = login("administrator")
    elsewhere = browser()
    assert elsewhere.login(admin.username).status_code == 302

    response = client.post(
        f"/admin/users/{admin.id}/edit", data=details_of(admin, roles=["administrator", "viewer"])
    )

    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200
    assert signed_out(elsewhere.get("/candidates"))


# --- across web processes ------------------------------------------------------------------------


def test_signing_out_in_one_process_ends_the_session_in_another(client, login, other_process):
    login()
    same_cookie_elsewhere = copy_of(client, other_process.test_client())
    assert same_cookie_elsewhere.get("/candidates").status_code == 200

    client.post("/logout")

    assert signed_out(same_cookie_elsewhere.get("/candidates"))


def test_sign_out_everywhere_reaches_a_session_opened_in_another_process(
    client, login, other_process
):
    user = login()
    there = other_process.test_client()
    assert there.login(user.username).status_code == 302
    assert there.get("/candidates").status_code == 200

    client.post("/profile/sign-out-everywhere")

    assert signed_out(there.get("/candidates"))


# --- expiry is kept by the server, not by the cookie ---------------------------------------------


def with_fresh_timestamps(thief, moment: float) -> None:
    """Re-sign the thief's copy with its own clock reset, as a cookie that refreshes itself would
    be."""
    with thief.session_transaction() as cookie:
        cookie[sessions.SIGNED_IN_AT] = cookie[sessions.LAST_SEEN_AT] = moment


@pytest.mark.parametrize("elapsed", [12 * 3600 + 60, 61 * 60 + 61], ids=["absolute", "idle"])
def test_a_copied_cookie_with_fresh_timestamps_still_expires_with_its_session(
    client, login, session, clock, browser, elapsed
):
    user = login()
    thief = copy_of(client, browser())
    clock(elapsed)  # nobody used the session meanwhile: its row was last seen at sign-in
    with_fresh_timestamps(thief, START + elapsed)

    response = thief.get("/candidates")

    assert signed_out(response)
    assert sessions.EXPIRED_MESSAGE in thief.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert [row.revoked_at is not None for row in rows(session, user.id)] == [True]
    assert signed_out(client.get("/candidates"))


def test_a_copied_cookie_kept_active_still_ends_at_the_absolute_limit(
    client, login, session, clock, browser
):
    user = login()
    thief = copy_of(client, browser())
    for hours in range(1, 13):  # the thief keeps the session active, so the row is seen every hour
        clock(hours * 3600 - 60)
        with_fresh_timestamps(thief, START + hours * 3600 - 60)
        assert thief.get("/candidates").status_code == 200
    clock(12 * 3600 + 60)
    with_fresh_timestamps(thief, START + 12 * 3600 + 60)

    assert signed_out(thief.get("/candidates"))
    assert rows(session, user.id)[0].revoked_at is not None


def test_the_rows_once_a_minute_last_seen_does_not_shorten_the_idle_limit(
    client, login, session, clock
):
    user = login()
    clock(59)  # active, but under a minute after the last write: last_seen_at stays at sign-in
    assert client.get("/candidates").status_code == 200
    assert rows(session, user.id)[0].last_seen_at == datetime.fromtimestamp(START, UTC)

    clock(59 + 60 * 60)  # an hour after that request, 60:59 after the row was last seen

    assert client.get("/candidates").status_code == 200


# --- activity is noted without a write per request -----------------------------------------------


def test_last_seen_is_written_at_most_once_a_minute_and_not_for_polling(
    client, login, session, clock
):
    user = login()
    [row] = rows(session, user.id)
    assert row.created_at == row.last_seen_at == datetime.fromtimestamp(START, UTC)

    clock(30)
    assert client.get("/candidates").status_code == 200
    assert rows(session, user.id)[0].last_seen_at == datetime.fromtimestamp(START, UTC)

    clock(90)
    assert client.post("/profile", data={"email": "new@example.com"}).status_code == 302
    assert rows(session, user.id)[0].last_seen_at == datetime.fromtimestamp(START + 90, UTC)

    clock(300)  # the batch page's progress polls on its own: not the user being active
    polled = client.get("/candidates", htmx=True, headers={"HX-Trigger": "progress"})
    assert polled.status_code == 200
    assert rows(session, user.id)[0].last_seen_at == datetime.fromtimestamp(START + 90, UTC)


def test_an_expired_session_is_ended_on_the_server_too(client, login, session, clock, browser):
    user = login()
    thief = copy_of(client, browser())
    clock(2 * 3600)  # past the idle limit

    assert signed_out(client.get("/candidates"))

    [row] = rows(session, user.id)
    assert row.revoked_at is not None
    clock(0)  # even with the clock back, the copied cookie opens nothing
    assert signed_out(thief.get("/candidates"))
