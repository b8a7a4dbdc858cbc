"""/profile and /profile/password: every user's own details and password, and the forced change of a
temporary password before anything else can be done."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from tests.conftest import office_named
from tests.html_tree import html
from tests.pages import assert_refused, audits, fresh, nav, rows, text, unread_poll
from webapp.models import ComposeDraft, LoginFailure, User
from webapp.users import throttle

ROLES = ("viewer", "consultant", "team-leader", "administrator")
PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "my-very-own-password"


# --- helpers -------------------------------------------------------------------------------------


def where(response) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(response.headers["Location"])
    return parts.path, parse_qs(parts.query)


def change(
    client,
    current: str = PASSWORD,
    new: str = NEW_PASSWORD,
    repeat: str | None = None,
    url: str = "/profile/password",
):
    return client.post(
        url,
        data={
            "current_password": current,
            "new_password": new,
            "repeat_password": new if repeat is None else repeat,
        },
    )


# --- the profile page ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_signed_in_user_has_a_profile_link_and_page(client, login, role):
    user = login(role)
    assert "Profile" in nav(text(client.get("/candidates")))
    page = text(client.get("/profile"))
    assert f"<dd>{user.username}</dd>" in page
    for name, label in (("email", "Email"), ("mobile", "Mobile"), ("office", "Office")):
        assert f'<label for="{name}">{label}</label>' in page
    assert '<a href="/profile/password">Change your password</a>' in page


def test_signed_out_visitor_is_sent_to_sign_in(client):
    for url in ("/profile", "/profile/password"):
        response = client.get(url)
        assert response.status_code == 302 and where(response)[0] == "/login"


def test_profile_changes_are_saved_normalised_and_audited(client, login, session):
    user = login("consultant", email="old@example.com")
    brisbane = office_named(session, "Brisbane")
    response = client.post(
        "/profile",
        data={"email": "new@example.com", "mobile": "0412 345 678", "office": str(brisbane.id)},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    stored = fresh(session, User, user.id)
    assert (stored.email, stored.mobile, stored.office_name) == (
        "new@example.com",
        "+61412345678",
        "Brisbane",
    )
    [event] = audits(session, "profile.edited")
    assert event.actor_id == user.id and event.subject_id == user.id
    assert event.subject_type == "user"  # was "localproxy": the web's stand-in for the user
    assert event.details["changes"]["mobile"] == [None, "+61412345678"]
    assert 'value="+61 412 345 678"' in text(client.get("/profile"))


def test_an_email_changed_here_is_marked_as_typed_by_its_holder(client, login, session):
    """Single sign-on matches no account by an address its holder typed (webapp.users.oidc)."""
    user = login("consultant", email="Pat@example.com")

    def save(**fields) -> bool:
        form = {"email": "Pat@example.com", "mobile": "", "office": "", **fields}
        assert client.post("/profile", data=form).status_code == 302
        return fresh(session, User, user.id).email_self_set

    assert not save(mobile="0412 345 678")  # the email left as an administrator set it
    assert not save(email="pat@EXAMPLE.com")  # in another case: the same address to match
    assert save(email="pat@example.org")
    assert save(email="Pat@example.com")  # back again: still typed here, not confirmed


def test_mobile_may_be_emptied(client, login, session):
    user = login("consultant", mobile="+61412345678")
    client.post("/profile", data={"email": user.email, "mobile": "", "office": ""})
    assert fresh(session, User, user.id).mobile is None


@pytest.mark.parametrize(
    "form, field, message",
    [
        (
            {"email": "new@example.com", "mobile": "0412 34", "office": ""},
            "mobile",
            "is not a valid mobile number",
        ),
        ({"email": "not an email", "mobile": "", "office": ""}, "email", "name@example.com"),
        ({"email": "", "mobile": "", "office": ""}, "email", "Enter your email address."),
        (
            {"email": "new@example.com", "mobile": "", "office": "Sydney"},
            "office",
            "Choose an office from the list.",
        ),
        (
            {"email": "new@example.com", "mobile": "", "office": "999999"},
            "office",
            "There is no such office; choose one from the list.",
        ),
    ],
)
def test_bad_profile_is_refused_on_the_form(client, login, session, form, field, message):
    user = login("consultant", email="old@example.com")
    response = client.post("/profile", data=form)
    assert_refused(response, field, message)
    assert fresh(session, User, user.id).email == "old@example.com"
    assert audits(session, "profile.edited") == []


def test_an_email_another_active_user_has_is_refused_without_saying_whose(
    client, login, make_user, session
):
    make_user("holder", email="holder@example.com")
    user = login("consultant", email="old@example.com")
    form = {"email": "HOLDER@example.com", "mobile": "", "office": ""}
    response = client.post("/profile", data=form)
    assert_refused(response, "email", "Another active account has this email address")
    assert "holder" not in text(response).replace("HOLDER@example.com", "")
    assert fresh(session, User, user.id).email == "old@example.com"
    assert audits(session, "profile.edited") == []


def test_an_address_shared_already_does_not_stop_other_changes(client, login, make_user, session):
    """Shared before addresses were checked: the user may still save their mobile."""
    make_user("holder", email="shared@example.com")
    user = login("consultant", email="shared@example.com")
    form = {"email": "shared@example.com", "mobile": "0412 345 678", "office": ""}
    assert client.post("/profile", data=form).status_code == 302
    assert fresh(session, User, user.id).mobile == "+61412345678"


# --- changing one's own password -----------------------------------------------------------------


def test_password_change_needs_the_current_password_and_is_audited(client, login, session):
    user = login("viewer")
    response = change(client)
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    [event] = audits(session, "profile.password_changed")
    assert event.actor_id == user.id and event.details == {"forced": False}
    client.post("/logout")
    assert client.login(user.username, PASSWORD).status_code == 401
    assert client.login(user.username, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "current, new, repeat, field, message",
    [
        ("wrong-password-1", NEW_PASSWORD, None, "current_password", "not your current password"),
        (PASSWORD, "short", None, "new_password", "at least 12 characters"),
        (PASSWORD, PASSWORD, None, "new_password", "must be different"),
        (PASSWORD, NEW_PASSWORD, "something-else-1", "repeat_password", "not the same"),
        ("", NEW_PASSWORD, None, "current_password", "Enter your current password."),
        (PASSWORD, "long-enough-" * 22, None, "new_password", "at most 256 characters"),
    ],
)
def test_bad_password_change_is_refused_on_the_form(
    client, login, session, current, new, repeat, field, message
):
    user = login("viewer")
    response = change(client, current, new, repeat)
    assert_refused(response, field, message)
    assert fresh(session, User, user.id).check_password(PASSWORD)
    assert audits(session, "profile.password_changed") == []


@pytest.mark.parametrize("forced", [False, True])
def test_a_password_change_sent_twice_is_answered_as_done(app, client, make_user, session, forced):
    """Enter pressed twice on a slow network: the first post changed the password, so the
    second's current password (the old one) was refused, "That is not your current password.",
    and counted as a failed sign-in, though the change had worked."""
    user = make_user("twice", role="viewer", must_change_password=forced)
    assert client.login("twice").status_code == 302

    first, second = change(client), change(client)

    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"] == ("/" if forced else "/profile")
    assert "Your password is changed" in text(client.get("/profile"))
    assert rows(session, LoginFailure, LoginFailure.key == user.username) == []
    assert audits(session, "auth.login_failed") == []
    assert len(audits(session, "profile.password_changed")) == 1
    assert fresh(session, User, user.id).check_password(NEW_PASSWORD)
    # Another sign-in since (with the new password) posting the old one is told it is wrong,
    # and so is this one, once the new password is not what the form says.
    other = app.test_client()
    assert other.login("twice", NEW_PASSWORD).status_code == 302
    assert_refused(change(other), "current_password", "not your current password")
    assert_refused(
        change(client, new="another-password-9", repeat="another-password-9"),
        "current_password",
        "not your current password",
    )


# --- a temporary password must be changed first --------------------------------------------------


@pytest.fixture
def temporary(make_user, client):
    """A consultant signed in with a temporary password."""
    user = make_user("newbie", role="consultant", must_change_password=True)
    response = client.login("newbie")
    assert response.status_code == 302
    return user


def test_sign_in_with_a_temporary_password_leads_to_the_password_page(client, temporary):
    response = client.get("/")
    assert response.status_code == 302 and where(response) == ("/profile/password", {})
    page = text(client.get("/profile/password"))
    assert "You signed in with a temporary password" in page
    assert '<label for="current_password">Current password</label>' in page


@pytest.mark.parametrize(
    "url", ["/candidates?q=ada", "/profile", "/admin/users", "/sms/compose?candidate=1"]
)
def test_every_other_page_leads_to_the_password_page(client, temporary, url):
    response = client.get(url)
    assert response.status_code == 302
    assert where(response) == ("/profile/password", {"next": [url]})


def test_actions_are_refused_until_the_password_is_changed(
    client, temporary, session, make_candidate
):
    ada = make_candidate()
    response = client.post("/sms/compose", data={"kind": "candidates", "ids": [str(ada.id)]})
    assert response.status_code == 302 and where(response)[0] == "/profile/password"
    response = client.post("/profile", data={"email": "x@example.com", "mobile": "", "office": ""})
    assert where(response)[0] == "/profile/password"
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ComposeDraft)) == 0
    assert fresh(session, User, temporary.id).email == "newbie@example.com"


def test_htmx_request_gets_401_and_hx_redirect_to_the_password_page(client, temporary):
    response = client.get("/candidates?q=ada", htmx=True)
    assert response.status_code == 401
    assert urlsplit(response.headers["HX-Redirect"]).path == "/profile/password"


def test_sign_out_and_static_files_stay_reachable(client, temporary):
    with client.get("/static/css/app.css") as stylesheet:
        assert stylesheet.status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and where(response)[0] == "/login"
    assert where(client.get("/candidates"))[0] == "/login"


def test_after_the_change_everything_is_normal_again(client, temporary, session):
    response = change(client, url="/profile/password?next=/candidates?q=ada")
    assert response.status_code == 302 and response.headers["Location"] == "/candidates?q=ada"
    assert fresh(session, User, temporary.id).must_change_password is False
    assert client.get("/candidates").status_code == 200
    assert client.get("/profile").status_code == 200
    [event] = audits(session, "profile.password_changed")
    assert event.details == {"forced": True}


def test_the_temporary_password_cannot_be_kept(client, temporary, session):
    response = change(client, PASSWORD, PASSWORD)
    assert response.status_code == 400
    assert fresh(session, User, temporary.id).must_change_password is True
    assert where(client.get("/candidates"))[0] == "/profile/password"


def test_offsite_next_is_not_followed_after_the_change(client, temporary):
    response = change(client, url="/profile/password?next=https://evil.example/")
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_the_unread_count_polling_does_not_reload_the_password_page(client, temporary):
    """The page a temporary password holds the user on polls the unread count every minute (a
    consultant sends SMS): answered by a move to that very page, it reloaded itself, and what was
    typed in the three password boxes went with it."""
    assert 'id="unread-poll"' in text(client.get("/profile/password"))
    response = unread_poll(client, "/profile/password")
    assert response.status_code == 204 and "HX-Redirect" not in response.headers


def test_wrong_current_passwords_are_throttled_like_sign_in(client, login, session, monkeypatch):
    """An open session was a way round the sign-in lockout: the password page took any number of
    guesses at the current password."""
    monkeypatch.setattr(throttle, "now", lambda: datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    user = login("viewer")
    for _ in range(throttle.FREE_FAILURES):
        assert_refused(change(client, "wrong-password-1"), "current_password", "not your current")
    assert len(audits(session, "auth.login_failed")) == throttle.FREE_FAILURES
    # Now locked: the right password is refused too, and nothing changed.
    locked = change(client)
    assert locked.status_code == 429
    assert "Too many failed attempts from this account or network" in text(locked)
    assert fresh(session, User, user.id).check_password(PASSWORD)
    # One lock for every place a password is typed.
    client.post("/logout")
    assert client.login(user.username).status_code == 429


def test_a_right_current_password_forgives_earlier_failures(client, login, session):
    user = login("viewer")
    for _ in range(throttle.FREE_FAILURES - 1):
        change(client, "wrong-password-1")
    failures = rows(session, LoginFailure, LoginFailure.key == user.username)
    assert len(failures) == throttle.FREE_FAILURES - 1
    assert change(client).status_code == 302
    assert rows(session, LoginFailure, LoginFailure.key == user.username) == []


def test_the_mobile_hint_gives_an_example_of_ones_office_country(client, login, session):
    login("consultant", office=office_named(session, "Auckland", region="NZ"))
    page = html(client.get("/profile"))
    hint = page.one("span", id="mobile-hint").text
    assert hint == "Like 021 123 4567, or +61 412 345 678 for another country; may be empty"
