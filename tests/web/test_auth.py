"""Signing in and out, the next parameter, CSRF and the htmx session-expiry answer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


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
    response = client.post("/logout", csrf=False, htmx=True)
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


def test_expired_session_on_htmx_request_gets_401_and_hx_redirect_back_to_the_page(client):
    response = client.get(
        "/candidates?q=ada",
        htmx=True,
        headers={"HX-Current-URL": "http://localhost/candidates?q=ad"},
    )
    assert response.status_code == 401
    assert "Location" not in response.headers
    target = urlsplit(response.headers["HX-Redirect"])
    assert target.path == "/login"
    # The page the user was on (htmx's current URL), not the fragment's own URL.
    assert parse_qs(target.query)["next"] == ["/candidates?q=ad"]
