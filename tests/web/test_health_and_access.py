"""/healthz, the permission decorator and the headers and cookie every response carries."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from webapp.models import PERMISSIONS, Role, User
from webapp.web.access import permission_required

# --- /healthz ------------------------------------------------------------------------------------


def test_healthz_answers_ok_as_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["status"] == "ok"
    assert response.get_json()["database"] == "ok"


def test_healthz_needs_no_sign_in(client):
    # Load balancers do not sign in: no redirect to the login page.
    response = client.get("/healthz")
    assert "Location" not in response.headers


def test_healthz_answers_503_when_the_database_is_unreachable(app_without_database):
    response = app_without_database.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.get_json()["status"] == "error"
    assert response.get_json()["database"] == "unreachable"


# --- permission_required -------------------------------------------------------------------------


@pytest.fixture
def audited(app):
    """A test-only route needing audit.view, registered before the app's first request."""
    app.add_url_rule(
        "/_t", endpoint="_t", view_func=permission_required("audit.view")(lambda: "ok")
    )
    return "/_t"


def login_target(url: str) -> tuple[str, list[str]]:
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query).get("next", [])


def test_anonymous_visitor_is_sent_to_sign_in(client, audited):
    response = client.get(audited)
    assert response.status_code == 302
    assert login_target(response.headers["Location"]) == ("/login", ["/_t"])


def test_anonymous_htmx_request_gets_401_and_hx_redirect(client, audited):
    response = client.get(audited, htmx=True, headers={"HX-Current-URL": "http://localhost/_t"})
    assert response.status_code == 401
    assert login_target(response.headers["HX-Redirect"]) == ("/login", ["/_t"])


@pytest.mark.parametrize("role", ["consultant", "viewer"])
def test_user_without_the_permission_gets_403(client, login, audited, role):
    login(role)
    response = client.get(audited)
    assert response.status_code == 403
    assert "ok" != response.get_data(as_text=True)
    assert "audit.view" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["team-leader", "administrator"])
def test_user_with_the_permission_gets_the_page(client, login, audited, role):
    login(role)
    response = client.get(audited)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"


def test_user_without_any_role_gets_403(client, login, audited):
    login(role=None)
    assert client.get(audited).status_code == 403


def test_htmx_403_is_an_alert_fragment_retargeted(client, login, audited):
    login("consultant")
    response = client.get(audited, htmx=True)
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#live-alert"
    assert "<html" not in response.get_data(as_text=True)


def test_deactivated_user_loses_access_at_once(app, client, audited):
    # Deliberately without the `session`/`login` fixtures: they keep an app context pushed for the
    # whole test, so requests would share one `g` (db session and cached current_user).
    sessionmaker = app.extensions["database"].sessionmaker
    with sessionmaker() as db:
        role = db.scalars(sa.select(Role).where(Role.name == "team-leader")).one()
        user = User(username="tl", full_name="Tee Ell", email="tl@example.com", roles=[role])
        user.set_password("correct-horse-battery")
        db.add(user)
        db.commit()
    assert client.login("tl").status_code == 302
    assert client.get(audited).status_code == 200

    with sessionmaker() as db:
        db.execute(sa.update(User).where(User.username == "tl").values(active=False))
        db.commit()
    response = client.get(audited)
    assert response.status_code == 302
    assert login_target(response.headers["Location"]) == ("/login", ["/_t"])


def test_user_can_refuses_an_unknown_permission_name():
    user = User(username="u", full_name="U", email="u@example.com", roles=[])
    with pytest.raises(ValueError, match="audit.veiw"):
        user.can("audit.veiw")
    assert user.can("audit.view") is False


def test_roles_grant_what_the_design_says(make_user):
    lead = make_user(role="team-leader")
    assert lead.can("sms.ignore_opt_out") and lead.can("audit.view")
    assert not lead.can("users.manage") and not lead.can("settings.manage")
    admin = make_user(role="administrator")
    assert all(admin.can(name) for name in PERMISSIONS)


# --- headers and cookie --------------------------------------------------------------------------


def csp_is_strict(response) -> bool:
    policy = response.headers.get("Content-Security-Policy", "")
    return (
        "default-src 'self'" in policy
        and "unsafe-inline" not in policy
        and "unsafe-eval" not in policy
    )


def test_html_page_varies_on_hx_request_and_carries_security_headers(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "HX-Request" in response.vary
    assert csp_is_strict(response)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_error_pages_and_redirects_carry_the_same_headers(client, login, audited):
    not_found = client.get("/no-such-page")
    redirect = client.get(audited)
    login("viewer")
    forbidden = client.get(audited)
    for response, status in ((not_found, 404), (redirect, 302), (forbidden, 403)):
        assert response.status_code == status
        assert "HX-Request" in response.vary, status
        assert csp_is_strict(response), status
        assert response.headers["X-Content-Type-Options"] == "nosniff", status


def test_htmx_fragment_also_varies_on_hx_request(client, login, audited):
    login("viewer")
    response = client.get(audited, htmx=True)
    assert "HX-Request" in response.vary


def test_json_and_static_files_carry_the_security_headers(client):
    for url in ("/healthz", "/static/css/app.css"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert csp_is_strict(response), url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        response.close()


def session_cookie(response) -> str:
    cookies = [
        value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")
    ]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def test_session_cookie_is_http_only_and_same_site_lax(client, make_user):
    make_user("casey")
    response = client.login("casey")
    assert response.status_code == 302
    attributes = [part.strip().lower() for part in session_cookie(response).split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "secure" not in attributes  # over plain HTTP in tests; SESSION_COOKIE_SECURE turns it on
