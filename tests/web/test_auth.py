"""Signing in and out, the next parameter, CSRF and the htmx session-expiry answer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import PASSWORD
from webapp.models import users
from webapp.users.oidc import UNUSABLE_PASSWORD_PREFIX


def test_login_page_has_the_named_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="username">Username</label>' in page
    assert '<label for="password">Password</label>' in page
    assert ">Sign in</button>" in page


def test_good_password_signs_in_and_follows_local_next(client, make_user):
    user = make_user("casey")
    response = client.post(
        "/login?next=/healthz", data={"username": "casey", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/healthz"
    assert user.id is not None


def test_bad_password_is_refused_on_the_form(client, make_user):
    make_user("casey")
    response = client.post("/login", data={"username": "casey", "password": "wrong-password-here"})
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)


def test_unknown_user_gets_the_same_message(client):
    response = client.post("/login", data={"username": "nobody", "password": "wrong-password-here"})
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)


def test_inactive_user_is_refused(client, make_user):
    make_user("gone", active=False)
    response = client.login("gone")
    assert response.status_code == 401


def test_offsite_next_is_ignored(client, make_user):
    make_user("casey")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client.post("/logout")
        response = client.post(
            f"/login?next={target}", data={"username": "casey", "password": "correct-horse-battery"}
        )
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"]


def test_login_without_csrf_token_is_rejected(client, make_user):
    make_user("casey")
    response = client.post(
        "/login", data={"username": "casey", "password": "correct-horse-battery"}, csrf=False
    )
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_csrf_failure_on_htmx_request_asks_for_a_refresh(client, login):
    login()
    response = client.post("/profile", data={"email": "x@example.com"}, csrf=False, htmx=True)
    assert response.status_code == 400
    assert response.headers["HX-Refresh"] == "true"


def test_logout_is_post_only_and_signs_out(client, login):
    login()
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert "/login" in client.get("/").headers["Location"]


def test_session_is_renewed_at_login(client, make_user):
    make_user("casey")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.login("casey")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]


def test_anonymous_page_request_redirects_to_login_with_next(client):
    response = client.get("/candidates?q=smith")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "asked, back_to",
    [
        # A filter form's GET of the page itself: back to it with what was typed (it was lost).
        ("/candidates?q=ada", "/candidates?q=ada"),
        # Any other fragment: back to the page the user was on (htmx's current URL).
        ("/sms/replies/unread", "/candidates?q=ad"),
    ],
)
def test_expired_session_on_htmx_request_gets_401_and_hx_redirect_back_to_the_page(
    client, asked, back_to
):
    response = client.get(
        asked,
        htmx=True,
        headers={"HX-Current-URL": "http://localhost/candidates?q=ad"},
    )
    assert response.status_code == 401
    assert "Location" not in response.headers
    target = urlsplit(response.headers["HX-Redirect"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [back_to]


def test_a_username_is_found_whatever_its_case(client, make_user):
    """A phone's keyboard capitalises the first letter; usernames are unique in any case."""
    make_user("casey.jones")
    assert client.login("Casey.Jones").status_code == 302


def _stale_token(client) -> str:
    """A form token of this browser's session as it is now, before it changes (signed out or in
    again in another tab: a new session, and with it a new token)."""
    client.get("/login")
    return client.csrf_token()


def _new_session(client) -> None:
    with client.session_transaction() as session:
        session["csrf_token"] = "another-tab-started-a-new-session"


def test_a_stale_sign_in_form_comes_back_with_its_username(client, make_user):
    make_user("casey")
    stale = _stale_token(client)
    _new_session(client)
    response = client.post(
        "/login?next=/candidates",
        data={"username": "casey", "password": "correct-horse-battery", "csrf_token": stale},
        csrf=False,
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This sign-in form had expired" in page
    assert 'value="casey"' in page and "correct-horse-battery" not in page
    assert 'action="/login?next=/candidates"' in page
    # The form it shows signs in, to the page asked for.
    again = client.post("/login?next=/candidates", data={"username": "casey", "password": PASSWORD})
    assert again.status_code == 302 and again.headers["Location"] == "/candidates"


def test_a_stale_sign_in_form_after_signing_in_elsewhere_says_so(client, make_user):
    make_user("casey")
    stale = _stale_token(client)
    assert client.login("casey").status_code == 302  # in another tab
    response = client.post(
        "/login", data={"username": "casey", "password": PASSWORD, "csrf_token": stale}, csrf=False
    )
    assert response.status_code == 400
    assert "you signed in (perhaps in another tab)" in response.get_data(as_text=True)


def test_a_form_posted_after_signing_out_in_another_tab_says_signed_out(client, login):
    login()
    stale = client.csrf_token()
    client.post("/logout")  # in another tab, whose sign-in page gave the browser a new token
    client.get("/login")
    response = client.post(
        "/templates/new",
        data={"name": "Reminder", "body": "See you at 10", "csrf_token": stale},
        headers={"Referer": "http://localhost/templates/new"},
        csrf=False,
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "You are signed out" in page and "The page was open too long" not in page
    assert 'href="/login?next=/templates/new">Sign in again</a>' in page
    assert "data-keep-typed" in page  # what was typed waits in the tab (compose.js)
    # By htmx: the page reloads, to the sign-in page, which says why.
    response = client.post(
        "/templates/new",
        data={"action": "counter", "body": "See", "csrf_token": stale},
        csrf=False,
        htmx=True,
    )
    assert response.status_code == 400 and response.headers["HX-Refresh"] == "true"
    assert "You were signed out" in client.get("/login").get_data(as_text=True)


def test_a_form_from_before_signing_in_again_says_to_open_the_page_again(client, login):
    login()
    stale = client.csrf_token()
    _new_session(client)  # signed out and in again in another tab
    response = client.post(
        "/profile",
        data={"email": "x@example.com", "csrf_token": stale},
        headers={"Referer": "http://localhost/profile"},
        csrf=False,
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was done" in page
    assert '<a href="/profile">Open the page again</a>' in page
    # By htmx: the page reloads, saying why.
    response = client.post(
        "/profile", data={"email": "x@example.com", "csrf_token": stale}, csrf=False, htmx=True
    )
    assert response.status_code == 400 and response.headers["HX-Refresh"] == "true"
    assert "This page was reloaded" in client.get("/profile").get_data(as_text=True)


def test_sign_out_from_a_page_opened_before_signing_in_again_signs_out(client, login):
    """Tab A open on a page; in tab B, sign out and in again; Sign out in tab A. Refused as an
    expired form, it left a shared computer signed in."""
    user = login()
    stale = client.csrf_token()
    client.post("/logout")  # in tab B
    assert client.login(user.username).status_code == 302
    response = client.post(
        "/logout",
        data={"csrf_token": stale},
        headers={"Referer": "http://localhost/profile"},
        csrf=False,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "You have signed out." in page and "Nothing was done" not in page
    assert client.get("/profile").status_code == 302
    # By htmx too (no Sign out button uses it; a form that did would not be refused either).
    assert client.login(user.username).status_code == 302
    response = client.post(
        "/logout", csrf=False, htmx=True, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert response.headers["HX-Redirect"] == "/login"
    assert client.get("/profile").status_code == 302


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://wiki.corp.example"},
        {"Referer": "http://wiki.corp.example/page"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost"},
        {},
    ],
    ids=["other-origin", "other-referer", "sibling-host", "no-word-where-from"],
)
def test_a_sign_out_without_its_token_from_elsewhere_is_refused(client, login, headers):
    """A stale Sign out signs out only from our own pages: another intranet host is the "same
    site" to SameSite=Lax, and could have signed recruiters out at will."""
    login()
    response = client.post("/logout", csrf=False, headers=headers)
    assert response.status_code == 400
    assert client.get("/profile").status_code == 200


@pytest.mark.parametrize("target", ["http://%5B", "//%5B", "http://%5Bx/profile"])
def test_an_unreadable_next_is_no_next(client, make_user, target):
    """An address like http://[ cannot be read (urlsplit raises ValueError): it was a 500, now as
    if none was given."""
    make_user("casey")
    assert client.get(f"/login?next={target}").status_code == 200
    typed = {"username": "casey", "password": PASSWORD}
    response = client.post(f"/login?next={target}", data=typed)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_an_unreadable_referer_on_an_expired_form_is_no_way_back(client, login):
    login()
    stale = client.csrf_token()
    _new_session(client)  # signed out and in again in another tab
    response = client.post(
        "/profile",
        data={"email": "x@example.com", "csrf_token": stale},
        headers={"Referer": "http://[x/profile"},
        csrf=False,
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was done" in page and "Open the page again</a>" not in page


def test_an_unreadable_htmx_current_url_is_no_way_back(client, make_user):
    unreadable = {"HX-Current-URL": "http://[x/candidates"}
    # Signed out: to the sign-in page, with no way back to a page it cannot read.
    response = client.get("/profile", htmx=True, headers=unreadable)
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"
    # Held on the password page (a temporary password): there, likewise.
    user = make_user(must_change_password=True)
    assert client.login(user.username).status_code == 302
    response = client.get("/candidates", htmx=True, headers=unreadable)
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/profile/password"


def test_signing_in_again_from_a_refused_settings_form_lands_on_a_page(client, login, app):
    """A refused form leaves its POST-only address in the address bar; when the session has ended
    by the next press, signing in again went back to it: a dead-end 405."""
    admin = login("administrator")
    typo = {"quiet_hours": "banana"}
    assert client.post("/admin/settings/quiet-hours", data=typo).status_code == 400
    elsewhere = app.test_client()  # a Browser too: the client fixture made it the class
    assert elsewhere.login(admin.username).status_code == 302
    assert elsewhere.post("/profile/sign-out-everywhere").status_code == 302

    response = client.post(
        "/admin/settings/quiet-hours",
        data={"quiet_hours": "20:00-08:00"},
        headers={"Referer": "http://localhost/admin/settings/quiet-hours"},
    )
    sign_in = urlsplit(response.headers["Location"])
    assert parse_qs(sign_in.query)["next"] == ["/admin/settings/quiet-hours"]
    response = client.post(
        f"{sign_in.path}?{sign_in.query}", data={"username": admin.username, "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/", follow_redirects=True).status_code == 200


@pytest.mark.parametrize(
    "next_path, lands_on",
    [
        ("/admin/settings", "/admin/settings"),
        ("/users/{id}/password", "/"),  # POST only
        ("/admin/settings/blocked", "/"),
        ("/no/such/page", "/"),
        ("/candidates?q=ada", "/candidates?q=ada"),
    ],
)
def test_sign_in_follows_next_only_to_an_address_that_answers_get(
    client, make_user, next_path, lands_on
):
    user = make_user("casey", role="administrator")
    next_path = next_path.format(id=user.id)
    response = client.post(
        f"/login?next={next_path}", data={"username": "casey", "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == lands_on


def test_behind_a_path_prefix_sign_in_still_follows_next_to_a_page(client, make_user):
    make_user("casey", role="administrator")
    response = client.post(
        "/login?next=/desk/admin/settings",
        data={"username": "casey", "password": PASSWORD},
        environ_overrides={"SCRIPT_NAME": "/desk"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/desk/admin/settings"


def test_a_single_sign_on_account_is_refused_after_as_much_hashing_as_anyone(
    client, make_user, session, monkeypatch
):
    """No quicker answer (werkzeug refuses "!sso:…" unread) to tell a guesser which usernames
    are single sign-on accounts: the same one check of a real hash as an unknown username."""
    make_user("casey")
    sso = make_user("kim.sso")
    sso.password_hash = UNUSABLE_PASSWORD_PREFIX + "0123456789abcdef"
    session.commit()
    real = users.check_password_hash
    methods: list[str] = []

    def counting(pwhash: str, password: str) -> bool:
        parts = pwhash.split("$")
        methods.append(parts[0] if len(parts) == 3 else "unread")
        return real(pwhash, password)

    monkeypatch.setattr(users, "check_password_hash", counting)
    for username in ("casey", "nobody", "kim.sso"):
        methods.clear()
        response = client.post("/login", data={"username": username, "password": "wrong-pw-123"})
        assert response.status_code == 401
        assert "Wrong username or password" in response.get_data(as_text=True)
        assert methods == [users.PASSWORD_HASH_METHOD], username
